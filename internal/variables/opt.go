package variables

import (
	"fmt"
	"sort"

	"github.com/nimbusfw/nimbus/internal/config"
)

// optSource reads CLI options; without an address, all of them.
func optSource(c *call) (sourceResult, error) {
	addr, ok, err := c.addressString()
	if err != nil {
		return sourceResult{}, err
	}
	if !ok {
		m := config.NewMap(c.p.holder.Pos)
		keys := make([]string, 0, len(c.r.opts.CLIOptions))
		for k := range c.r.opts.CLIOptions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m.Set(k, c.str(c.r.opts.CLIOptions[k]))
		}
		return found(m)
	}
	if v, ok := c.r.opts.CLIOptions[addr]; ok {
		return found(c.str(v))
	}
	return sourceResult{detail: fmt.Sprintf("No --%s option was given. Pass it, or give a fallback: ${opt:%s, 'value'}.", addr, addr)}, nil
}
