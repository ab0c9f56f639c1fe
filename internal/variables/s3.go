package variables

import (
	"fmt"
	"strings"
)

// s3Source is ${s3:bucket/key}: the object's body as text.
func s3Source(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	bucket, key, ok := strings.Cut(addr, "/")
	if !ok {
		return sourceResult{}, c.failf(`Unsupported %q address argument in variable "s3" source. Expected "<bucket-name>/<key>" format`, addr)
	}
	region, err := c.region()
	if err != nil {
		return sourceResult{}, err
	}
	res, err := c.lookup(remoteKey{kind: "object", region: region, a: bucket, b: key})
	if err != nil {
		return sourceResult{}, err
	}
	if res.missing {
		return sourceResult{detail: fmt.Sprintf("s3://%s/%s does not exist.", bucket, key)}, nil
	}
	return found(c.str(string(res.object)))
}
