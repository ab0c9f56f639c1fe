package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// alexaSkill and alexaSmartHome events: a Lambda permission for the Alexa
// service, scoped to the skill ID when one is given (v3 events/alexa-skill.js
// and alexa-smart-home.js).

func init() {
	registerEvent(orderAlexaSkill, compileAlexaSkills, "alexaSkill")
	registerEvent(orderAlexaSmartHome, compileAlexaSmartHome, "alexaSmartHome")
}

// stripEscapedLineBreaks is v3's `.replace(/\\n|\\r/g, ”)`: it removes the
// two-character sequences backslash-n and backslash-r, not real newlines.
func stripEscapedLineBreaks(s string) string {
	return strings.NewReplacer(`\n`, "", `\r`, "").Replace(s)
}

func compileAlexaSkills(c *Context) {
	for _, f := range c.Svc.Functions {
		n := 0
		for _, e := range f.Events {
			if e.Type != "alexaSkill" {
				continue
			}
			v := e.Value
			enabled := true
			appID := ""
			if v != nil && v.Kind == config.Map {
				appID = v.Get("appId").Scalar0()
				if b, ok := v.Get("enabled").Boolean(); ok && !b {
					enabled = false
				}
			} else {
				appID = v.Scalar0()
			}
			n++
			action := "lambda:InvokeFunction"
			if !enabled {
				action = "lambda:DisableInvokeFunction"
			}
			props := map[string]any{
				"FunctionName": lambdaTarget(f),
				"Action":       action,
				"Principal":    "alexa-appkit.amazon.com",
			}
			if appID != "" {
				props["EventSourceToken"] = stripEscapedLineBreaks(appID)
			}
			mergeEventResources(c.Template, map[string]any{AlexaSkillPermissionLogicalID(f.Key, n): map[string]any{
				"Type":       "AWS::Lambda::Permission",
				"DependsOn":  aliasDependsOn(f),
				"Properties": props,
			}})
		}
	}
}

func compileAlexaSmartHome(c *Context) {
	for _, f := range c.Svc.Functions {
		n := 0
		for _, e := range f.Events {
			if e.Type != "alexaSmartHome" {
				continue
			}
			n++
			v := e.Value
			token := v.Scalar0()
			action := "lambda:InvokeFunction"
			if v != nil && v.Kind == config.Map {
				token = v.Get("appId").Scalar0()
				if b, ok := v.Get("enabled").Boolean(); ok && !b {
					action = "lambda:DisableInvokeFunction"
				}
			}
			mergeEventResources(c.Template, map[string]any{AlexaSmartHomePermissionLogicalID(f.Key, n): map[string]any{
				"Type":      "AWS::Lambda::Permission",
				"DependsOn": aliasDependsOn(f),
				"Properties": map[string]any{
					"FunctionName":     lambdaTarget(f),
					"Action":           action,
					"Principal":        "alexa-connectedhome.amazon.com",
					"EventSourceToken": stripEscapedLineBreaks(token),
				},
			}})
		}
	}
}
