package aws

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// websocket events compile into an API Gateway v2 WebSocket API the way
// serverless v3's websockets plugin does: API, integrations, route
// responses, authorizers, permissions, routes, stage and a deployment
// named after a hash of everything attached to the API.

func init() { registerEvent(120, compileWebsockets, "websocket") }

const websocketsAPILogicalID = "WebsocketsApi"

type wsAuthorizer struct {
	name           string
	uri            any
	identitySource any
	permission     any // a function's logical ID, or an ARN
	permissionIsFn bool
}

type wsEvent struct {
	fnKey             string
	route             string
	responseSelection string
	auth              *wsAuthorizer
}

func compileWebsockets(c *Context) {
	events, ok := wsValidate(c)
	if !ok || len(events) == 0 {
		return
	}
	prov := c.Svc.Provider.Raw
	apiCfg := prov.Get("apiGateway")
	var apiID any = map[string]any{"Ref": websocketsAPILogicalID}
	external := apiCfg.Get("websocketApiId").Truthy()
	if external {
		apiID = apiCfg.Get("websocketApiId").Interface()
	}
	description := any("Serverless Websockets")
	if d := prov.Get("websocketsDescription"); d.Truthy() {
		description = d.Interface()
	}

	if !external {
		name := c.Svc.Stage + "-" + c.Svc.Name + "-websockets"
		if n, ok := prov.Get("websocketsApiName").Str(); ok && n != "" {
			name = n
		}
		rse := any("$request.body.action")
		if r := prov.Get("websocketsApiRouteSelectionExpression"); r.Truthy() {
			rse = r.Interface()
		}
		props := map[string]any{
			"Name":                     name,
			"RouteSelectionExpression": rse,
			"Description":              description,
			"ProtocolType":             "WEBSOCKET",
		}
		if tags := prov.Get("tags"); tags.Truthy() && prov.Get("websocket").Get("useProviderTags").Truthy() {
			props["Tags"] = tags.Interface()
		}
		c.Template.AddResource(websocketsAPILogicalID, "AWS::ApiGatewayV2::Api", props)
		// functions may post to their connections
		if role := c.Template.Resource("IamRoleLambdaExecution"); role != nil {
			wsAppendRoleStatement(role, map[string]any{
				"Effect":   "Allow",
				"Action":   []any{"execute-api:ManageConnections"},
				"Resource": []any{map[string]any{"Fn::Sub": "arn:${AWS::Partition}:execute-api:*:*:*/@connections/*"}},
			})
		}
	}

	res := c.Template.Resources
	for _, e := range events {
		f := c.Svc.Function(e.fnKey)
		r := map[string]any{
			"Type": "AWS::ApiGatewayV2::Integration",
			"Properties": map[string]any{
				"ApiId":           apiID,
				"IntegrationType": "AWS_PROXY",
				"IntegrationUri":  apiInvocationURI(c.FunctionTarget(e.fnKey)),
			},
		}
		if _, aliasID := c.apiAlias(f); aliasID != "" {
			r["DependsOn"] = aliasID
		}
		res[WebsocketsIntegrationLogicalID(e.fnKey)] = r
	}
	for _, e := range events {
		if e.responseSelection == "" {
			continue
		}
		res[WebsocketsRouteResponseLogicalID(e.route)] = map[string]any{
			"Type": "AWS::ApiGatewayV2::RouteResponse",
			"Properties": map[string]any{
				"ApiId":            apiID,
				"RouteId":          map[string]any{"Ref": WebsocketsRouteLogicalID(e.route)},
				"RouteResponseKey": "$default",
			},
		}
	}
	for _, e := range events {
		if e.auth == nil {
			continue
		}
		r := map[string]any{
			"Type": "AWS::ApiGatewayV2::Authorizer",
			"Properties": map[string]any{
				"ApiId":          apiID,
				"Name":           e.auth.name,
				"AuthorizerType": "REQUEST",
				"AuthorizerUri":  e.auth.uri,
				"IdentitySource": e.auth.identitySource,
			},
		}
		if f := c.Svc.Function(e.auth.name); f != nil {
			if _, aliasID := c.apiAlias(f); aliasID != "" {
				r["DependsOn"] = aliasID
			}
		}
		res[WebsocketsAuthorizerLogicalID(e.auth.name)] = r
	}
	var apiRef string
	if m, ok := apiID.(map[string]any); ok {
		apiRef, _ = m["Ref"].(string)
	}
	for _, e := range events {
		f := c.Svc.Function(e.fnKey)
		_, aliasID := c.apiAlias(f)
		deps := []any{}
		if apiRef != "" {
			deps = append(deps, apiRef)
		}
		if aliasID != "" {
			deps = append(deps, aliasID)
		} else {
			deps = append(deps, FunctionLogicalID(e.fnKey))
		}
		res[WebsocketsPermissionLogicalID(e.fnKey)] = map[string]any{
			"Type":      "AWS::Lambda::Permission",
			"DependsOn": deps,
			"Properties": map[string]any{
				"FunctionName": c.FunctionTarget(e.fnKey),
				"Action":       "lambda:InvokeFunction",
				"Principal":    "apigateway.amazonaws.com",
			},
		}
		if e.auth == nil {
			continue
		}
		adeps := []any{}
		if apiRef != "" {
			adeps = append(adeps, apiRef)
		}
		props := map[string]any{"Action": "lambda:InvokeFunction", "Principal": "apigateway.amazonaws.com"}
		if e.auth.permissionIsFn {
			af := c.Svc.Function(e.auth.name)
			props["FunctionName"] = c.FunctionTarget(e.auth.name)
			adeps = append(adeps, e.auth.permission)
			if _, aid := c.apiAlias(af); aid != "" {
				adeps = append(adeps, aid)
			}
		} else {
			props["FunctionName"] = e.auth.permission
		}
		res[WebsocketsPermissionLogicalID(e.auth.name)] = map[string]any{
			"Type":       "AWS::Lambda::Permission",
			"DependsOn":  adeps,
			"Properties": props,
		}
	}
	for _, e := range events {
		props := map[string]any{
			"ApiId":             apiID,
			"RouteKey":          e.route,
			"AuthorizationType": "NONE",
			"Target": map[string]any{"Fn::Join": []any{"/", []any{
				"integrations", map[string]any{"Ref": WebsocketsIntegrationLogicalID(e.fnKey)},
			}}},
		}
		if e.responseSelection != "" {
			props["RouteResponseSelectionExpression"] = e.responseSelection
		}
		if e.auth != nil {
			props["AuthorizationType"] = "CUSTOM"
			props["AuthorizerId"] = map[string]any{"Ref": WebsocketsAuthorizerLogicalID(e.auth.name)}
		}
		res[WebsocketsRouteLogicalID(e.route)] = map[string]any{"Type": "AWS::ApiGatewayV2::Route", "Properties": props}
	}
	if !wsCompileStage(c, apiID, description, external) {
		return
	}
	wsCompileDeployment(c, events, apiID, description, external)
}

// wsAppendRoleStatement appends to the default role's first policy.
func wsAppendRoleStatement(role map[string]any, statement any) {
	props, _ := role["Properties"].(map[string]any)
	policies, _ := props["Policies"].([]any)
	if len(policies) == 0 {
		return
	}
	p0, _ := policies[0].(map[string]any)
	doc, _ := p0["PolicyDocument"].(map[string]any)
	if doc == nil {
		return
	}
	st, _ := doc["Statement"].([]any)
	doc["Statement"] = append(st, statement)
}

const wsDefaultLogFormat = `$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "$context.eventType $context.routeKey $context.connectionId" $context.requestId`

func wsCompileStage(c *Context, apiID, description any, external bool) bool {
	if external {
		return true
	}
	props := map[string]any{"ApiId": apiID, "StageName": c.Svc.Stage, "Description": description}
	c.Template.Resources["WebsocketsDeploymentStage"] = map[string]any{"Type": "AWS::ApiGatewayV2::Stage", "Properties": props}
	logs := c.Svc.Provider.Raw.Get("logs").Get("websocket")
	if !logs.Truthy() {
		return true
	}
	flag := func(key string) bool {
		n := logs.Get(key)
		if n == nil || n.Kind == config.Null {
			return true
		}
		return n.Truthy()
	}
	level := "INFO"
	if !flag("executionLogging") {
		level = "OFF"
	} else if l := logs.Get("level"); l.Truthy() {
		level = l.Scalar()
		if level != "INFO" && level != "ERROR" {
			c.Diags.Errorf(l.Pos, "provider.logs.websocket.level", "provider.logs.websocket.level is set to an invalid value. Support values are INFO, ERROR, got %s.", level)
			return false
		}
	}
	props["DefaultRouteSettings"] = map[string]any{"DataTraceEnabled": flag("fullExecutionData"), "LoggingLevel": level}
	if flag("accessLogging") {
		format := wsDefaultLogFormat
		if f := logs.Get("format"); f.Truthy() {
			format = f.Scalar()
		}
		props["AccessLogSettings"] = map[string]any{
			"DestinationArn": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${WebsocketsLogGroup}"},
			"Format":         format,
		}
	}
	c.Template.Resources["WebsocketsLogGroup"] = apiLogGroup(c, "/aws/websocket/"+c.Svc.Name+"-"+c.Svc.Stage)
	c.apiCloudWatchRole(c.Svc.Provider.Raw.Get("logs").Get("restApi"))
	return true
}

// wsCompileDeployment names the deployment after a sha256 of every
// resource attached to the API (as v3 serialises them), so any change to
// routes or integrations creates a new deployment.
func wsCompileDeployment(c *Context, events []*wsEvent, apiID, description any, external bool) {
	var deps []any
	for _, e := range events {
		if e.responseSelection != "" {
			deps = append(deps, WebsocketsRouteResponseLogicalID(e.route))
		}
		deps = append(deps, WebsocketsRouteLogicalID(e.route))
	}
	order, authPerms := wsCreationOrder(events)
	data := wsTemplatePartJSON(c.Template, order, authPerms, c.Svc.Provider.Raw.Get("tags"))
	sum := sha256.Sum256(data)
	hash := base64.StdEncoding.EncodeToString(sum[:])
	var b strings.Builder
	for _, r := range hash {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	id := "WebsocketsDeployment" + b.String()
	props := map[string]any{"ApiId": apiID, "Description": description}
	if external {
		props["StageName"] = c.Svc.Stage
	}
	c.Template.Resources[id] = map[string]any{"Type": "AWS::ApiGatewayV2::Deployment", "DependsOn": deps, "Properties": props}
	c.Template.AddOutput("ServiceEndpointWebsocket", "URL of the service endpoint", map[string]any{"Fn::Join": []any{"", []any{
		"wss://", apiID, ".execute-api.", map[string]any{"Ref": "AWS::Region"}, ".", map[string]any{"Ref": "AWS::URLSuffix"}, "/" + c.Svc.Stage,
	}}})
	if st, ok := c.Template.Resources["WebsocketsDeploymentStage"].(map[string]any); ok {
		if props, ok := st["Properties"].(map[string]any); ok {
			props["DeploymentId"] = map[string]any{"Ref": id}
		}
	}
}

// wsCreationOrder lists the resources v3 creates before the deployment in
// the order it creates them: JSON.stringify of its template part follows
// that order, and the deployment's logical ID hashes that text.
// Authorizer permissions get FunctionName after Action and Principal, so
// their ids are returned apart.
func wsCreationOrder(events []*wsEvent) ([]string, map[string]bool) {
	var order []string
	seen := map[string]bool{}
	authPerms := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			order = append(order, id)
		}
	}
	add(websocketsAPILogicalID)
	for _, e := range events {
		add(WebsocketsIntegrationLogicalID(e.fnKey))
	}
	for _, e := range events {
		if e.responseSelection != "" {
			add(WebsocketsRouteResponseLogicalID(e.route))
		}
	}
	for _, e := range events {
		if e.auth != nil {
			add(WebsocketsAuthorizerLogicalID(e.auth.name))
		}
	}
	for _, e := range events {
		add(WebsocketsPermissionLogicalID(e.fnKey))
		if e.auth != nil {
			id := WebsocketsPermissionLogicalID(e.auth.name)
			if !seen[id] {
				authPerms[id] = true
			}
			add(id)
		}
	}
	for _, e := range events {
		add(WebsocketsRouteLogicalID(e.route))
	}
	add("WebsocketsDeploymentStage")
	return order, authPerms
}

// wsTemplatePart is v3's pickWebsocketsTemplatePart serialised as
// JSON.stringify would: the API itself, everything whose ApiId refers to it
// and everything that depends on it, keys in v3's insertion order.
func wsTemplatePartJSON(t *cfn.Template, order []string, authPerms map[string]bool, tags *config.Node) []byte {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for _, id := range order {
		r, ok := t.Resources[id].(map[string]any)
		if !ok || !wsPicked(id, r) {
			continue
		}
		if props, _ := r["Properties"].(map[string]any); id == websocketsAPILogicalID && props["Tags"] != nil && tags != nil {
			// provider tags keep the order they were written in
			if raw, err := tags.MarshalJSON(); err == nil {
				copied := map[string]any{}
				for k, v := range props {
					copied[k] = v
				}
				copied["Tags"] = apiRawJSON(raw)
				r = map[string]any{"Type": r["Type"], "Properties": copied}
			}
		}
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(quoteJS(id))
		b.WriteString(":")
		if authPerms[id] {
			b.WriteString(`{"Type":`)
			apiWriteOrderedJSON(&b, r["Type"], wsKeyOrder)
			b.WriteString(`,"DependsOn":`)
			apiWriteOrderedJSON(&b, r["DependsOn"], wsKeyOrder)
			b.WriteString(`,"Properties":`)
			apiWriteOrderedJSON(&b, r["Properties"], []string{"Action", "Principal", "FunctionName"})
			b.WriteString("}")
			continue
		}
		apiWriteOrderedJSON(&b, r, wsKeyOrder)
	}
	b.WriteString("}")
	return []byte(b.String())
}

func wsPicked(id string, m map[string]any) bool {
	if id == websocketsAPILogicalID {
		return true
	}
	if props, ok := m["Properties"].(map[string]any); ok {
		if ref, ok := props["ApiId"].(map[string]any); ok && ref["Ref"] == websocketsAPILogicalID {
			return true
		}
	}
	if deps, ok := m["DependsOn"].([]any); ok {
		for _, d := range deps {
			if d == websocketsAPILogicalID {
				return true
			}
		}
	}
	return false
}

// wsKeyOrder is the order v3 writes the keys of the websocket resources;
// each resource type's keys are a subsequence of it.
var wsKeyOrder = []string{
	"Type", "DependsOn", "Properties",
	"ApiId", "Name", "RouteSelectionExpression", "StageName", "Description", "ProtocolType", "Tags",
	"IntegrationType", "IntegrationUri", "RouteId", "RouteResponseKey",
	"AuthorizerType", "AuthorizerUri", "IdentitySource",
	"RouteKey", "AuthorizationType", "Target", "RouteResponseSelectionExpression", "AuthorizerId",
	"DefaultRouteSettings", "AccessLogSettings", "DataTraceEnabled", "LoggingLevel", "DestinationArn", "Format",
	"FunctionName", "Action", "Principal",
}

// apiWriteOrderedJSON writes v compactly, map keys in order first and
// any others (user-supplied maps) sorted after them.
func apiWriteOrderedJSON(b *strings.Builder, v any, order []string) {
	switch x := v.(type) {
	case map[string]any:
		var keys []string
		for _, k := range order {
			if _, ok := x[k]; ok {
				keys = append(keys, k)
			}
		}
		var rest []string
		for k := range x {
			if !apiContains(order, k) {
				rest = append(rest, k)
			}
		}
		sort.Strings(rest)
		keys = append(keys, rest...)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(quoteJS(k))
			b.WriteString(":")
			apiWriteOrderedJSON(b, x[k], wsKeyOrder)
		}
		b.WriteString("}")
	case []any:
		b.WriteString("[")
		for i, it := range x {
			if i > 0 {
				b.WriteString(",")
			}
			apiWriteOrderedJSON(b, it, wsKeyOrder)
		}
		b.WriteString("]")
	case apiRawJSON:
		b.Write(x)
	default:
		data, _ := cfn.MarshalCompact(x)
		b.Write(data)
	}
}

// apiRawJSON is already-serialised JSON written as is.
type apiRawJSON []byte

func wsValidate(c *Context) ([]*wsEvent, bool) {
	var events []*wsEvent
	for _, fe := range c.EventsOf("websocket") {
		v := fe.Event.Value
		where := fmt.Sprintf("functions.%s.events[%d].websocket", fe.Function.Key, fe.Event.Index)
		if s, ok := v.Str(); ok {
			if !wsRouteValid(c, s, v.Pos, where) {
				return nil, false
			}
			events = append(events, &wsEvent{fnKey: fe.Function.Key, route: s})
			continue
		}
		if v == nil || v.Kind != config.Map {
			pos := fe.Event.Pos
			if v != nil {
				pos = v.Pos
			}
			c.Diags.Errorf(pos, where, "websocket event must be a route name or an object with route")
			return nil, false
		}
		e := &wsEvent{fnKey: fe.Function.Key, route: v.Get("route").StringOr("")}
		if e.route == "" {
			c.Diags.Errorf(v.Pos, where, `websocket event needs "route"`)
			return nil, false
		}
		if !wsRouteValid(c, e.route, v.Get("route").Pos, where+".route") {
			return nil, false
		}
		e.responseSelection = v.Get("routeResponseSelectionExpression").StringOr("")
		a := v.Get("authorizer")
		defaultIdentity := []any{"route.request.header.Auth"}
		if s, ok := a.Str(); ok {
			if strings.Contains(s, ":") {
				parts := strings.Split(s, ":")
				e.auth = &wsAuthorizer{name: parts[len(parts)-1], uri: apiInvocationURI(s), identitySource: defaultIdentity, permission: s}
			} else {
				af := c.Svc.Function(s)
				if af == nil {
					c.Diags.Errorf(a.Pos, where+".authorizer", "Function %q referenced as authorizer is not defined in this service", s)
					return nil, false
				}
				e.auth = &wsAuthorizer{name: s, uri: apiInvocationURI(c.FunctionTarget(s)), identitySource: defaultIdentity,
					permission: FunctionLogicalID(s), permissionIsFn: true}
			}
		} else if a != nil && a.Kind == config.Map {
			e.auth = &wsAuthorizer{}
			if arn := a.Get("arn"); arn.Truthy() {
				if s, ok := arn.Str(); ok {
					parts := strings.Split(s, ":")
					e.auth.name = parts[len(parts)-1]
				} else {
					if !a.Get("name").Truthy() {
						c.Diags.Errorf(arn.Pos, where+".authorizer.arn", `Websocket Authorizer: Non-string "arn" needs to be accompanied with "name"`)
						return nil, false
					}
					e.auth.name = a.Get("name").Scalar()
				}
				e.auth.uri = apiInvocationURI(arn.Interface())
				e.auth.permission = arn.Interface()
			} else if n := a.Get("name"); n.Truthy() {
				e.auth.name = n.Scalar()
				af := c.Svc.Function(e.auth.name)
				if af == nil {
					c.Diags.Errorf(n.Pos, where+".authorizer.name", "Function %q referenced as authorizer is not defined in this service", e.auth.name)
					return nil, false
				}
				e.auth.uri = apiInvocationURI(c.FunctionTarget(e.auth.name))
				e.auth.permission = FunctionLogicalID(e.auth.name)
				e.auth.permissionIsFn = true
			}
			if is := a.Get("identitySource"); is.Truthy() {
				e.auth.identitySource = is.Interface()
			} else {
				e.auth.identitySource = defaultIdentity
			}
		}
		events = append(events, e)
	}
	return events, true
}

// wsRouteValid rejects routes whose logical ID CloudFormation would refuse
// (v3 writes the template and lets the deploy fail).
func wsRouteValid(c *Context, route string, pos diag.Pos, path string) bool {
	if id := WebsocketsRouteLogicalID(route); !apiAlphanumeric(id) {
		c.Diags.Errorf(pos, path, "websocket route %q gives the logical ID %q, which CloudFormation rejects: use letters, digits and $ / - _ . only", route, id)
		return false
	}
	return true
}

func apiAlphanumeric(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
