package variables

import (
	"fmt"
	"strings"
)

// cfSource is ${cf:stack.output} and ${cf(region):stack.output}.
func cfSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	stack, output, ok := strings.Cut(addr, ".")
	if !ok {
		return sourceResult{}, c.failf(`Unsupported %q address argument in variable "cf" source. Expected "<stack-name>.<output-id>" format`, addr)
	}
	region, err := c.regionParam(c.params)
	if err != nil {
		return sourceResult{}, err
	}
	res, err := c.lookup(remoteKey{kind: "stack", region: region, a: stack})
	if err != nil {
		return sourceResult{}, err
	}
	if res.missing {
		return sourceResult{detail: fmt.Sprintf("Stack %q does not exist in %s.", stack, region)}, nil
	}
	v, ok := res.stack[output]
	if !ok {
		return sourceResult{detail: fmt.Sprintf("Stack %q in %s has no output %q.", stack, region, output)}, nil
	}
	return found(c.str(v))
}
