package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// cloudwatchEvent events: an AWS::Events::Rule with the event pattern and a
// permission for EventBridge to invoke the function (v3
// events/cloud-watch-event.js). v3 builds both from JSON text templates, so
// this does the same to keep its quoting behaviour.

func init() { registerEvent(orderCloudWatchEvent, compileCloudWatchEvents, "cloudwatchEvent") }

func compileCloudWatchEvents(c *Context) {
	for _, f := range c.Svc.Functions {
		n := 0
		for _, e := range f.Events {
			if e.Type != "cloudwatchEvent" {
				continue
			}
			n++
			fe := FunctionEvent{Function: f, Event: e}
			v := e.Value
			state, input, inputPath, transformer, ok := ruleTargetSettings(v)
			if !ok {
				c.Diags.Errorf(eventPos(fe, ""), eventPath(fe),
					"You can only set one of input, inputPath, or inputTransformer properties at the same time for cloudwatch events. Please check the AWS docs for more info")
				continue
			}
			inputText := ""
			if input.Truthy() {
				if input.Kind == config.Map || input.Kind == config.Seq {
					inputText = stringifyNode(input)
				} else {
					inputText = input.Scalar()
				}
				inputText = strings.ReplaceAll(inputText, `"`, `\"`)
			}
			ruleID := CloudWatchEventLogicalID(f.Key, n)
			target := stringifyValue(lambdaTarget(f))
			_, alias := eventTargetAlias(f)

			var b strings.Builder
			b.WriteString(`{"Type": "AWS::Events::Rule",`)
			if alias != "" {
				b.WriteString(`"DependsOn": "` + alias + `",`)
			}
			b.WriteString(`"Properties": {"EventPattern": ` + stripEscapedLineBreaks(stringifyNode(v.Get("event"))) + `,`)
			b.WriteString(`"State": "` + state + `",`)
			if d := v.Get("description"); d.Truthy() {
				b.WriteString(`"Description": "` + d.Scalar() + `",`)
			}
			if nm := v.Get("name"); nm.Truthy() {
				b.WriteString(`"Name": "` + nm.Scalar() + `",`)
			}
			b.WriteString(`"Targets": [{`)
			if inputText != "" {
				b.WriteString(`"Input": "` + stripEscapedLineBreaks(inputText) + `",`)
			}
			if inputPath.Truthy() {
				b.WriteString(`"InputPath": "` + withoutLineBreaks(inputPath) + `",`)
			}
			if transformer.Truthy() {
				b.WriteString(`"InputTransformer": ` + formatInputTransformer(transformer) + `,`)
			}
			b.WriteString(`"Arn": ` + target + `, "Id": "` + f.Key + `CloudWatchEvent"}]}}`)
			rule, err := parseJSONTemplate(b.String())
			if err != nil {
				c.Diags.Errorf(eventPos(fe, ""), eventPath(fe),
					"cloudwatchEvent cannot be compiled: a name, description or input contains characters v3 cannot place in its template (%v)", err)
				continue
			}
			perm := eventsRulePermission(f, map[string]any{"Fn::GetAtt": []any{ruleID, "Arn"}})
			mergeEventResources(c.Template, map[string]any{ruleID: rule, CloudWatchEventPermissionLogicalID(f.Key, n): perm})
		}
	}
}

// ruleTargetSettings reads what cloudwatchEvent and eventBridge events share
// for their rule: its state (enabled: false disables it) and the target's
// input, inputPath and inputTransformer, of which at most one may be set
// (ok is false otherwise; each event type words that error its own way).
func ruleTargetSettings(v *config.Node) (state string, input, inputPath, transformer *config.Node, ok bool) {
	state = "ENABLED"
	if b, isBool := v.Get("enabled").Boolean(); isBool && !b {
		state = "DISABLED"
	}
	input, inputPath, transformer = v.Get("input"), v.Get("inputPath"), v.Get("inputTransformer")
	set := 0
	for _, x := range []*config.Node{input, inputPath, transformer} {
		if x.Truthy() {
			set++
		}
	}
	return state, input, inputPath, transformer, set <= 1
}
