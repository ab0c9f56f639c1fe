package aws

import (
	"crypto/md5"
	"encoding/hex"
	"strings"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
)

// eventBridge events: native AWS::Events::Rule resources (and a bus when
// the event names one that does not exist yet) with invoke permissions, or
// with provider.eventBridge set but useCloudFormation not true, v3's legacy
// Custom::EventBridge resources (v3 events/event-bridge).

func init() { registerEvent(orderEventBridge, compileEventBridge, "eventBridge") }

// eventBridgeNameLimit is AWS's limit on rule names and target IDs.
const eventBridgeNameLimit = 64

func eventBridgeRuleName(functionName string, index int) string {
	return functionName + "-rule-" + itoa(index)
}

// eventBridgeHashName shortens a too-long name as v3's hashName does.
func eventBridgeHashName(name, suffix string) string {
	sum := md5.Sum([]byte(name))
	keep := 31 - len(suffix)
	if keep > len(name) {
		keep = len(name)
	}
	return name[:keep] + hex.EncodeToString(sum[:]) + "-" + suffix
}

func compileEventBridge(c *Context) {
	opts := c.Svc.Provider.Raw.Get("eventBridge")
	useCloudFormation := opts == nil || opts.Get("useCloudFormation").Truthy()
	var statements []any
	hasBusStatement := false
	usesEventBridge := false
	for _, f := range c.Svc.Functions {
		for i, e := range f.Events {
			if e.Type != "eventBridge" {
				continue
			}
			idx := i + 1
			fe := FunctionEvent{Function: f, Event: e}
			v := e.Value
			usesEventBridge = true
			ruleName := v.Get("name").Scalar0()
			if ruleName == "" {
				ruleName = eventBridgeRuleName(f.Name, idx)
				if len(ruleName) > eventBridgeNameLimit {
					ruleName = eventBridgeHashName(ruleName, "rule-"+itoa(idx))
				}
			}
			state, _, _, transformer, ok := ruleTargetSettings(v)
			if !ok {
				c.Diags.Errorf(eventPos(fe, ""), eventPath(fe),
					"You can only set one of input, inputPath, or inputTransformer properties for eventBridge events.")
				continue
			}
			var inputTransformer any
			if transformer.Truthy() {
				m := map[string]any{}
				for _, p := range transformer.Pairs {
					m[UpperFirst(p.Key)] = eventValue(p.Value)
				}
				inputTransformer = m
			}
			var retryPolicy, deadLetter any
			if rp := v.Get("retryPolicy"); rp.Truthy() {
				if !useCloudFormation {
					c.Diags.Errorf(eventPos(fe, "retryPolicy"), valuePath(fe, "retryPolicy"),
						`Configuring RetryPolicy is not supported for EventBridge integration backed by Custom Resources. Please use "provider.eventBridge.useCloudFormation" setting to use native CloudFormation support for EventBridge.`)
					continue
				}
				retryPolicy = map[string]any{
					"MaximumEventAgeInSeconds": eventValue(rp.Get("maximumEventAge")),
					"MaximumRetryAttempts":     eventValue(rp.Get("maximumRetryAttempts")),
				}
			}
			if dlq := v.Get("deadLetterQueueArn"); dlq.Truthy() {
				if !useCloudFormation {
					c.Diags.Errorf(eventPos(fe, "deadLetterQueueArn"), valuePath(fe, "deadLetterQueueArn"),
						`Configuring DeadLetterConfig is not supported for EventBridge integration backed by Custom Resources. Please use "provider.eventBridge.useCloudFormation" setting to use native CloudFormation support for EventBridge.`)
					continue
				}
				deadLetter = map[string]any{"Arn": eventValue(dlq)}
			}
			ev := eventBridgeEvent{
				fe: fe, idx: idx, ruleName: ruleName, state: state,
				bus: v.Get("eventBus"), inputTransformer: inputTransformer,
				retryPolicy: retryPolicy, deadLetter: deadLetter,
			}
			if useCloudFormation {
				compileEventBridgeRule(c, ev)
				continue
			}
			stmts, ok := compileEventBridgeCustomResource(c, ev, hasBusStatement)
			if !ok {
				continue
			}
			if len(stmts) > 0 {
				hasBusStatement = true
			}
			statements = append(statements, stmts...)
		}
	}
	if !useCloudFormation && usesEventBridge {
		statements = append(statements,
			map[string]any{
				"Effect": "Allow",
				"Resource": cfn.Join(":", "arn", cfn.Ref("AWS::Partition"), "events", cfn.Ref("AWS::Region"),
					cfn.Ref("AWS::AccountId"), "rule/*"),
				"Action": []any{"events:PutRule", "events:RemoveTargets", "events:PutTargets", "events:DeleteRule"},
			},
			map[string]any{
				"Effect": "Allow",
				"Resource": cfn.Join(":", "arn", cfn.Ref("AWS::Partition"), "lambda", cfn.Ref("AWS::Region"),
					cfn.Ref("AWS::AccountId"), "function", "*"),
				"Action": []any{"lambda:AddPermission", "lambda:RemovePermission"},
			})
		addCustomResource(c, CustomResourceEventBridge, statements)
	}
}

type eventBridgeEvent struct {
	fe                                        FunctionEvent
	idx                                       int
	ruleName, state                           string
	bus                                       *config.Node
	inputTransformer, retryPolicy, deadLetter any
}

func compileEventBridgeRule(c *Context, ev eventBridgeEvent) {
	f, v := ev.fe.Function, ev.fe.Event.Value
	busName := eventValue(ev.bus)
	exists := ev.bus != nil && ev.bus.Kind == config.Map
	if s, ok := ev.bus.Str(); ok && strings.HasPrefix(s, "arn") {
		exists = true
		busName = s[strings.Index(s, "/")+1:]
	}
	busStr, busIsString := busName.(string)
	create := !exists && busIsString && busStr != "" && busStr != "default"
	if create {
		c.Template.Resources[EventBridgeEventBusLogicalID(busStr)] = map[string]any{
			"Type":       "AWS::Events::EventBus",
			"Properties": map[string]any{"Name": busStr},
		}
	}
	targetID := ev.ruleName + "-target"
	if len(targetID) > eventBridgeNameLimit {
		targetID = eventBridgeHashName(targetID, "target")
	}
	target := map[string]any{"Arn": lambdaTarget(f), "Id": targetID}
	if ev.retryPolicy != nil {
		target["RetryPolicy"] = ev.retryPolicy
	}
	if ev.deadLetter != nil {
		target["DeadLetterConfig"] = ev.deadLetter
	}
	switch {
	case v.Get("input").Truthy():
		target["Input"] = stringifyNode(v.Get("input"))
	case v.Get("inputPath").Truthy():
		target["InputPath"] = eventValue(v.Get("inputPath"))
	case ev.inputTransformer != nil:
		target["InputTransformer"] = ev.inputTransformer
	}
	props := map[string]any{
		"Description":        eventValue(v.Get("description")),
		"EventPattern":       eventValue(v.Get("pattern")),
		"Name":               ev.ruleName,
		"ScheduleExpression": eventValue(v.Get("schedule")),
		"State":              ev.state,
		"Targets":            []any{target},
	}
	if !(busIsString && busStr == "default") {
		props["EventBusName"] = busName
	}
	rule := map[string]any{"Type": "AWS::Events::Rule", "DependsOn": aliasDependsOn(f), "Properties": props}
	if create {
		rule["DependsOn"] = EventBridgeEventBusLogicalID(busStr)
	}
	c.Template.Resources[EventBridgeRuleLogicalID(eventBridgeRuleName(f.Name, ev.idx))] = dropUndefined(rule)

	rulePath := []any{"rule"}
	if busName != nil && !(busIsString && busStr == "") {
		rulePath = append(rulePath, busName)
	}
	rulePath = append(rulePath, ev.ruleName)
	c.Template.Resources[EventBridgePermissionLogicalID(f.Key, ev.idx)] = eventsRulePermission(f,
		cfn.Join(":", "arn", cfn.Ref("AWS::Partition"), "events", cfn.Ref("AWS::Region"),
			cfn.Ref("AWS::AccountId"), map[string]any{"Fn::Join": []any{"/", rulePath}}))
}

// compileEventBridgeCustomResource adds the legacy Custom::EventBridge
// resource and returns the bus statement the handler needs (once).
func compileEventBridgeCustomResource(c *Context, ev eventBridgeEvent, hasBusStatement bool) ([]any, bool) {
	f, v := ev.fe.Function, ev.fe.Event.Value
	if ev.bus != nil && (ev.bus.Kind == config.Map || ev.bus.Kind == config.Seq) {
		c.Diags.Errorf(eventPos(ev.fe, "eventBus"), valuePath(ev.fe, "eventBus"),
			"Referencing event bus with CloudFormation intrinsic functions is not supported for EventBridge integration backed by Custom Resources. Please use `provider.eventBridge.useCloudFormation` setting to use native CloudFormation support for EventBridge.")
		return nil, false
	}
	busName := ev.bus.Scalar0()
	if strings.HasPrefix(busName, "arn") {
		busName = busName[strings.Index(busName, "/")+1:]
	}
	handlerID := CustomResourceFunctionLogicalIDOf(CustomResourceEventBridge)
	var input any
	if in := v.Get("input"); in != nil {
		input = eventValue(in)
	}
	c.Template.Resources[CustomEventBridgeResourceLogicalID(f.Key, ev.idx)] = dropUndefined(map[string]any{
		"Type":      "Custom::EventBridge",
		"Version":   1.0,
		"DependsOn": []any{FunctionLogicalID(f.Key), handlerID},
		"Properties": map[string]any{
			"ServiceToken": cfn.GetAtt(handlerID, "Arn"),
			"FunctionName": f.Name,
			"EventBridgeConfig": map[string]any{
				"RuleName":         ev.ruleName,
				"State":            ev.state,
				"EventBus":         eventValue(ev.bus),
				"Schedule":         eventValue(v.Get("schedule")),
				"Pattern":          eventValue(v.Get("pattern")),
				"Input":            input,
				"InputPath":        eventValue(v.Get("inputPath")),
				"InputTransformer": ev.inputTransformer,
			},
		},
	})
	if hasBusStatement || busName == "" || busName == "default" {
		return nil, true
	}
	return []any{map[string]any{
		"Effect": "Allow",
		"Resource": cfn.Join(":", "arn", cfn.Ref("AWS::Partition"), "events", cfn.Ref("AWS::Region"),
			cfn.Ref("AWS::AccountId"), "event-bus/*"),
		"Action": []any{"events:CreateEventBus", "events:DeleteEventBus"},
	}}, true
}
