package variables

// selfSource reads the service config itself: ${self:custom.table}.
func selfSource(c *call) (sourceResult, error) {
	addr, _, err := c.addressString()
	if err != nil {
		return sourceResult{}, err
	}
	n, err := c.r.property(c.p, splitAddress(addr))
	if err != nil {
		return sourceResult{}, err
	}
	return found(n)
}
