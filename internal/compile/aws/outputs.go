package aws

// v3's addExportNameForOutputs: every compiled output without an Export is
// exported as sls-<service>-<stage>-<OutputKey>. It runs before the user's
// resources.Outputs are merged, so those keep exactly what the user wrote.
func init() { registerFinal(orderExportNames, addExportNames) }

func addExportNames(c *Context) {
	for key, o := range c.Template.Outputs {
		out, ok := o.(map[string]any)
		if !ok {
			continue
		}
		if _, has := out["Export"]; has && out["Export"] != nil {
			continue
		}
		out["Export"] = map[string]any{"Name": ExportName(c, key)}
	}
}

// ExportName is the CloudFormation export v3 gives an output.
func ExportName(c *Context, outputKey string) string {
	return "sls-" + c.Svc.Name + "-" + c.Svc.Stage + "-" + outputKey
}
