package variables

import (
	"fmt"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// paramSource reads --param first, then params.<stage>, then params.default.
func paramSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	if v, ok := c.r.opts.Params[addr]; ok {
		return found(c.str(strings.TrimRight(v, " \t\r\n")))
	}
	stage, err := c.stage()
	if err != nil {
		return sourceResult{}, err
	}
	for _, group := range []string{stage, "default"} {
		n, err := c.r.property(c.p, []string{"params", group, addr})
		if err != nil {
			return sourceResult{}, err
		}
		if n != nil && n.Kind != config.Null {
			return found(n)
		}
	}
	return sourceResult{notFound: fmt.Sprintf("The param %q cannot be resolved from CLI options or stage params. "+
		"If you are using Serverless Framework Compose, make sure to run commands via Compose so that all parameters can be resolved", addr)}, nil
}
