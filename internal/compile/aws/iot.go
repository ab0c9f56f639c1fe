package aws

import (
	"regexp"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
)

// iot events: an AWS::IoT::TopicRule invoking the function and the
// permission for IoT to do so (v3 events/iot.js); iotFleetProvisioning
// lives in iot_fleet_provisioning.go.

func init() { registerEvent(orderIot, compileIot, "iot") }

var newlinePattern = regexp.MustCompile(`\r?\n`)

// withoutLineBreaks is v3's `.replace(/\r?\n/g, ”)` on a string setting;
// "" when the setting is absent.
func withoutLineBreaks(n *config.Node) string {
	if n == nil || n.Kind == config.Null {
		return ""
	}
	return newlinePattern.ReplaceAllString(n.Scalar(), "")
}

func compileIot(c *Context) {
	for _, f := range c.Svc.Functions {
		n := 0
		for _, e := range f.Events {
			if e.Type != "iot" {
				continue
			}
			n++
			v := e.Value
			ruleID := IotLogicalID(f.Key, n)
			payload := map[string]any{
				"RuleDisabled": v.Get("enabled") != nil && v.Get("enabled").Kind == config.Bool && !v.Get("enabled").Truthy(),
				"Sql":          withoutLineBreaks(v.Get("sql")),
				"Actions": []any{map[string]any{
					"Lambda": map[string]any{"FunctionArn": lambdaTarget(f)},
				}},
			}
			if d := withoutLineBreaks(v.Get("description")); d != "" {
				payload["Description"] = d
			}
			if s := withoutLineBreaks(v.Get("sqlVersion")); s != "" {
				payload["AwsIotSqlVersion"] = s
			}
			props := map[string]any{"TopicRulePayload": payload}
			if name := withoutLineBreaks(v.Get("name")); name != "" {
				props["RuleName"] = name
			}
			mergeEventResources(c.Template, map[string]any{
				ruleID: map[string]any{
					"Type":       "AWS::IoT::TopicRule",
					"DependsOn":  aliasDependsOn(f),
					"Properties": props,
				},
				IotPermissionLogicalID(f.Key, n): invokePermission(lambdaTarget(f), "iot.amazonaws.com",
					cfn.Join("", "arn:", cfn.Ref("AWS::Partition"), ":iot:", cfn.Ref("AWS::Region"), ":",
						cfn.Ref("AWS::AccountId"), ":rule/", cfn.Ref(ruleID)), aliasDependsOn(f)),
			})
		}
	}
}
