package variables

import "fmt"

// envSource reads an environment variable (Options.Env); an empty one is
// still a value.
func envSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	if v, ok := c.r.opts.Env(addr); ok {
		return found(c.str(v))
	}
	return sourceResult{detail: fmt.Sprintf("The environment variable %s is not set. Set it, or give a fallback: ${env:%s, 'value'}.", addr, addr)}, nil
}
