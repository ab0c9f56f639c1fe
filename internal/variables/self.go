package variables

import (
	"fmt"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// selfSource reads the service config itself: ${self:custom.table}.
func selfSource(c *call) (sourceResult, error) {
	addr, _, err := c.addressString()
	if err != nil {
		return sourceResult{}, err
	}
	keys := splitAddress(addr)
	n, err := c.r.property(c.p, keys)
	if err != nil {
		return sourceResult{}, err
	}
	if n == nil || n.Kind == config.Null {
		return sourceResult{detail: c.r.missingDetail(keys)}, nil
	}
	return found(n)
}

// missingDetail explains a ${self:} miss by the deepest part of the path
// that exists.
func (r *resolver) missingDetail(keys []string) string {
	path := strings.Join(keys, ".")
	cur := r.root
	for i, k := range keys {
		next := child(cur, k)
		if next == nil || next.Kind == config.Null {
			if i == 0 {
				return fmt.Sprintf("The service file has no top-level %q.", k)
			}
			have := strings.Join(keys[:i], ".")
			if cur.Kind == config.Map && len(cur.Pairs) > 0 {
				return fmt.Sprintf("%s has no %q (it has: %s).", have, k, strings.Join(firstKeys(cur, 8), ", "))
			}
			return fmt.Sprintf("%s has no %q.", have, k)
		}
		cur = next
	}
	return fmt.Sprintf("%s is empty.", path)
}

func firstKeys(n *config.Node, max int) []string {
	keys := n.Keys()
	if len(keys) > max {
		keys = append(keys[:max:max], "…")
	}
	return keys
}
