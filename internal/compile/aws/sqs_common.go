package aws

// Helpers shared by the non-API event compilers (schedule, sqs, sns, s3,
// stream, …). They reproduce small pieces of serverless v3 behaviour that
// every event plugin repeats: the Lambda target an event points at, lodash
// merge of new resources into the template, appending statements to the
// default execution role, and JSON.stringify of config values.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// Event compiler order follows v3's plugin list (lib/plugins/index.js), so
// statements appended to the execution role and to the shared
// custom-resources role come out in v3's order. The API compilers (http,
// httpApi, websocket) register themselves at 100-120; nothing they add
// depends on running before sns…msk as v3 does, and the custom-resources
// role still gets s3, API Gateway, cognito, eventBridge in v3's order.
const (
	orderSchedule        = 10
	orderS3              = 20
	orderSNS             = 50
	orderStream          = 60
	orderKafka           = 70
	orderActiveMQ        = 80
	orderRabbitMQ        = 90
	orderMSK             = 100
	orderALB             = 110
	orderAlexaSkill      = 120
	orderAlexaSmartHome  = 130
	orderIot             = 140
	orderIotFleet        = 150
	orderCloudWatchEvent = 160
	orderCloudWatchLog   = 170
	orderCognitoUserPool = 180
	orderEventBridge     = 190
	orderSQS             = 200
)

// eventTargetAlias is the alias v3 records as functionObject.targetAlias:
// functions with provisioned concurrency or SnapStart are invoked through
// an alias, so every event must target (and depend on) it.
func eventTargetAlias(f *service.Function) (name, logicalID string) {
	if f.Raw.Get("provisionedConcurrency").Truthy() {
		return ProvisionedConcurrencyAliasName, ProvisionedConcurrencyAliasLogicalID(f.Key)
	}
	if f.Raw.Get("snapStart").Truthy() {
		return SnapStartAliasName, SnapStartAliasLogicalID(f.Key)
	}
	return "", ""
}

// lambdaTarget is v3's resolveLambdaTarget: the function ARN, or
// "<arn>:<alias>" when the function has a target alias.
func lambdaTarget(f *service.Function) any {
	arn := cfn.GetAtt(FunctionLogicalID(f.Key), "Arn")
	if name, _ := eventTargetAlias(f); name != "" {
		return map[string]any{"Fn::Join": []any{":", []any{arn, name}}}
	}
	return arn
}

// invokePermission is an AWS::Lambda::Permission letting principal invoke
// functionName from sourceArn. dependsOn is passed in the shape v3 uses for
// the event (a logical ID, usually the target alias); nil or "" leaves it
// out.
func invokePermission(functionName, principal, sourceArn, dependsOn any) map[string]any {
	p := map[string]any{
		"Type": "AWS::Lambda::Permission",
		"Properties": map[string]any{
			"FunctionName": functionName,
			"Action":       "lambda:InvokeFunction",
			"Principal":    principal,
			"SourceArn":    sourceArn,
		},
	}
	if dependsOn != nil && dependsOn != "" {
		p["DependsOn"] = dependsOn
	}
	return p
}

// eventsRulePermission lets an EventBridge rule (named by sourceArn)
// invoke the function: the permission v3's schedule, cloudwatchEvent and
// eventBridge compilers all add.
func eventsRulePermission(f *service.Function, sourceArn any) map[string]any {
	return invokePermission(lambdaTarget(f), "events.amazonaws.com", sourceArn, aliasDependsOn(f))
}

// aliasDependsOn is `_.get(functionObj.targetAlias, 'logicalId')`: the
// alias logical ID, or nil (omitted) when there is none.
func aliasDependsOn(f *service.Function) any {
	if _, id := eventTargetAlias(f); id != "" {
		return id
	}
	return nil
}

// functionRoleResourceName is v3's resolveFunctionIamRoleResourceName: the
// logical ID of the role a function runs with when that role lives in this
// stack, "" when it is an external ARN, import, Ref or Sub.
func functionRoleResourceName(svc *service.Service, f *service.Function) string {
	role := f.Raw.Get("role")
	if role == nil {
		iamRole := svc.Provider.Raw.Get("iam").Get("role")
		if isProvidedRole(iamRole) {
			role = iamRole
		} else {
			role = svc.Provider.Raw.Get("role")
		}
	}
	if role == nil || role.Kind == config.Null {
		return RoleLogicalID
	}
	if s, ok := role.Str(); ok {
		if s == "" {
			return RoleLogicalID
		}
		if strings.Contains(s, ":") {
			return ""
		}
		return s
	}
	if role.Kind == config.Map {
		if ga := role.Get("Fn::GetAtt"); ga != nil && ga.Kind == config.Seq && len(ga.Items) == 2 {
			res, ok1 := ga.Items[0].Str()
			attr, ok2 := ga.Items[1].Str()
			if ok1 && ok2 && attr == "Arn" {
				return res
			}
		}
		if role.Has("Fn::ImportValue") || role.Has("Ref") || role.Has("Fn::Sub") {
			return ""
		}
	}
	return RoleLogicalID
}

// isProvidedRole is v3's isExistingRoleProvided: a string, or an object
// holding an intrinsic function.
func isProvidedRole(n *config.Node) bool {
	if n == nil {
		return false
	}
	if n.Kind == config.String {
		return true
	}
	if n.Kind == config.Map {
		for _, p := range n.Pairs {
			if strings.Contains(p.Key, "::") {
				return true
			}
		}
	}
	return false
}

// mergeEventResources deep-merges each resource into the template the way
// lodash's _.merge does: maps merge key by key, arrays index by index,
// nil values (JavaScript undefined) never overwrite.
func mergeEventResources(t *cfn.Template, resources map[string]any) {
	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		t.Resources[id] = lodashMergeValue(t.Resources[id], dropUndefined(resources[id]))
	}
}

func lodashMergeValue(dst, src any) any {
	switch s := src.(type) {
	case nil:
		return dst
	case map[string]any:
		d, ok := dst.(map[string]any)
		if !ok {
			d = map[string]any{}
		}
		for k, v := range s {
			d[k] = lodashMergeValue(d[k], v)
		}
		return d
	case []any:
		d, ok := dst.([]any)
		if !ok {
			d = nil
		}
		for i, v := range s {
			if i < len(d) {
				d[i] = lodashMergeValue(d[i], v)
			} else {
				d = append(d, lodashMergeValue(nil, v))
			}
		}
		if d == nil {
			d = []any{}
		}
		return d
	}
	return src
}

// dropUndefined drops map entries whose value is nil: v3 builds objects with
// `undefined` properties that JSON.stringify omits.
func dropUndefined(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = dropUndefined(e)
		}
	case []any:
		for i, e := range x {
			x[i] = dropUndefined(e)
		}
	}
	return v
}

// addExecutionRoleStatements appends statements to the default execution
// role, as v3's sqs/stream/schedule plugins do; it reports whether the role
// exists.
func addExecutionRoleStatements(t *cfn.Template, stmts ...any) bool {
	doc := executionRolePolicyDocument(t)
	if doc == nil {
		return false
	}
	list, _ := doc["Statement"].([]any)
	doc["Statement"] = append(list, stmts...)
	return true
}

func executionRolePolicyDocument(t *cfn.Template) map[string]any {
	role := t.Resource(RoleLogicalID)
	if role == nil {
		return nil
	}
	props, _ := role["Properties"].(map[string]any)
	policies, _ := props["Policies"].([]any)
	if len(policies) == 0 {
		return nil
	}
	policy, _ := policies[0].(map[string]any)
	doc, _ := policy["PolicyDocument"].(map[string]any)
	return doc
}

// eventValue converts a config value to template JSON (nil for absent).
func eventValue(n *config.Node) any {
	if n == nil {
		return nil
	}
	return n.Interface()
}

// parseJSONTemplate parses a JSON text built the way v3 builds some
// resources (string templates then JSON.parse), so quoting quirks come out
// the same; numbers stay exact.
func parseJSONTemplate(text string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("invalid generated JSON: %w", err)
	}
	return out, nil
}

// explainedError appends an error whose Detail says how to fix it; the
// summary keeps serverless v3's wording so searches for it still work.
func explainedError(c *Context, pos diag.Pos, path, detail, format string, args ...any) {
	c.Diags.Append(diag.Diagnostic{Severity: diag.Error, Pos: pos, Path: path,
		Summary: fmt.Sprintf(format, args...), Detail: detail})
}

// eventPath is the config key path of an event, for diagnostics.
func eventPath(fe FunctionEvent) string {
	return fmt.Sprintf("functions.%s.events[%d].%s", fe.Function.Key, fe.Event.Index, fe.Event.Type)
}

// valuePath is the key path of a setting inside an event.
func valuePath(fe FunctionEvent, key string) string { return eventPath(fe) + "." + key }

// eventPos is the best position for a diagnostic about a setting of an
// event: the value of a scalar setting, the key of a block (whose value
// starts on a later line), else the event itself.
func eventPos(fe FunctionEvent, key string) diag.Pos {
	if key != "" {
		if p := fe.Event.Value.Pair(key); p != nil {
			if p.Value != nil && p.Value.IsScalar() {
				return p.Value.Pos
			}
			return p.KeyPos
		}
	}
	if fe.Event.Value != nil {
		return fe.Event.Value.Pos
	}
	return fe.Event.Pos
}
