package aws

// iotFleetProvisioning events: an AWS::IoT::ProvisioningTemplate whose
// pre-provisioning hook is the function, plus the invoke permission (v3
// events/iot-fleet-provisioning.js). At most one per function.

func init() { registerEvent(orderIotFleet, compileIotFleetProvisioning, "iotFleetProvisioning") }

func compileIotFleetProvisioning(c *Context) {
	for _, f := range c.Svc.Functions {
		var events []FunctionEvent
		for _, e := range f.Events {
			if e.Type == "iotFleetProvisioning" {
				events = append(events, FunctionEvent{Function: f, Event: e})
			}
		}
		if len(events) > 1 {
			c.Diags.Errorf(eventPos(events[1], ""), eventPath(events[1]),
				"Found more than one iotFleetProvision event for function %s", f.Key)
			continue
		}
		for _, fe := range events {
			v := fe.Event.Value
			templateID := NormalizeFunctionName(f.Key) + "IotProvisioningTemplate"
			permissionID := LambdaPermissionLogicalID(f.Key, "IotProvisioningTemplate")
			dependsOn := []any{permissionID}
			if _, alias := eventTargetAlias(f); alias != "" {
				dependsOn = append(dependsOn, alias)
			}
			props := map[string]any{
				"Enabled":             true,
				"PreProvisioningHook": map[string]any{"TargetArn": lambdaTarget(f)},
				"ProvisioningRoleArn": eventValue(v.Get("provisioningRoleArn")),
				"TemplateBody":        stringifyNode(v.Get("templateBody")),
			}
			if en := v.Get("enabled"); en != nil {
				props["Enabled"] = eventValue(en)
			}
			if tn := v.Get("templateName"); tn.Truthy() {
				props["TemplateName"] = eventValue(tn)
			}
			perm := map[string]any{
				"Type": "AWS::Lambda::Permission",
				"Properties": map[string]any{
					"FunctionName": lambdaTarget(f),
					"Action":       "lambda:InvokeFunction",
					"Principal":    "iot.amazonaws.com",
				},
			}
			if alias := aliasDependsOn(f); alias != nil {
				perm["DependsOn"] = alias
			}
			c.Template.Resources[templateID] = dropUndefined(map[string]any{
				"Type": "AWS::IoT::ProvisioningTemplate", "Properties": props, "DependsOn": dependsOn,
			})
			c.Template.Resources[permissionID] = perm
		}
	}
}
