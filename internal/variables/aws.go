package variables

// awsSource is ${aws:accountId} and ${aws:region}.
func awsSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	switch addr {
	case "region":
		region, err := c.region()
		if err != nil {
			return sourceResult{}, err
		}
		return found(c.str(region))
	case "accountId":
		region, err := c.region()
		if err != nil {
			return sourceResult{}, err
		}
		res, err := c.lookup(remoteKey{kind: "account", region: region})
		if err != nil {
			return sourceResult{}, err
		}
		return found(c.str(res.account))
	}
	return sourceResult{}, c.failf(`Unsupported %q address argument in variable "aws" source`, addr)
}
