package variables

// slsSource is ${sls:stage} (--stage, provider.stage or "dev") and
// ${sls:instanceId}, fixed for one run.
func slsSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	switch addr {
	case "instanceId":
		c.r.noteUse(c.p, "sls:instanceId")
		return found(c.str(c.r.opts.InstanceID))
	case "stage":
		s, err := c.stage()
		if err != nil {
			return sourceResult{}, err
		}
		return found(c.str(s))
	}
	return sourceResult{}, c.failf("Unsupported %q address argument in variable \"sls\" source", addr)
}
