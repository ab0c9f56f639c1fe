package aws

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// httpApi events compile into one API Gateway v2 HTTP API (or routes on an
// external one, provider.httpApi.id) the way serverless v3's http-api.js
// does: API, access-log group, $default stage, authorizers, then per route
// a Lambda permission, an integration per function and the route.

func init() { registerEvent(110, compileHTTPAPI, "httpApi") }

const httpAPILogicalID = "HttpApi"

var httpAPIAllowedMethods = []string{"ANY", "GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD", "DELETE"}

var httpAPIMethodPath = regexp.MustCompile(`(?i)^(?:\*|(ANY|GET|POST|PUT|PATCH|OPTIONS|HEAD|DELETE) (/\S*))$`)

var httpAPIDefaultCorsHeaders = []string{
	"Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key",
	"X-Amz-Security-Token", "X-Amz-User-Agent", "X-Amzn-Trace-Id",
}

type httpAPIAuthorizer struct {
	key                   string
	name                  string
	identitySource        *config.Node
	issuerURL             any
	audience              []any
	typ                   string
	functionName          string
	functionArn           any
	managedExternally     bool
	resultTTL             any
	enableSimpleResponses any
	payloadVersion        any
	function              *service.Function
}

type httpAPIRoute struct {
	key        string
	fn         *service.Function
	authorizer *httpAPIRouteAuth
	scopes     []any
}

type httpAPIRouteAuth struct {
	id   any
	typ  string
	def  *httpAPIAuthorizer
	name string
}

type httpAPICors struct {
	allowCredentials bool
	headers          []string
	methods          []string
	origins          []string
	exposed          []string
	maxAge           any
}

type httpAPICompiler struct {
	c           *Context
	cfg         *config.Node // provider.httpApi
	externalID  any
	cors        *httpAPICors
	fillMethods bool
	authorizers []*httpAPIAuthorizer
	routes      []*httpAPIRoute
	logFormat   string
}

func compileHTTPAPI(c *Context) {
	hc := &httpAPICompiler{c: c, cfg: c.Svc.Provider.Raw.Get("httpApi")}
	if !hc.resolve() || len(hc.routes) == 0 {
		return
	}
	hc.compileAPI()
	hc.compileLogGroup()
	hc.compileStage()
	hc.compileAuthorizers()
	hc.compileEndpoints()
}

func (hc *httpAPICompiler) apiID() any {
	if hc.externalID != nil {
		return hc.externalID
	}
	return map[string]any{"Ref": httpAPILogicalID}
}

func (hc *httpAPICompiler) errorf(n *config.Node, path, format string, args ...any) {
	pos := hc.c.Svc.Provider.Raw.Pos
	if n != nil {
		pos = n.Pos
	}
	hc.c.Diags.Errorf(pos, path, format, args...)
}

// resolve is v3's resolveConfiguration: it reads provider.httpApi and
// every httpApi event into routes, reporting v3's configuration errors.
func (hc *httpAPICompiler) resolve() bool {
	cfg := hc.cfg
	prov := hc.c.Svc.Provider.Raw
	if id := cfg.Get("id"); id.Truthy() {
		hc.externalID = id.Interface()
	}
	if uc := cfg.Get("cors"); uc.Truthy() {
		if hc.externalID != nil {
			hc.errorf(uc, "provider.httpApi.cors", "Cannot setup CORS rules for externally configured HTTP API")
			return false
		}
		hc.cors = &httpAPICors{}
		if b, ok := uc.Boolean(); ok && b {
			hc.cors.origins = []string{"*"}
			hc.cors.headers = httpAPIDefaultCorsHeaders
			hc.fillMethods = true
		} else {
			hc.cors.origins = []string{"*"}
			if o := uc.Get("allowedOrigins"); o.Truthy() {
				hc.cors.origins = apiUniq(apiStrings(o))
			}
			hc.cors.headers = httpAPIDefaultCorsHeaders
			if h := uc.Get("allowedHeaders"); h.Truthy() {
				hc.cors.headers = apiUniq(apiStrings(h))
			}
			if m := uc.Get("allowedMethods"); m.Truthy() {
				hc.cors.methods = apiUniq(apiStrings(m))
			} else {
				hc.fillMethods = true
			}
			hc.cors.allowCredentials = uc.Get("allowCredentials").Truthy()
			if e := uc.Get("exposedResponseHeaders"); e.Truthy() {
				hc.cors.exposed = apiUniq(apiStrings(e))
			}
			hc.cors.maxAge = apiValue(uc.Get("maxAge"))
		}
		if hc.fillMethods {
			hc.cors.methods = []string{"OPTIONS"}
		}
	}
	byName := map[string]*httpAPIAuthorizer{}
	if ua := cfg.Get("authorizers"); ua.Truthy() {
		if hc.externalID != nil {
			hc.errorf(ua, "provider.httpApi.authorizers", "Cannot setup authorizers for externally configured HTTP API")
			return false
		}
		for _, p := range ua.Pairs {
			a, ok := hc.readAuthorizer(p)
			if !ok {
				return false
			}
			hc.authorizers = append(hc.authorizers, a)
			byName[p.Key] = a
		}
	}
	if lg := prov.Get("logs").Get("httpApi"); lg.Truthy() {
		if hc.externalID != nil {
			hc.errorf(lg, "provider.logs.httpApi", "Cannot setup access logs for externally configured HTTP API")
			return false
		}
		if f := lg.Get("format"); f.Truthy() {
			hc.logFormat = f.Scalar()
		} else {
			hc.logFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength"}`
		}
	}

	seen := map[string]int{}
	for _, f := range hc.c.Svc.Functions {
		hasEvents := false
		for _, ev := range f.Events {
			if ev.Type != "httpApi" {
				continue
			}
			hasEvents = true
			where := fmt.Sprintf("functions.%s.events[%d].httpApi", f.Key, ev.Index)
			v := ev.Value
			var method, path string
			var authNode *config.Node
			methodSet := false
			if v != nil && v.Kind == config.Map {
				if m := v.Get("method"); m != nil && m.Kind != config.Null {
					method, methodSet = m.Scalar(), true
				}
				path = v.Get("path").Scalar()
				authNode = v.Get("authorizer")
			} else {
				s := v.Scalar()
				if s == "*" {
					path = "*"
				} else {
					m := httpAPIMethodPath.FindStringSubmatch(s)
					if m == nil {
						hc.errorf(v, where, `httpApi event %q must be "*" or "METHOD /path" (for example "GET /users/{id}")`, s)
						return false
					}
					method, path, methodSet = m[1], m[2], true
				}
			}
			var routeKey string
			if path == "*" {
				if methodSet && method != "*" {
					hc.errorf(v, where+".path", `Invalid "path" property in function %s for httpApi event in serverless.yml`, f.Key)
					return false
				}
				routeKey = "*"
				method = "ANY"
			} else {
				if !methodSet || method == "" {
					hc.errorf(v, where, `Missing "method" property in function %s for httpApi event in serverless.yml`, f.Key)
					return false
				}
				method = strings.ToUpper(method)
				if method == "*" {
					method = "ANY"
				} else if !apiContains(httpAPIAllowedMethods, method) {
					hc.errorf(v.Get("method"), where+".method", `Invalid "method" property in function %s for httpApi event in serverless.yml`, f.Key)
					return false
				}
				routeKey = method + " " + path
				if _, dup := seen[routeKey]; dup {
					hc.errorf(v, where, "Duplicate route '%s' configuration in function %s for httpApi event in serverless.yml", routeKey, f.Key)
					return false
				}
			}
			route := &httpAPIRoute{key: routeKey, fn: f}
			if authNode.Truthy() {
				ra, scopes, ok := hc.routeAuthorizer(authNode, where+".authorizer", byName)
				if !ok {
					return false
				}
				route.authorizer, route.scopes = ra, scopes
			}
			if i, dup := seen[routeKey]; dup {
				hc.routes[i] = route // "*" may repeat; the last one wins, in place
			} else {
				seen[routeKey] = len(hc.routes)
				hc.routes = append(hc.routes, route)
			}
			if hc.fillMethods {
				if method == "ANY" {
					for _, m := range httpAPIAllowedMethods[1:] {
						if !apiContains(hc.cors.methods, m) {
							hc.cors.methods = append(hc.cors.methods, m)
						}
					}
				} else if !apiContains(hc.cors.methods, method) {
					hc.cors.methods = append(hc.cors.methods, method)
				}
			}
		}
		if hasEvents {
			timeout := f.Timeout
			if timeout > 30 {
				hc.c.Diags.Warnf(f.Pos, "functions."+f.Key+".timeout", "Function (%s) timeout setting (%d) is greater than maximum allowed timeout for HTTP API endpoint (30s). This may introduce a situation where endpoint times out for a successful lambda invocation.", f.Key, timeout)
			} else if timeout == 30 {
				hc.c.Diags.Warnf(f.Pos, "functions."+f.Key+".timeout", "Function (%s) timeout setting (%d) may not provide enough room to process an HTTP API request (of which timeout is limited to 30s). This may introduce a situation where endpoint times out for a successful lambda invocation.", f.Key, timeout)
			}
		}
	}
	return true
}

func (hc *httpAPICompiler) readAuthorizer(p config.Pair) (*httpAPIAuthorizer, bool) {
	n := p.Value
	where := "provider.httpApi.authorizers." + p.Key
	a := &httpAPIAuthorizer{
		key:               p.Key,
		name:              n.Get("name").StringOr(p.Key),
		identitySource:    n.Get("identitySource"),
		issuerURL:         apiValue(n.Get("issuerUrl")),
		typ:               n.Get("type").StringOr(""),
		functionName:      n.Get("functionName").StringOr(""),
		functionArn:       apiValue(n.Get("functionArn")),
		managedExternally: n.Get("managedExternally").Truthy(),
		resultTTL:         apiValue(n.Get("resultTtlInSeconds")),
		payloadVersion:    "2.0",
	}
	if !n.Get("name").Truthy() {
		a.name = p.Key
	}
	if aud := n.Get("audience"); aud != nil {
		if aud.Kind == config.Seq {
			for _, s := range apiUniq(apiStrings(aud)) {
				a.audience = append(a.audience, s)
			}
		} else {
			a.audience = []any{aud.Interface()}
		}
	} else {
		a.audience = []any{nil}
	}
	if esr := n.Get("enableSimpleResponses"); esr != nil {
		a.enableSimpleResponses = esr.Interface()
	}
	if pv := n.Get("payloadVersion"); pv.Truthy() {
		a.payloadVersion = pv.Interface()
	}
	if a.typ == "request" {
		if a.functionArn == nil && a.functionName == "" {
			hc.errorf(n, where, `Either "functionArn" or "functionName" property needs to be set on authorizer "%s"`, p.Key)
			return nil, false
		}
		if a.functionArn != nil && a.functionName != "" {
			hc.errorf(n, where, `Either "functionArn" or "functionName" (not both) property needs to be set on authorizer "%s"`, p.Key)
			return nil, false
		}
		if a.functionName != "" {
			a.function = hc.c.Svc.Function(a.functionName)
			if a.function == nil {
				hc.errorf(n.Get("functionName"), where+".functionName", `Function "%s" for HTTP API authorizer "%s" not found in service.`, a.functionName, p.Key)
				return nil, false
			}
		}
		if n.Get("resultTtlInSeconds").Truthy() && !n.Get("identitySource").Truthy() {
			hc.errorf(n, where, `Property "identitySource" has to be set on authorizer "%s" when "resultTtlInSeconds" is set to non-zero value.`, p.Key)
			return nil, false
		}
	}
	return a, true
}

func (hc *httpAPICompiler) routeAuthorizer(n *config.Node, where string, byName map[string]*httpAPIAuthorizer) (*httpAPIRouteAuth, []any, bool) {
	var name, typ string
	var id any
	var scopesNode *config.Node
	if n.Kind == config.Map {
		name = n.Get("name").StringOr("")
		typ = n.Get("type").StringOr("")
		id = apiValue(n.Get("id"))
		if !n.Get("id").Truthy() {
			id = nil
		}
		scopesNode = n.Get("scopes")
	} else {
		name = n.Scalar()
	}
	if typ != "aws_iam" && id == nil && name == "" {
		t := typ
		if t == "" {
			t = "jwt"
		}
		hc.errorf(n, where, `When configuring an authorizer with type: "%s", property "id" or "name" has to be specified.`, t)
		return nil, nil, false
	}
	if typ == "aws_iam" && (name != "" || id != nil || scopesNode.Truthy()) {
		hc.errorf(n, where, `When configuring authorizer with type: "aws_iam", all other properties are not supported.`)
		return nil, nil, false
	}
	ra := &httpAPIRouteAuth{typ: typ, name: name}
	switch {
	case id != nil:
		if hc.externalID == nil {
			hc.errorf(n, where, "Event references external authorizer '%v', but httpApi is part of the current stack.", id)
			return nil, nil, false
		}
		ra.id = id
	case typ == "aws_iam":
	default:
		def := byName[name]
		if def == nil {
			hc.errorf(n, where, "Event references not configured authorizer '%s'", name)
			return nil, nil, false
		}
		ra.def = def
		ra.typ = def.typ
		ra.name = def.name
	}
	var scopes []any
	if scopesNode.Truthy() {
		for _, s := range apiUniq(apiStrings(scopesNode)) {
			scopes = append(scopes, s)
		}
	}
	return ra, scopes, true
}

func (hc *httpAPICompiler) httpAPIName() string {
	if n := hc.cfg.Get("name"); n.Truthy() {
		return n.Scalar()
	}
	if hc.cfg.Get("shouldStartNameWithService").Truthy() {
		return hc.c.Svc.Name + "-" + hc.c.Svc.Stage
	}
	return hc.c.Svc.Stage + "-" + hc.c.Svc.Name
}

func (hc *httpAPICompiler) compileAPI() {
	if hc.externalID != nil {
		return
	}
	props := map[string]any{"Name": hc.httpAPIName(), "ProtocolType": "HTTP"}
	if d := hc.cfg.Get("disableDefaultEndpoint"); d != nil && d.Kind != config.Null {
		props["DisableExecuteApiEndpoint"] = d.Interface()
	}
	if tags := hc.c.Svc.Provider.Raw.Get("tags"); tags.Truthy() {
		props["Tags"] = tags.Interface()
	}
	if cors := hc.cors; cors != nil {
		cc := map[string]any{
			"AllowHeaders": apiAnyList(cors.headers),
			"AllowMethods": apiAnyList(cors.methods),
			"AllowOrigins": apiAnyList(cors.origins),
		}
		if cors.allowCredentials {
			cc["AllowCredentials"] = true
		}
		if cors.exposed != nil {
			cc["ExposeHeaders"] = apiAnyList(cors.exposed)
		}
		if cors.maxAge != nil {
			cc["MaxAge"] = cors.maxAge
		}
		props["CorsConfiguration"] = cc
	}
	hc.c.Template.AddResource(httpAPILogicalID, "AWS::ApiGatewayV2::Api", props)
}

func (hc *httpAPICompiler) compileLogGroup() {
	if hc.logFormat == "" {
		return
	}
	hc.c.Template.Resources["HttpApiLogGroup"] = apiLogGroup(hc.c, "/aws/http-api/"+hc.c.Svc.StackName())
}

func (hc *httpAPICompiler) compileStage() {
	if hc.externalID != nil {
		return
	}
	props := map[string]any{
		"ApiId":                map[string]any{"Ref": httpAPILogicalID},
		"StageName":            "$default",
		"AutoDeploy":           true,
		"DefaultRouteSettings": map[string]any{"DetailedMetricsEnabled": hc.cfg.Get("metrics").Truthy()},
	}
	if m := hc.cfg.Get("metrics"); m.Truthy() {
		props["DefaultRouteSettings"] = map[string]any{"DetailedMetricsEnabled": m.Interface()}
	}
	if tags := hc.c.Svc.Provider.Raw.Get("tags"); tags.Truthy() {
		props["Tags"] = tags.Interface()
	}
	r := hc.c.Template.AddResource("HttpApiStage", "AWS::ApiGatewayV2::Stage", props)
	if hc.logFormat != "" {
		props["AccessLogSettings"] = map[string]any{
			"DestinationArn": map[string]any{"Fn::GetAtt": []any{"HttpApiLogGroup", "Arn"}},
			"Format":         hc.logFormat,
		}
		r["DependsOn"] = "HttpApiLogGroup"
	}
	hc.c.Template.AddOutput("HttpApiId", "Id of the HTTP API", map[string]any{"Ref": httpAPILogicalID})
	hc.c.Template.AddOutput("HttpApiUrl", "URL of the HTTP API", map[string]any{"Fn::Join": []any{"", []any{
		"https://", map[string]any{"Ref": httpAPILogicalID}, ".execute-api.", map[string]any{"Ref": "AWS::Region"}, ".",
		map[string]any{"Ref": "AWS::URLSuffix"},
	}}})
}

func (hc *httpAPICompiler) compileAuthorizers() {
	for _, a := range hc.authorizers {
		var identity any
		if a.identitySource == nil || !a.identitySource.Truthy() {
			identity = []any{}
		} else if a.identitySource.Kind == config.Seq {
			identity = a.identitySource.Interface()
		} else {
			identity = []any{a.identitySource.Interface()}
		}
		props := map[string]any{"ApiId": hc.apiID(), "Name": a.name, "IdentitySource": identity}
		r := map[string]any{"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": props}
		if a.typ == "request" {
			props["AuthorizerType"] = "REQUEST"
			if a.enableSimpleResponses != nil {
				props["EnableSimpleResponses"] = a.enableSimpleResponses
			}
			if a.resultTTL != nil {
				props["AuthorizerResultTtlInSeconds"] = a.resultTTL
			}
			props["AuthorizerPayloadFormatVersion"] = a.payloadVersion
			target := a.functionArn
			if target == nil {
				target = hc.c.FunctionTarget(a.functionName)
			}
			props["AuthorizerUri"] = apiInvocationURI(target)
			if _, aliasID := hc.c.apiAlias(a.function); aliasID != "" {
				r["DependsOn"] = aliasID
			}
			if !a.managedExternally {
				hc.compileAuthorizerPermission(a, target)
			}
		} else {
			props["AuthorizerType"] = "JWT"
			props["JwtConfiguration"] = map[string]any{"Audience": a.audience, "Issuer": a.issuerURL}
		}
		hc.c.Template.Resources[HTTPAPIAuthorizerLogicalID(a.name)] = r
	}
}

func (hc *httpAPICompiler) compileAuthorizerPermission(a *httpAPIAuthorizer, target any) {
	_, aliasID := hc.c.apiAlias(a.function)
	hc.c.Template.Resources[HTTPAPIAuthorizerPermissionLogicalID(a.name)] = invokePermission(target,
		"apigateway.amazonaws.com", apiExecuteSourceArn(hc.apiID(), "/*"), aliasID)
}

func (hc *httpAPICompiler) compileEndpoints() {
	payloadDefault := "2.0"
	var providerPayload any
	if p := hc.cfg.Get("payload"); p.Truthy() {
		providerPayload = p.Interface()
	}
	for _, r := range hc.routes {
		fn := r.fn
		target := hc.c.FunctionTarget(fn.Key)
		_, aliasID := hc.c.apiAlias(fn)
		hc.c.Template.Resources[HTTPAPIPermissionLogicalID(fn.Key)] = invokePermission(target,
			"apigateway.amazonaws.com", apiExecuteSourceArn(hc.apiID(), "/*"), aliasID)

		var payload any = payloadDefault
		if p := fn.Raw.Get("httpApi").Get("payload"); p.Truthy() {
			payload = p.Interface()
		} else if providerPayload != nil {
			payload = providerPayload
		}
		integrationID := HTTPAPIIntegrationLogicalID(fn.Key)
		integration := map[string]any{
			"Type": "AWS::ApiGatewayV2::Integration",
			"Properties": map[string]any{
				"ApiId":                hc.apiID(),
				"IntegrationType":      "AWS_PROXY",
				"IntegrationUri":       target,
				"PayloadFormatVersion": payload,
				"TimeoutInMillis":      int64(30000),
			},
		}
		if aliasID != "" {
			integration["DependsOn"] = aliasID
		}
		hc.c.Template.Resources[integrationID] = integration

		routeKey := r.key
		logicalID := "HttpApiRouteDefault"
		if routeKey == "*" {
			routeKey = "$default"
		} else {
			logicalID = "HttpApiRoute" + NormalizePath(r.key)
		}
		props := map[string]any{
			"ApiId":    hc.apiID(),
			"RouteKey": routeKey,
			"Target":   map[string]any{"Fn::Join": []any{"/", []any{"integrations", map[string]any{"Ref": integrationID}}}},
		}
		if ra := r.authorizer; ra != nil {
			switch ra.typ {
			case "request":
				props["AuthorizationType"] = "CUSTOM"
			case "aws_iam":
				props["AuthorizationType"] = "AWS_IAM"
			default:
				props["AuthorizationType"] = "JWT"
			}
			if ra.typ != "aws_iam" {
				if ra.id != nil {
					props["AuthorizerId"] = ra.id
				} else {
					props["AuthorizerId"] = map[string]any{"Ref": HTTPAPIAuthorizerLogicalID(ra.name)}
				}
				if r.scopes != nil {
					props["AuthorizationScopes"] = r.scopes
				}
			}
		}
		hc.c.Template.Resources[logicalID] = map[string]any{
			"Type":       "AWS::ApiGatewayV2::Route",
			"Properties": props,
			"DependsOn":  integrationID,
		}
	}
}

func apiUniq(list []string) []string {
	var out []string
	for _, s := range list {
		if !apiContains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func apiAnyList(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}
