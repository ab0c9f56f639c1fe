package gateway

import (
	"sort"
	"strings"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// Kind says which API Gateway flavour a route belongs to.
type Kind uint8

const (
	REST    Kind = iota // `http` events: REST API, payload v1, /{stage}/path
	HTTPAPI             // `httpApi` events: HTTP API, payload 2.0 (or 1.0)
)

// Route is one http or httpApi event of a function.
type Route struct {
	Kind     Kind
	Method   string // upper case, "ANY" for every method
	Path     string // as API Gateway shows it: "/users/{id}", "/{proxy+}"; "*" is HTTP API's $default
	Function string // function key
	// Payload is "1.0" or "2.0" for HTTP API routes; REST routes are always 1.0.
	Payload    string
	CORS       *CORS
	Authorizer *Authorizer
	// Scopes a JWT authorizer must find in the token for this route.
	Scopes []string
	// Private routes need an x-api-key header (REST `private: true`).
	Private bool

	// ProxyURI, when set, makes this an HTTP_PROXY method from resources
	// (serverless-offline's --resourceRoutes): requests are forwarded there
	// and Function is empty.
	ProxyURI string

	// FunctionTimeout is the function's timeout; when it is longer than
	// API Gateway's integration timeout the gateway answers 504 first.
	FunctionTimeout time.Duration

	segments []segment
	routeKey string // HTTP API route key: "GET /users/{id}" or "$default"
}

// Integration timeouts of API Gateway: 29 s for REST APIs, 30 s for HTTP APIs.
const (
	restIntegrationTimeout    = 29 * time.Second
	httpAPIIntegrationTimeout = 30 * time.Second
)

func (r *Route) integrationTimeout() time.Duration {
	limit := restIntegrationTimeout
	if r.Kind == HTTPAPI {
		limit = httpAPIIntegrationTimeout
	}
	if r.FunctionTimeout > limit {
		return limit
	}
	return 0
}

// segment is one precompiled piece of a route path.
type segment struct {
	literal string
	param   string // name when this segment is {name} or {name+}
	greedy  bool
}

// Authorizer is a Lambda or JWT authorizer guarding a route.
type Authorizer struct {
	Name string
	// Type is "TOKEN" or "REQUEST" (Lambda) or "JWT".
	Type string
	// Function is the key of the authorizer function (Lambda authorizers).
	Function string
	// IdentitySource lists where the identity comes from, in API Gateway's
	// syntax ("method.request.header.Authorization" or "$request.header.Authorization").
	IdentitySource []string
	ResultTTL      time.Duration
	// SimpleResponses: HTTP API Lambda authorizers answering {isAuthorized, context}.
	SimpleResponses bool
	// PayloadVersion of an HTTP API Lambda authorizer's event ("1.0" or "2.0").
	PayloadVersion string
	// IssuerURL and Audience configure a JWT authorizer.
	IssuerURL string
	Audience  []string
}

// CORS is a route's CORS configuration.
type CORS struct {
	Origins          []string
	Headers          []string
	Methods          []string
	ExposedHeaders   []string
	AllowCredentials bool
	MaxAge           int
	// OwnOrigins and OwnHeaders say the event named its origins or
	// headers; otherwise serverless-offline's --corsAllowOrigin and
	// --corsAllowHeaders may stand in for API Gateway's defaults.
	OwnOrigins, OwnHeaders bool
}

// defaultCORSHeaders are the headers serverless v3 allows with `cors: true`.
var defaultCORSHeaders = []string{"Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "X-Amz-Security-Token", "X-Amz-User-Agent", "X-Amzn-Trace-Id"}

// RoutesFromService reads every http and httpApi event of the service.
// Settings Nimbus cannot honour locally (IAM or Cognito authorizers,
// authorizers in another account) become warnings, never silent no-ops.
func RoutesFromService(svc *service.Service) ([]*Route, diag.Diagnostics) {
	var ds diag.Diagnostics
	var routes []*Route
	prov := svc.Provider.Raw
	httpAPI := prov.Get("httpApi")
	defaultPayload := "2.0"
	if v := httpAPI.Get("payload").Scalar0(); v != "" {
		defaultPayload = v
	}
	httpAPICORS := corsFromHTTPAPI(httpAPI.Get("cors"))
	for _, fn := range svc.Functions {
		for _, ev := range fn.Events {
			path := "functions." + fn.Key + ".events." + itoa(ev.Index) + "." + ev.Type
			switch ev.Type {
			case "http":
				r := restRoute(fn, ev, path, &ds)
				if r != nil {
					routes = append(routes, r)
				}
			case "httpApi":
				r := httpAPIRoute(svc, fn, ev, path, defaultPayload, &ds)
				if r != nil {
					r.CORS = httpAPICORS
					routes = append(routes, r)
				}
			}
		}
	}
	// A Lambda authorizer must name a function of this service; on AWS a
	// typo fails the deploy, locally it would fail every request.
	for _, fn := range svc.Functions {
		for _, ev := range fn.Events {
			if ev.Type != "http" {
				continue
			}
			a := ev.Value.Get("authorizer")
			name := a.Get("name").Scalar0()
			if s, ok := a.Str(); ok {
				name = s
			}
			if name == "" || strings.HasPrefix(name, "arn:") || strings.EqualFold(name, "aws_iam") || a.Get("arn") != nil {
				continue
			}
			if t := strings.ToUpper(a.Get("type").Scalar0()); t == "AWS_IAM" || t == "COGNITO_USER_POOLS" {
				continue
			}
			if svc.Function(name) == nil {
				ds.Errorf(a.Pos, "functions."+fn.Key+".events."+itoa(ev.Index)+".http.authorizer", "authorizer %q is not a function of this service", name)
			}
		}
	}
	for _, r := range routes {
		if r.Authorizer != nil && r.Authorizer.Function != "" && r.Kind == HTTPAPI && svc.Function(r.Authorizer.Function) == nil {
			ds.Errorf(svc.Provider.Raw.Lookup("httpApi", "authorizers", r.Authorizer.Name).Pos, "provider.httpApi.authorizers."+r.Authorizer.Name+".functionName", "%q is not a function of this service", r.Authorizer.Function)
		}
	}
	for _, r := range routes {
		r.FunctionTimeout = time.Duration(svc.Function(r.Function).Timeout) * time.Second
		r.segments = compilePath(r.Path)
		if r.Kind == HTTPAPI {
			if r.Path == "*" {
				r.routeKey = "$default"
			} else {
				m := r.Method
				if m == "ANY" {
					m = "ANY"
				}
				r.routeKey = m + " " + r.Path
			}
		}
	}
	return routes, ds
}

func restRoute(fn *service.Function, ev service.Event, path string, ds *diag.Diagnostics) *Route {
	r := &Route{Kind: REST, Function: fn.Key, Payload: "1.0"}
	v := ev.Value
	if s, ok := v.Str(); ok {
		method, p, _ := strings.Cut(strings.TrimSpace(s), " ")
		r.Method, r.Path = method, strings.TrimSpace(p)
	} else if v != nil && v.Kind == config.Map {
		r.Method = v.Get("method").Scalar0()
		r.Path = v.Get("path").Scalar0()
		if integ := strings.ToLower(v.Get("integration").Scalar0()); integ != "" && integ != "lambda-proxy" && integ != "aws_proxy" {
			ds.Warnf(v.Get("integration").Pos, path+".integration", "integration %q runs as lambda-proxy in nimbus dev", integ)
		}
		r.Private = v.Get("private").Truthy()
		if c := v.Get("cors"); c != nil {
			r.CORS = corsFromREST(c)
		}
		if a := v.Get("authorizer"); a != nil {
			r.Authorizer = restAuthorizer(a, path+".authorizer", ds)
		}
	} else {
		ds.Errorf(ev.Pos, path, "http event must be a string like \"GET /path\" or an object with method and path")
		return nil
	}
	r.Method = normMethod(r.Method)
	r.Path = normPath(r.Path)
	return r
}

func httpAPIRoute(svc *service.Service, fn *service.Function, ev service.Event, path, defPayload string, ds *diag.Diagnostics) *Route {
	r := &Route{Kind: HTTPAPI, Function: fn.Key, Payload: defPayload}
	v := ev.Value
	var spec string
	if s, ok := v.Str(); ok {
		spec = strings.TrimSpace(s)
	} else if v != nil && v.Kind == config.Map {
		m, p := v.Get("method").Scalar0(), v.Get("path").Scalar0()
		if m == "" && p == "" {
			spec = "*"
		} else {
			spec = m + " " + p
		}
		if pv := v.Get("payload").Scalar0(); pv != "" {
			r.Payload = pv
		}
		if a := v.Get("authorizer"); a != nil {
			r.Authorizer, r.Scopes = httpAPIAuthorizer(svc, a, path+".authorizer", ds)
		}
	} else {
		ds.Errorf(ev.Pos, path, "httpApi event must be \"*\", a string like \"GET /path\" or an object with method and path")
		return nil
	}
	if spec == "*" {
		r.Method, r.Path = "ANY", "*"
		return r
	}
	method, p, _ := strings.Cut(spec, " ")
	r.Method = normMethod(method)
	r.Path = normPath(strings.TrimSpace(p))
	return r
}

func restAuthorizer(a *config.Node, path string, ds *diag.Diagnostics) *Authorizer {
	au := &Authorizer{Type: "TOKEN", IdentitySource: []string{"method.request.header.Authorization"}, ResultTTL: 300 * time.Second}
	if s, ok := a.Str(); ok {
		if strings.EqualFold(s, "aws_iam") || strings.HasPrefix(s, "arn:") {
			ds.Warnf(a.Pos, path, "authorizer %q cannot run locally; the route is served without it", s)
			return nil
		}
		au.Name, au.Function = s, s
		return au
	}
	if t := strings.ToUpper(a.Get("type").Scalar0()); t != "" {
		au.Type = t
	}
	if au.Type == "AWS_IAM" || au.Type == "COGNITO_USER_POOLS" || a.Get("arn") != nil {
		ds.Warnf(a.Pos, path, "IAM, Cognito and ARN authorizers cannot run locally; the route is served without it")
		return nil
	}
	au.Name = a.Get("name").Scalar0()
	au.Function = au.Name
	if ttl, ok := a.Get("resultTtlInSeconds").Int(); ok {
		au.ResultTTL = time.Duration(ttl) * time.Second
	}
	if is := a.Get("identitySource").Scalar0(); is != "" {
		au.IdentitySource = splitList(is)
	} else if au.Type == "REQUEST" {
		au.IdentitySource = nil
	}
	return au
}

func httpAPIAuthorizer(svc *service.Service, a *config.Node, path string, ds *diag.Diagnostics) (*Authorizer, []string) {
	name := a.Get("name").Scalar0()
	if s, ok := a.Str(); ok {
		name = s
	}
	scopes := strList(a.Get("scopes"))
	if strings.EqualFold(a.Get("type").Scalar0(), "aws_iam") || a.Get("id") != nil {
		ds.Warnf(a.Pos, path, "IAM and external authorizers cannot run locally; the route is served without it")
		return nil, nil
	}
	def := svc.Provider.Raw.Lookup("httpApi", "authorizers", name)
	if def == nil {
		ds.Errorf(a.Pos, path, "authorizer %q is not defined in provider.httpApi.authorizers", name)
		return nil, nil
	}
	au := &Authorizer{Name: name, Type: "JWT", IdentitySource: []string{"$request.header.Authorization"}, PayloadVersion: "2.0"}
	if strings.EqualFold(def.Get("type").Scalar0(), "request") {
		au.Type = "REQUEST"
		au.Function = def.Get("functionName").Scalar0()
		if au.Function == "" {
			ds.Warnf(def.Pos, "provider.httpApi.authorizers."+name, "a request authorizer without functionName cannot run locally; the route is served without it")
			return nil, nil
		}
		au.SimpleResponses = def.Get("enableSimpleResponses").Truthy()
		if pv := def.Get("payloadVersion").Scalar0(); pv != "" {
			au.PayloadVersion = pv
		}
		if ttl, ok := def.Get("resultTtlInSeconds").Int(); ok {
			au.ResultTTL = time.Duration(ttl) * time.Second
		}
		au.IdentitySource = nil
	} else {
		au.IssuerURL = def.Get("issuerUrl").Scalar0()
		au.Audience = strList(def.Get("audience"))
	}
	if is := def.Get("identitySource"); is != nil {
		au.IdentitySource = nil
		for _, s := range strList(is) {
			au.IdentitySource = append(au.IdentitySource, splitList(s)...)
		}
	}
	return au, scopes
}

func corsFromREST(c *config.Node) *CORS {
	if c.Kind == config.Bool || c.Kind == config.String {
		if !c.Truthy() {
			return nil
		}
		return &CORS{Origins: []string{"*"}, Headers: defaultCORSHeaders, Methods: []string{"OPTIONS"}}
	}
	out := &CORS{Origins: []string{"*"}, Headers: defaultCORSHeaders}
	if o := c.Get("origin").Scalar0(); o != "" {
		out.Origins, out.OwnOrigins = []string{o}, true
	}
	if os := strList(c.Get("origins")); len(os) > 0 {
		out.Origins, out.OwnOrigins = os, true
	}
	if h := strList(c.Get("headers")); len(h) > 0 {
		out.Headers, out.OwnHeaders = h, true
	}
	out.AllowCredentials = c.Get("allowCredentials").Truthy()
	if m, ok := c.Get("maxAge").Int(); ok {
		out.MaxAge = int(m)
	}
	return out
}

func corsFromHTTPAPI(c *config.Node) *CORS {
	if c == nil {
		return nil
	}
	if c.Kind != config.Map {
		if !c.Truthy() {
			return nil
		}
		return &CORS{Origins: []string{"*"}, Headers: defaultCORSHeaders, Methods: []string{"OPTIONS", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}}
	}
	out := &CORS{Origins: []string{"*"}, Headers: defaultCORSHeaders, Methods: []string{"OPTIONS", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}}
	if o := strList(c.Get("allowedOrigins")); len(o) > 0 {
		out.Origins = o
	}
	if h := strList(c.Get("allowedHeaders")); len(h) > 0 {
		out.Headers = h
	}
	if m := strList(c.Get("allowedMethods")); len(m) > 0 {
		out.Methods = m
	}
	out.ExposedHeaders = strList(c.Get("exposedResponseHeaders"))
	out.AllowCredentials = c.Get("allowCredentials").Truthy()
	if m, ok := c.Get("maxAge").Int(); ok {
		out.MaxAge = int(m)
	}
	return out
}

func strList(n *config.Node) []string {
	if n == nil {
		return nil
	}
	if s, ok := n.Str(); ok {
		return []string{s}
	}
	var out []string
	for _, it := range n.Items {
		out = append(out, it.Scalar0())
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func normMethod(m string) string {
	m = strings.ToUpper(strings.TrimSpace(m))
	if m == "*" || m == "" {
		return "ANY"
	}
	return m
}

func normPath(p string) string {
	p = strings.TrimSpace(p)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	return p
}

func compilePath(p string) []segment {
	if p == "*" {
		return []segment{{param: "proxy", greedy: true}}
	}
	var segs []segment
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if s == "" {
			continue
		}
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			name := s[1 : len(s)-1]
			if strings.HasSuffix(name, "+") {
				segs = append(segs, segment{param: name[:len(name)-1], greedy: true})
			} else {
				segs = append(segs, segment{param: name})
			}
			continue
		}
		segs = append(segs, segment{literal: s})
	}
	return segs
}

// SortRoutes orders routes for display: by path, then method.
func SortRoutes(routes []*Route) {
	sort.SliceStable(routes, func(i, j int) bool {
		if routes[i].Kind != routes[j].Kind {
			return routes[i].Kind < routes[j].Kind
		}
		if routes[i].Path != routes[j].Path {
			return routes[i].Path < routes[j].Path
		}
		return routes[i].Method < routes[j].Method
	})
}

func itoa(i int) string {
	return string(appendInt(nil, int64(i)))
}
