package aws

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// This file and the other apigateway_*.go files compile `http` events into
// a REST API (API Gateway v1) the way serverless v3's api-gateway plugin
// does: validate and normalise every event first, then build the API,
// resources, CORS preflights, methods, validators, authorizers, deployment,
// API keys, usage plans, permissions and stage logging, in that order,
// because later steps read ids the earlier ones recorded.

func init() { registerEvent(100, compileRestAPI, "http") }

const restAPILogicalID = "ApiGatewayRestApi"

// restEvent is one `http` event after v3's validate(): path without
// surrounding slashes, lower-case method, normalised integration type and
// request/response blocks reduced to what that integration keeps.
type restEvent struct {
	fn    *service.Function
	ev    service.Event
	where string // key path of the event, for diagnostics

	path        string
	method      string // lower case
	integration string // AWS, AWS_PROXY, HTTP, HTTP_PROXY or MOCK
	async       bool
	private     bool
	operationID any

	cors *restCors
	auth *restAuthorizer

	// request is nil when the event has none (or none survives the
	// integration's filtering).
	request  *restRequest
	response *restResponse

	connectionType string
	connectionID   any
}

type restParam struct {
	key   string       // method.request.querystring.name
	value *config.Node // true/false or {required, mappedValue}
}

type restRequest struct {
	params          []restParam
	hasParams       bool
	passThrough     any
	contentHandling any
	template        *config.Node
	schemas         *config.Node
	uri             any
	method          string
}

type restStatusCode struct {
	code       string
	pattern    string
	patternSet bool
	headers    *config.Node
	template   *config.Node
}

type restResponse struct {
	headers         *config.Node
	template        any
	contentHandling any
	statusCodes     []restStatusCode
}

// restCompiler carries the state v3 keeps on its plugin object between steps.
type restCompiler struct {
	c         *Context
	apiConfig *config.Node // provider.apiGateway
	events    []*restEvent
	preflight []*restPreflight

	resources       map[string]*restResourceNode
	methodIDs       []string
	deploymentID    string
	usagePlanNames  []string
	validatorID     string
	permissionOrder []*restEvent
}

// v3's default lambda integration responses: a status per "[code]" marker in
// the error message.
var restDefaultStatusCodes = []restStatusCode{
	{code: "200", pattern: ""},
	{code: "400", pattern: `[\s\S]*\[400\][\s\S]*`},
	{code: "401", pattern: `[\s\S]*\[401\][\s\S]*`},
	{code: "403", pattern: `[\s\S]*\[403\][\s\S]*`},
	{code: "404", pattern: `[\s\S]*\[404\][\s\S]*`},
	{code: "422", pattern: `[\s\S]*\[422\][\s\S]*`},
	{code: "500", pattern: `[\s\S]*(Process\s?exited\s?before\s?completing\s?request|\[500\])[\s\S]*`},
	{code: "502", pattern: `[\s\S]*\[502\][\s\S]*`},
	{code: "504", pattern: `([\s\S]*\[504\][\s\S]*)|(.*Task timed out after \d+\.\d+ seconds$)`},
}

var restAllowedMethods = []string{"GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD", "DELETE", "ANY"}

var restStageNamePattern = regexp.MustCompile(`^[-_a-zA-Z0-9]+$`)

func compileRestAPI(c *Context) {
	rc := &restCompiler{c: c, apiConfig: c.Svc.Provider.Raw.Get("apiGateway")}
	if !rc.validate() {
		return
	}
	if len(rc.events) == 0 {
		return
	}
	rc.compileRestAPIResource()
	if !rc.compileResources() {
		return
	}
	rc.compileCors()
	rc.compileMethods()
	rc.compileRequestValidators()
	rc.compileAuthorizers()
	rc.compileDeployment()
	rc.compileAPIKeys()
	rc.compileUsagePlans()
	rc.compileUsagePlanKeys()
	rc.compilePermissions()
	rc.compileStage()
}

// restAPIID is what every resource points at: the external API when
// provider.apiGateway.restApiId is set, else the compiled one.
func (rc *restCompiler) restAPIID() any {
	if id := rc.apiConfig.Get("restApiId"); id.Truthy() {
		return id.Interface()
	}
	return map[string]any{"Ref": restAPILogicalID}
}

func (rc *restCompiler) rootResourceID() any {
	if id := rc.apiConfig.Get("restApiRootResourceId"); id.Truthy() {
		return id.Interface()
	}
	return map[string]any{"Fn::GetAtt": []any{restAPILogicalID, "RootResourceId"}}
}

// mergeResource adds a resource the way v3's _.merge into Resources does:
// a second event compiling to the same logical ID (a shared authorizer, a
// path's OPTIONS method) merges into the first instead of replacing it.
func (rc *restCompiler) mergeResource(id, typ string, props map[string]any, dependsOn any) {
	r := map[string]any{"Type": typ, "Properties": props}
	if dependsOn != nil {
		r["DependsOn"] = dependsOn
	}
	if old, ok := rc.c.Template.Resources[id].(map[string]any); ok {
		rc.c.Template.Resources[id] = cfn.Merge(old, r)
		return
	}
	rc.c.Template.Resources[id] = r
}

func (rc *restCompiler) errorf(pos diag.Pos, path, format string, args ...any) {
	rc.c.Diags.Errorf(pos, path, format, args...)
}

func (rc *restCompiler) warnf(pos diag.Pos, path, format string, args ...any) {
	rc.c.Diags.Warnf(pos, path, format, args...)
}

// validate mirrors v3's validate(): it reports the same configuration
// errors and normalises every http event.
func (rc *restCompiler) validate() bool {
	prov := rc.c.Svc.Provider.Raw
	ok := true
	if rc.apiConfig.Get("restApiId").Truthy() {
		if !rc.apiConfig.Get("restApiRootResourceId").Truthy() {
			p := rc.apiConfig.Pair("restApiId")
			rc.errorf(p.KeyPos, "provider.apiGateway.restApiId",
				`Missing required "provider.apiGateway.restApiRootResourceId" property (needed if "provider.apiGateway.restApiId" is provided)`)
			ok = false
		}
		if t := prov.Get("tracing").Get("apiGateway"); t != nil && t.Kind != config.Null {
			rc.errorf(t.Pos, "provider.tracing.apiGateway",
				`When external API Gateway resource is imported via "provider.apiGateway.restApiId", property "provider.tracing.apiGateway" is ineffective.`)
			ok = false
		}
		if l := prov.Get("logs").Get("restApi"); l != nil && l.Kind != config.Null {
			rc.errorf(l.Pos, "provider.logs.restApi",
				`When external API Gateway resource is imported via "provider.apiGateway.restApiId", property "provider.logs.restApi" is ineffective.`)
			ok = false
		}
	}
	preflightByPath := map[string]*restPreflight{}
	for _, fe := range rc.c.EventsOf("http") {
		e, good := rc.normalizeEvent(fe)
		if !good {
			ok = false
			continue
		}
		if e.cors != nil {
			pf := preflightByPath[e.path]
			if pf == nil {
				pf = &restPreflight{path: e.path}
				preflightByPath[e.path] = pf
				rc.preflight = append(rc.preflight, pf)
			}
			pf.merge(e.cors)
		}
		if !restStageNamePattern.MatchString(rc.c.Svc.Stage) {
			pos, path := e.ev.Pos, e.where
			if st := prov.Get("stage"); st != nil && rc.c.Svc.Options["stage"] == "" {
				pos, path = st.Pos, "provider.stage"
			}
			rc.errorf(pos, path, "Invalid stage name %s: it should contains only [-_a-zA-Z0-9] for AWS provider if http event are present according to API Gateway limitation.", rc.c.Svc.Stage)
			return false
		}
		rc.events = append(rc.events, e)
	}
	return ok
}

func (rc *restCompiler) normalizeEvent(fe FunctionEvent) (*restEvent, bool) {
	v := fe.Event.Value
	e := &restEvent{fn: fe.Function, ev: fe.Event,
		where: fmt.Sprintf("functions.%s.events[%d].http", fe.Function.Key, fe.Event.Index)}
	var obj *config.Node
	switch {
	case v != nil && v.Kind == config.String:
		s, _ := v.Str()
		// v3 splits on single spaces and keeps the first two fields
		fields := strings.Split(s, " ")
		if len(fields) < 2 {
			rc.errorf(v.Pos, e.where, `http event %q must be "METHOD path" (for example "GET users/{id}") or an object with path and method`, s)
			return nil, false
		}
		e.method, e.path = fields[0], fields[1]
		obj = config.NewMap(v.Pos)
	case v != nil && v.Kind == config.Map:
		obj = v
		path, okp := v.Get("path").Str()
		method, okm := v.Get("method").Str()
		if !okp || !okm {
			rc.errorf(v.Pos, e.where, `http event needs "path" and "method"`)
			return nil, false
		}
		e.path, e.method = path, method
	default:
		pos := fe.Event.Pos
		if v != nil {
			pos = v.Pos
		}
		rc.errorf(pos, e.where, `http event must be "METHOD path" or an object with path and method`)
		return nil, false
	}
	e.path = strings.TrimSuffix(strings.TrimPrefix(e.path, "/"), "/")
	e.method = strings.ToLower(e.method)
	if !apiContains(restAllowedMethods, strings.ToUpper(e.method)) {
		// v3 only warns (schema) and then writes a logical ID CloudFormation rejects
		pos := v.Pos
		if m := v.Get("method"); m != nil {
			pos = m.Pos
		}
		rc.errorf(pos, e.where, "Invalid http method %q: use one of %s", e.method, strings.Join(restAllowedMethods, ", "))
		return nil, false
	}
	e.async = obj.Get("async").Truthy()
	e.private = obj.Get("private").Truthy()
	if op := obj.Get("operationId"); op != nil {
		e.operationID = op.Interface()
	}
	e.integration = restIntegrationType(obj)

	if a := obj.Get("authorizer"); a.Truthy() {
		auth, ok := rc.normalizeAuthorizer(e, a)
		if !ok {
			return nil, false
		}
		e.auth = auth
	}
	if cn := obj.Get("cors"); cn.Truthy() {
		e.cors = normalizeCors(cn, e.method)
	}

	req := obj.Get("request")
	resp := obj.Get("response")
	switch e.integration {
	case "HTTP", "HTTP_PROXY":
		if !req.Get("uri").Truthy() {
			rc.errorf(obj.Pos, e.where, "You need to set the request uri when using the %s integration.", e.integration)
			return nil, false
		}
		if ct, ok := obj.Get("connectionType").Str(); ok && ct != "" {
			e.connectionType = strings.Replace(strings.ToUpper(ct), "-", "_", 1)
		}
		if cid := obj.Get("connectionId"); cid != nil {
			e.connectionID = cid.Interface()
		}
		if e.connectionType == "VPC_LINK" && !obj.Get("connectionId").Truthy() {
			rc.errorf(obj.Pos, e.where, "You need to set connectionId when using %s connectionType.", e.connectionType)
			return nil, false
		}
	}
	switch e.integration {
	case "AWS", "HTTP":
		e.request = normalizeRequest(req, true)
		if pt := req.Get("passThrough"); pt.Truthy() {
			e.request.passThrough = pt.Interface()
		} else if e.integration == "AWS" {
			e.request.passThrough = "NEVER"
		} else {
			e.request.passThrough = nil
		}
		e.response = normalizeResponse(resp)
		if e.integration == "AWS" && e.response == nil {
			e.response = &restResponse{statusCodes: restDefaultStatusCodes}
		}
		if e.response == nil {
			// v3 keeps an empty response object here; without status codes
			// it produces no integration responses.
			e.response = &restResponse{}
		}
	case "AWS_PROXY", "HTTP_PROXY":
		if req != nil && req.Kind == config.Map {
			allowed := map[string]bool{"parameters": true, "schema": true, "schemas": true}
			if e.integration == "HTTP_PROXY" {
				allowed["uri"] = true
			}
			kept := config.NewMap(req.Pos)
			var dropped bool
			for _, p := range req.Pairs {
				if allowed[p.Key] {
					kept.Pairs = append(kept.Pairs, p)
				} else {
					dropped = true
				}
			}
			if dropped {
				var names []string
				for _, k := range []string{"parameters", "uri", "schema", "schemas"} {
					if allowed[k] {
						names = append(names, "request."+k)
					}
				}
				rc.warnf(req.Pos, e.where+".request",
					"You're using the %s in combination with a request configuration in your function %q. Only the %s configs are available in conjunction with %s. Serverless will remove this configuration automatically before deployment.",
					e.integration, fe.Function.Key, strings.Join(names, ", "), e.integration)
			}
			if len(kept.Pairs) > 0 {
				e.request = normalizeRequest(kept, true)
			}
		}
		if resp != nil {
			rc.warnf(resp.Pos, e.where+".response",
				"You're using the %s in combination with response configuration in your function %q. Serverless will remove this configuration automatically before deployment.",
				e.integration, fe.Function.Key)
		}
	default: // MOCK keeps request and response exactly as written
		if req != nil {
			e.request = normalizeRequest(req, false)
		}
		if resp != nil && resp.Kind == config.Map {
			e.response = &restResponse{headers: resp.Get("headers"), contentHandling: apiValue(resp.Get("contentHandling"))}
			if t := resp.Get("template"); t != nil {
				e.response.template = t.Interface()
			}
			e.response.statusCodes = statusCodesOf(resp.Get("statusCodes"))
		}
	}
	return e, true
}

func apiValue(n *config.Node) any {
	if n == nil {
		return nil
	}
	return n.Interface()
}

// restIntegrationType is getIntegration: the user's integration upper-cased
// with lambda aliases mapped, else AWS for async events, else AWS_PROXY.
func restIntegrationType(obj *config.Node) string {
	if s, ok := obj.Get("integration").Str(); ok && s != "" {
		n := strings.Replace(strings.ToUpper(s), "-", "_", 1)
		switch n {
		case "LAMBDA":
			return "AWS"
		case "LAMBDA_PROXY":
			return "AWS_PROXY"
		}
		return n
	}
	if obj.Get("async").Truthy() {
		return "AWS"
	}
	return "AWS_PROXY"
}

// normalizeRequest copies the request block; with expand, parameters are
// renamed to method.request.<location>.<name> as v3's getRequest does.
func normalizeRequest(req *config.Node, expand bool) *restRequest {
	r := &restRequest{}
	if req == nil || req.Kind != config.Map {
		return r
	}
	if params := req.Get("parameters"); params.Truthy() {
		r.hasParams = true
		if expand {
			for _, loc := range []string{"querystrings", "paths", "headers"} {
				singular := strings.TrimSuffix(loc, "s")
				for _, p := range apiPairs(params.Get(loc)) {
					r.params = append(r.params, restParam{key: "method.request." + singular + "." + p.Key, value: p.Value})
				}
			}
		} else {
			for _, p := range params.Pairs {
				r.params = append(r.params, restParam{key: p.Key, value: p.Value})
			}
		}
	}
	r.passThrough = apiValue(req.Get("passThrough"))
	r.contentHandling = apiValue(req.Get("contentHandling"))
	r.template = req.Get("template")
	r.schemas = req.Get("schemas")
	r.uri = apiValue(req.Get("uri"))
	r.method = req.Get("method").StringOr("")
	return r
}

// normalizeResponse is getResponse: nil without a response block; status
// codes default to v3's set, and a 200 with an empty pattern is added when
// no code catches everything.
func normalizeResponse(resp *config.Node) *restResponse {
	if resp == nil || resp.Kind != config.Map {
		return nil
	}
	r := &restResponse{headers: resp.Get("headers"), contentHandling: apiValue(resp.Get("contentHandling"))}
	if t := resp.Get("template"); t != nil {
		r.template = t.Interface()
	}
	if sc := resp.Get("statusCodes"); sc.Truthy() {
		r.statusCodes = statusCodesOf(sc)
		catchAll := false
		for _, s := range r.statusCodes {
			if s.pattern == "" && s.patternSet {
				catchAll = true
			}
		}
		if !catchAll {
			r.statusCodes = upsertStatus(r.statusCodes, restDefaultStatusCodes[0])
		}
	} else {
		r.statusCodes = restDefaultStatusCodes
	}
	return r
}

func upsertStatus(codes []restStatusCode, s restStatusCode) []restStatusCode {
	out := append([]restStatusCode(nil), codes...)
	for i := range out {
		if out[i].code == s.code {
			out[i] = s
			return sortStatusCodes(out)
		}
	}
	return sortStatusCodes(append(out, s))
}

// statusCodesOf reads statusCodes in JavaScript object order: integer keys
// ascending first, then the rest in source order.
func statusCodesOf(n *config.Node) []restStatusCode {
	var out []restStatusCode
	if n == nil {
		return nil
	}
	for _, p := range n.Pairs {
		s := restStatusCode{code: p.Key, headers: p.Value.Get("headers"), template: p.Value.Get("template")}
		if pat := p.Value.Get("pattern"); pat != nil {
			s.pattern = pat.StringOr(pat.Scalar())
			s.patternSet = true
		}
		out = append(out, s)
	}
	return sortStatusCodes(out)
}

func sortStatusCodes(codes []restStatusCode) []restStatusCode {
	sort.SliceStable(codes, func(i, j int) bool {
		a, aerr := apiArrayIndex(codes[i].code)
		b, berr := apiArrayIndex(codes[j].code)
		switch {
		case aerr && berr:
			return a < b
		case aerr:
			return true
		}
		return false
	})
	return codes
}

// jsArrayIndex reports whether a key is one JavaScript orders numerically
// (a canonical non-negative integer).
func apiArrayIndex(k string) (int64, bool) {
	n, err := strconv.ParseInt(k, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != k {
		return 0, false
	}
	return n, true
}

// apiPairs and apiItems read a map's pairs or a list's items, nil-safe.
func apiPairs(n *config.Node) []config.Pair {
	if n == nil || n.Kind != config.Map {
		return nil
	}
	return n.Pairs
}

func apiItems(n *config.Node) []*config.Node {
	if n == nil || n.Kind != config.Seq {
		return nil
	}
	return n.Items
}
