package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// schedule events: an EventBridge rule (default) or, with
// `method: scheduler`, an EventBridge Scheduler schedule per rate
// expression, as v3's events/schedule.js compiles them.

func init() { registerEvent(orderSchedule, compileSchedules, "schedule") }

const (
	scheduleMethodScheduler = "scheduler"
	scheduleMethodEventBus  = "eventBus"
)

func compileSchedules(c *Context) {
	var schedulerResources []any
	hasScheduler := false
	for _, f := range c.Svc.Functions {
		n := 0
		fnHasScheduler := false
		for _, e := range f.Events {
			if e.Type != "schedule" {
				continue
			}
			fe := FunctionEvent{Function: f, Event: e}
			s, ok := readSchedule(c, fe)
			if !ok {
				continue
			}
			for _, expr := range s.expressions {
				n++
				if s.method == scheduleMethodScheduler {
					hasScheduler, fnHasScheduler = true, true
					compileSchedulerSchedule(c, f, n, expr, s)
				} else {
					compileScheduleRule(c, fe, n, expr, s)
				}
			}
		}
		if fnHasScheduler {
			arn := "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:" + f.Name
			schedulerResources = append(schedulerResources,
				map[string]any{"Fn::Sub": arn}, map[string]any{"Fn::Sub": arn + ":*"})
		}
	}
	if hasScheduler {
		allowSchedulerToInvoke(c, schedulerResources)
	}
}

// scheduleSettings is one schedule event after v3's normalisation.
type scheduleSettings struct {
	expressions      []*config.Node
	state            string
	input            *string // already JSON-stringified when given as an object
	inputPath        string
	inputTransformer string // JSON text
	name             string
	description      string
	method           string
	timezone         *config.Node
	roleArn          any
}

func readSchedule(c *Context, fe FunctionEvent) (scheduleSettings, bool) {
	v := fe.Event.Value
	s := scheduleSettings{state: "ENABLED"}
	if v == nil || v.Kind != config.Map {
		s.expressions = []*config.Node{v}
		return s, true
	}
	rate := v.Get("rate")
	if rate != nil && rate.Kind == config.Seq {
		s.expressions = rate.Items
	} else if rate != nil {
		s.expressions = []*config.Node{rate}
	}
	if b, ok := v.Get("enabled").Boolean(); ok && !b {
		s.state = "DISABLED"
	}
	s.inputPath = v.Get("inputPath").Scalar0()
	s.name = v.Get("name").Scalar0()
	s.description = v.Get("description").Scalar0()
	s.timezone = v.Get("timezone")
	s.method = v.Get("method").StringOr(scheduleMethodEventBus)
	if fn := c.Template.Resource(FunctionLogicalID(fe.Function.Key)); fn != nil {
		if props, ok := fn["Properties"].(map[string]any); ok {
			s.roleArn = props["Role"]
		}
	}
	if len(s.expressions) > 1 && s.name != "" {
		explainedError(c, eventPos(fe, "name"), valuePath(fe, "name"),
			"A rule name must be unique; give each rate expression its own schedule event to name them.",
			"You cannot specify a name when defining more than one rate expression")
		return s, false
	}
	if in := v.Get("input"); in.Truthy() {
		text, ok := scheduleInput(c, fe, in)
		if !ok {
			return s, false
		}
		if s.method != scheduleMethodScheduler {
			// v3 splices the input into a JSON text template.
			text = strings.ReplaceAll(text, `"`, `\"`)
		}
		s.input = &text
	}
	if it := v.Get("inputTransformer"); it.Truthy() {
		if s.method == scheduleMethodScheduler {
			c.Diags.Errorf(eventPos(fe, "inputTransformer"), valuePath(fe, "inputTransformer"),
				`Cannot setup "schedule" event: "inputTransformer" is not supported with "scheduler" mode`)
			return s, false
		}
		s.inputTransformer = formatInputTransformer(it)
	}
	if s.inputPath != "" && s.method == scheduleMethodScheduler {
		c.Diags.Errorf(eventPos(fe, "inputPath"), valuePath(fe, "inputPath"),
			`Cannot setup "schedule" event: "inputPath" is not supported with "scheduler" mode`)
		return s, false
	}
	if s.timezone.Truthy() && s.method != scheduleMethodScheduler {
		c.Diags.Errorf(eventPos(fe, "timezone"), valuePath(fe, "timezone"),
			`Cannot setup "schedule" event: "timezone" is only supported with "scheduler" mode`)
		return s, false
	}
	return s, true
}

// scheduleInput returns the input text: strings as they are, objects
// JSON-stringified after parsing a string `body` (as v3 does).
func scheduleInput(c *Context, fe FunctionEvent, in *config.Node) (string, bool) {
	if in.Kind != config.Map {
		return in.Scalar(), true
	}
	obj := in.Clone()
	if body, ok := obj.Get("body").Str(); ok {
		parsed, ds := config.Parse("input.body", []byte(body), nil)
		if ds.HasErrors() || parsed == nil {
			c.Diags.Errorf(eventPos(fe, "input"), valuePath(fe, "input.body"),
				"input.body is not valid JSON: %s", body)
			return "", false
		}
		obj.Set("body", parsed)
	}
	return stringifyNode(obj), true
}

// formatInputTransformer is v3's JSON text of {InputTemplate, InputPathsMap}.
func formatInputTransformer(it *config.Node) string {
	var b strings.Builder
	b.WriteString(`{"InputTemplate":`)
	b.WriteString(stringifyNode(it.Get("inputTemplate")))
	if m := it.Get("inputPathsMap"); m.Truthy() {
		b.WriteString(`,"InputPathsMap":`)
		b.WriteString(stringifyNode(m))
	}
	b.WriteString("}")
	return b.String()
}

// compileScheduleRule builds the AWS::Events::Rule and its permission from
// the same JSON text v3 parses, so unusual characters in names behave alike.
func compileScheduleRule(c *Context, fe FunctionEvent, n int, expr *config.Node, s scheduleSettings) {
	f := fe.Function
	ruleID := ScheduleLogicalID(f.Key, n)
	target := stringifyValue(lambdaTarget(f))
	_, alias := eventTargetAlias(f)
	var b strings.Builder
	b.WriteString(`{"Type": "AWS::Events::Rule",`)
	if alias != "" {
		b.WriteString(`"DependsOn": "` + alias + `",`)
	}
	b.WriteString(`"Properties": {"ScheduleExpression": `)
	if str, ok := expr.Str(); ok {
		b.WriteString(`"` + str + `"`)
	} else {
		b.WriteString(stringifyNode(expr))
	}
	b.WriteString(`, "State": "` + s.state + `",`)
	if s.name != "" {
		b.WriteString(`"Name": "` + s.name + `",`)
	}
	if s.description != "" {
		b.WriteString(`"Description": "` + s.description + `",`)
	}
	b.WriteString(`"Targets": [{`)
	if s.input != nil && *s.input != "" {
		b.WriteString(`"Input": "` + *s.input + `",`)
	}
	if s.inputPath != "" {
		b.WriteString(`"InputPath": "` + s.inputPath + `",`)
	}
	if s.inputTransformer != "" {
		b.WriteString(`"InputTransformer": ` + s.inputTransformer + `,`)
	}
	b.WriteString(`"Arn": ` + target + `, "Id": "` + f.Key + `Schedule"}]}}`)
	rule, err := parseJSONTemplate(b.String())
	if err != nil {
		c.Diags.Errorf(eventPos(fe, ""), eventPath(fe),
			"schedule event cannot be compiled: a name, description, input or expression contains characters v3 cannot place in its template (%v)", err)
		return
	}
	perm := eventsRulePermission(f, map[string]any{"Fn::GetAtt": []any{ruleID, "Arn"}})
	c.Template.Resources[ruleID] = rule
	c.Template.Resources[SchedulePermissionLogicalID(f.Key, n)] = perm
}

func compileSchedulerSchedule(c *Context, f *service.Function, n int, expr *config.Node, s scheduleSettings) {
	target := map[string]any{"Arn": lambdaTarget(f), "RoleArn": s.roleArn}
	if s.input != nil && *s.input != "" {
		target["Input"] = *s.input
	}
	props := map[string]any{
		"ScheduleExpression": eventValue(expr),
		"State":              s.state,
		"Target":             target,
		"FlexibleTimeWindow": map[string]any{"Mode": "OFF"},
	}
	if s.name != "" {
		props["Name"] = s.name
	}
	if s.description != "" {
		props["Description"] = s.description
	}
	if s.timezone != nil {
		props["ScheduleExpressionTimezone"] = eventValue(s.timezone)
	}
	res := map[string]any{"Type": "AWS::Scheduler::Schedule", "Properties": props}
	if alias := aliasDependsOn(f); alias != nil {
		res["DependsOn"] = alias
	}
	c.Template.Resources[SchedulerScheduleLogicalID(f.Key, n)] = dropUndefined(res)
}

// allowSchedulerToInvoke lets EventBridge Scheduler assume the execution
// role and invoke the scheduled functions, as v3 does when the default role
// is used.
func allowSchedulerToInvoke(c *Context, resources []any) {
	role := c.Template.Resource(RoleLogicalID)
	if role == nil {
		return
	}
	props, _ := role["Properties"].(map[string]any)
	assume, _ := props["AssumeRolePolicyDocument"].(map[string]any)
	stmts, _ := assume["Statement"].([]any)
	for _, st := range stmts {
		m, _ := st.(map[string]any)
		principal, _ := m["Principal"].(map[string]any)
		services, ok := principal["Service"].([]any)
		if !ok || !listHas(services, "lambda.amazonaws.com") {
			continue
		}
		principal["Service"] = append(services, "scheduler.amazonaws.com")
		break
	}
	addExecutionRoleStatements(c.Template, map[string]any{
		"Effect":   "Allow",
		"Action":   []any{"lambda:InvokeFunction"},
		"Resource": resources,
	})
}

func listHas(list []any, v any) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
