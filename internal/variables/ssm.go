package variables

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// ssmSource is ${ssm:/path}, with the parameters raw (no splitting of a
// StringList, no JSON parsing of a SecureString), noDecrypt and a region.
func ssmSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	raw, noDecrypt := false, false
	var rest []*config.Node
	for _, p := range c.params {
		switch p.Scalar0() {
		case "raw":
			raw = true
		case "noDecrypt":
			noDecrypt = true
		default:
			rest = append(rest, p)
		}
	}
	region, err := c.regionParam(rest)
	if err != nil {
		return sourceResult{}, err
	}
	res, err := c.lookup(remoteKey{kind: "parameter", region: region, a: addr, decrypt: !noDecrypt})
	if err != nil {
		return sourceResult{}, err
	}
	if res.missing {
		return sourceResult{detail: fmt.Sprintf("SSM parameter %q does not exist in %s.", addr, region)}, nil
	}
	pos := c.p.holder.Pos
	switch res.param.Type {
	case "String":
		return found(c.str(res.param.Value))
	case "StringList":
		if raw {
			return found(c.str(res.param.Value))
		}
		list := config.NewSeq(pos)
		for _, it := range strings.Split(res.param.Value, ",") {
			list.Items = append(list.Items, c.str(it))
		}
		return found(list)
	case "SecureString":
		var n *config.Node
		if !raw && strings.HasPrefix(res.param.Value, "{") {
			// JSON is checked first because YAML would also accept {a: b}; the
			// YAML reader then keeps key order, as JSON.parse does.
			if json.Valid([]byte(res.param.Value)) {
				if parsed, ds := config.Parse("", []byte(res.param.Value), nil); !ds.HasErrors() {
					n = parsed
					config.Walk(n, nil, func(x *config.Node, _ config.Path) bool { x.Pos = pos; return true })
				}
			}
		}
		if n == nil {
			n = c.str(res.param.Value)
		}
		config.Walk(n, nil, func(x *config.Node, _ config.Path) bool { x.Sensitive = true; return true })
		return found(n)
	}
	return sourceResult{}, c.failf("Unexpected parameter type: %q", res.param.Type)
}
