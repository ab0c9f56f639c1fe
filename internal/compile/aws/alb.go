package aws

import (
	"crypto/md5"
	"encoding/hex"
	"regexp"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
)

// alb events: a Lambda target group per function and load balancer, a
// listener rule per event (with optional Cognito/OIDC authentication
// actions from provider.alb.authorizers), and the invoke and
// register-target permissions (v3 events/alb).

func init() { registerEvent(orderALB, compileALB, "alb") }

var albListenerArn = regexp.MustCompile(`^arn:aws[\w-]*:elasticloadbalancing:.+:listener/app/[\w-]+/([\w-]+)/([\w-]+)$`)

type albEvent struct {
	fe          FunctionEvent
	albID       string
	listenerID  string
	priority    *config.Node
	multiValue  bool
	authorizers []string
}

func compileALB(c *Context) {
	authorizers := c.Svc.Provider.Raw.Get("alb").Get("authorizers")
	prefix := c.Svc.Provider.Raw.Get("alb").Get("targetGroupPrefix").Scalar0()
	var events []albEvent
	for _, fe := range c.EventsOf("alb") {
		ev, ok := readALBEvent(c, fe, authorizers, prefix)
		if !ok {
			return
		}
		events = append(events, ev)
	}
	if len(events) == 0 || !albPrioritiesUnique(c, events) {
		return
	}
	for _, ev := range events {
		compileALBTargetGroup(c, ev, prefix)
	}
	for _, ev := range events {
		compileALBListenerRule(c, ev, authorizers)
	}
	for _, ev := range events {
		compileALBPermissions(c, ev)
	}
}

func readALBEvent(c *Context, fe FunctionEvent, authorizers *config.Node, prefix string) (albEvent, bool) {
	v := fe.Event.Value
	ev := albEvent{fe: fe, priority: v.Get("priority")}
	listener := v.Get("listenerArn")
	if ref := listener.Get("Ref"); ref != nil {
		ev.albID, ev.listenerID = ref.Scalar0(), ref.Scalar0()
	} else if m := albListenerArn.FindStringSubmatch(listener.Scalar0()); m != nil {
		ev.albID, ev.listenerID = m[1], m[2]
	} else {
		c.Diags.Errorf(eventPos(fe, "listenerArn"), valuePath(fe, "listenerArn"),
			`Invalid ALB listenerArn in function "%s".`, fe.Function.Key)
		return ev, false
	}
	if cond := v.Get("conditions"); cond == nil || len(cond.Pairs) == 0 {
		c.Diags.Errorf(eventPos(fe, "conditions"), valuePath(fe, "conditions"),
			`Cannot setup "alb" event in "%s" function: At least one condition must be defined`, fe.Function.Key)
		return ev, false
	}
	ev.multiValue = v.Get("multiValueHeaders").Truthy()
	if v.Get("targetGroupName").Truthy() && prefix != "" {
		c.Diags.Errorf(eventPos(fe, "targetGroupName"), valuePath(fe, "targetGroupName"),
			`ALB "targetGroupName" setting is exclusive with "provider.alb.targetGroupPrefix": Please specify only one.`)
		return ev, false
	}
	if auth := v.Get("authorizer"); auth.Truthy() {
		names := []*config.Node{auth}
		if auth.Kind == config.Seq {
			names = auth.Items
		}
		for _, n := range names {
			name := n.Scalar()
			if authorizers.Get(name) == nil {
				c.Diags.Errorf(n.Pos, valuePath(fe, "authorizer"),
					`No match for "%s" in function "%s" found in registered ALB authorizers`, name, fe.Function.Key)
				return ev, false
			}
			ev.authorizers = append(ev.authorizers, name)
		}
	}
	return ev, true
}

// albPrioritiesUnique reports v3's two priority conflicts: one function
// reusing a priority on different listeners (a v3 limitation), and two
// functions sharing a priority on one listener.
func albPrioritiesUnique(c *Context, events []albEvent) bool {
	samePriority := func(a, b albEvent) bool { return stringifyNode(a.priority) == stringifyNode(b.priority) }
	for i, a := range events {
		for _, b := range events[:i] {
			if !samePriority(a, b) {
				continue
			}
			sameFn := a.fe.Function.Key == b.fe.Function.Key
			sameListener := a.listenerID == b.listenerID
			switch {
			case sameFn && !sameListener:
				c.Diags.Errorf(eventPos(a.fe, "priority"), valuePath(a.fe, "priority"),
					"ALB event in function \"%s\" cannot use priority \"%s\" because it is already in use.\n  Events in the same function cannot use the same priority even if they have a different listenerArn.\n  This is a Serverless limitation that will be fixed in the next major release.",
					a.fe.Function.Key, a.priority.Scalar())
				return false
			case !sameFn && sameListener:
				c.Diags.Errorf(eventPos(a.fe, "priority"), valuePath(a.fe, "priority"),
					`ALB event in function "%s" cannot use priority "%s" because it is already in use.`,
					a.fe.Function.Key, a.priority.Scalar())
				return false
			}
		}
	}
	return true
}

// albTargetGroupTag is v3's getAlbTargetGroupNameTagValue.
func albTargetGroupTag(c *Context, key, albID string, multiValue bool) string {
	mv := ""
	if multiValue {
		mv = "multi-value-"
	}
	return c.Svc.Name + "-" + key + "-" + albID + "-" + mv + c.Svc.Stage
}

func compileALBTargetGroup(c *Context, ev albEvent, prefix string) {
	f, v := ev.fe.Function, ev.fe.Event.Value
	health := map[string]any{"HealthCheckEnabled": false}
	if hc := v.Get("healthCheck"); hc.Truthy() {
		health = map[string]any{
			"HealthCheckEnabled":         true,
			"HealthCheckPath":            "/",
			"HealthCheckIntervalSeconds": int64(35),
			"HealthCheckTimeoutSeconds":  int64(30),
			"HealthyThresholdCount":      int64(5),
			"UnhealthyThresholdCount":    int64(5),
			"Matcher":                    map[string]any{"HttpCode": "200"},
		}
		if hc.Kind == config.Map {
			// v3 forces `enabled: true` onto any healthCheck object before
			// reading it, so the setting cannot turn checks off.
			if en, ok := hc.Get("enabled").Boolean(); ok && !en {
				c.Diags.Warnf(hc.Get("enabled").Pos, valuePath(ev.fe, "healthCheck.enabled"),
					"healthCheck.enabled: false is ignored (serverless v3 enables health checks whenever healthCheck is set); remove healthCheck to turn them off")
			}
			setUnlessNull(health, "HealthCheckIntervalSeconds", hc.Get("intervalSeconds"))
			setUnlessNull(health, "HealthCheckPath", hc.Get("path"))
			setUnlessNull(health, "HealthCheckTimeoutSeconds", hc.Get("timeoutSeconds"))
			setUnlessNull(health, "HealthyThresholdCount", hc.Get("healthyThresholdCount"))
			if u := hc.Get("unhealthyThresholdCount"); u.Truthy() {
				health["UnhealthyThresholdCount"] = eventValue(u)
			}
			if code := hc.Get("matcher").Get("httpCode"); code.Truthy() {
				health["Matcher"] = map[string]any{"HttpCode": eventValue(code)}
			}
		}
	}
	name := any(nil)
	if tn := v.Get("targetGroupName"); tn.Truthy() {
		name = eventValue(tn)
	} else {
		sum := md5.Sum([]byte(albTargetGroupTag(c, f.Key, ev.albID, ev.multiValue)))
		generated := prefix + hex.EncodeToString(sum[:])
		if len(generated) > 32 {
			generated = generated[:32]
		}
		name = generated
	}
	props := map[string]any{
		"TargetType": "lambda",
		"Targets":    []any{map[string]any{"Id": lambdaTarget(f)}},
		"Name":       name,
		"Tags":       []any{map[string]any{"Key": "Name", "Value": albTargetGroupTag(c, f.Key, ev.albID, false)}},
		"TargetGroupAttributes": []any{map[string]any{
			"Key": "lambda.multi_value_headers.enabled", "Value": albMultiValueSetting(v),
		}},
	}
	for k, x := range health {
		props[k] = x
	}
	dependsOn := []any{RegisterTargetPermissionLogicalID(f.Key)}
	if _, alias := eventTargetAlias(f); alias != "" {
		dependsOn = append(dependsOn, alias)
	}
	c.Template.Resources[AlbTargetGroupLogicalID(f.Key, ev.albID, ev.multiValue)] = map[string]any{
		"Type":       "AWS::ElasticLoadBalancingV2::TargetGroup",
		"Properties": props,
		"DependsOn":  dependsOn,
	}
}

// albMultiValueSetting is the attribute value v3 writes: the configured
// multiValueHeaders when truthy, else false.
func albMultiValueSetting(v *config.Node) any {
	if mv := v.Get("multiValueHeaders"); mv.Truthy() {
		return eventValue(mv)
	}
	return false
}

func compileALBListenerRule(c *Context, ev albEvent, authorizers *config.Node) {
	f, v := ev.fe.Function, ev.fe.Event.Value
	order := 0
	actions := []any{}
	for _, name := range ev.authorizers {
		auth := authorizers.Get(name)
		onUnauth := eventValue(auth.Get("onUnauthenticatedRequest"))
		if !auth.Get("onUnauthenticatedRequest").Truthy() {
			onUnauth = "deny"
		}
		common := map[string]any{
			"OnUnauthenticatedRequest":         onUnauth,
			"AuthenticationRequestExtraParams": eventValue(auth.Get("requestExtraParams")),
			"Scope":                            eventValue(auth.Get("scope")),
			"SessionCookieName":                eventValue(auth.Get("sessionCookieName")),
			"SessionTimeout":                   eventValue(auth.Get("sessionTimeout")),
		}
		if auth.Get("type").Scalar0() == "cognito" {
			common["UserPoolArn"] = eventValue(auth.Get("userPoolArn"))
			common["UserPoolClientId"] = eventValue(auth.Get("userPoolClientId"))
			common["UserPoolDomain"] = eventValue(auth.Get("userPoolDomain"))
			order++
			actions = append(actions, map[string]any{"Type": "authenticate-cognito", "Order": int64(order), "AuthenticateCognitoConfig": common})
			continue
		}
		common["AuthorizationEndpoint"] = eventValue(auth.Get("authorizationEndpoint"))
		common["ClientId"] = eventValue(auth.Get("clientId"))
		common["Issuer"] = eventValue(auth.Get("issuer"))
		common["TokenEndpoint"] = eventValue(auth.Get("tokenEndpoint"))
		common["UserInfoEndpoint"] = eventValue(auth.Get("userInfoEndpoint"))
		if secret := auth.Get("clientSecret"); secret.Truthy() {
			common["ClientSecret"] = eventValue(secret)
		} else {
			common["UseExistingClientSecret"] = true
		}
		order++
		actions = append(actions, map[string]any{"Type": "authenticate-oidc", "Order": int64(order), "AuthenticateOidcConfig": common})
	}
	forward := map[string]any{"Type": "forward", "TargetGroupArn": cfn.Ref(AlbTargetGroupLogicalID(f.Key, ev.albID, ev.multiValue))}
	if order > 0 {
		order++
		forward["Order"] = int64(order)
	}
	actions = append(actions, forward)

	cond := v.Get("conditions")
	conditions := []any{}
	if p := cond.Get("path"); p.Truthy() {
		conditions = append(conditions, map[string]any{"Field": "path-pattern", "Values": asList(p)})
	}
	if h := cond.Get("host"); h.Truthy() {
		conditions = append(conditions, map[string]any{"Field": "host-header", "HostHeaderConfig": map[string]any{"Values": asList(h)}})
	}
	if m := cond.Get("method"); m.Truthy() {
		conditions = append(conditions, map[string]any{"Field": "http-request-method", "HttpRequestMethodConfig": map[string]any{"Values": asList(m)}})
	}
	if h := cond.Get("header"); h.Truthy() {
		headers := []*config.Node{h}
		if h.Kind == config.Seq {
			headers = h.Items
		}
		for _, hd := range headers {
			conditions = append(conditions, map[string]any{"Field": "http-header", "HttpHeaderConfig": map[string]any{
				"HttpHeaderName": eventValue(hd.Get("name")), "Values": eventValue(hd.Get("values")),
			}})
		}
	}
	if q := cond.Get("query"); q.Truthy() {
		values := []any{}
		for _, p := range q.Pairs {
			values = append(values, map[string]any{"Key": p.Key, "Value": eventValue(p.Value)})
		}
		conditions = append(conditions, map[string]any{"Field": "query-string", "QueryStringConfig": map[string]any{"Values": values}})
	}
	if ip := cond.Get("ip"); ip.Truthy() {
		conditions = append(conditions, map[string]any{"Field": "source-ip", "SourceIpConfig": map[string]any{"Values": asList(ip)}})
	}
	c.Template.Resources[AlbListenerRuleLogicalID(f.Key, albPriorityID(ev.priority))] = dropUndefined(map[string]any{
		"Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
		"Properties": map[string]any{
			"Actions":     actions,
			"Conditions":  conditions,
			"ListenerArn": eventValue(v.Get("listenerArn")),
			"Priority":    eventValue(ev.priority),
		},
	})
}

// albPriorityID is the priority as it appears in the listener rule's
// logical ID (JavaScript string interpolation of the number).
func albPriorityID(p *config.Node) int {
	if i, ok := p.Int(); ok {
		return int(i)
	}
	return 0
}

// asList is `[].concat(x)`: a sequence as it is, anything else wrapped.
func asList(n *config.Node) []any {
	if n.Kind == config.Seq {
		return eventValue(n).([]any)
	}
	return []any{eventValue(n)}
}

func compileALBPermissions(c *Context, ev albEvent) {
	f := ev.fe.Function
	base := func() map[string]any {
		p := map[string]any{
			"Type": "AWS::Lambda::Permission",
			"Properties": map[string]any{
				"FunctionName": lambdaTarget(f),
				"Action":       "lambda:InvokeFunction",
				"Principal":    "elasticloadbalancing.amazonaws.com",
			},
		}
		if _, alias := eventTargetAlias(f); alias != "" {
			p["DependsOn"] = []any{alias}
		}
		return p
	}
	invoke := base()
	invoke["Properties"].(map[string]any)["SourceArn"] = cfn.Ref(AlbTargetGroupLogicalID(f.Key, ev.albID, ev.multiValue))
	mergeEventResources(c.Template, map[string]any{
		AlbPermissionLogicalID(f.Key):            invoke,
		RegisterTargetPermissionLogicalID(f.Key): base(),
	})
}
