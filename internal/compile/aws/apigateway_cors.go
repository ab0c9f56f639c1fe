package aws

import (
	"sort"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

var restDefaultCorsHeaders = []string{
	"Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key",
	"X-Amz-Security-Token", "X-Amz-User-Agent", "X-Amzn-Trace-Id",
}

// restCors is one event's cors setting after v3's getCors.
type restCors struct {
	origin           *string // nil when the user gave origins and no origin
	origins          []string
	headers          []string
	methods          []string
	allowCredentials bool
	maxAge           *config.Node
	cacheControl     string
}

// restPreflight is the OPTIONS method of one path, merged from every event
// on that path that enables cors.
type restPreflight struct {
	path             string
	origin           *string
	origins          []string
	headers          []string
	methods          []string
	allowCredentials bool
	maxAge           *config.Node
	cacheControl     string
}

func normalizeCors(n *config.Node, method string) *restCors {
	star := "*"
	c := &restCors{origin: &star, methods: []string{"OPTIONS"}, headers: restDefaultCorsHeaders}
	upper := strings.ToUpper(method)
	if n.Kind != config.Map {
		c.methods = append(c.methods, upper)
		return c
	}
	if n.Has("origins") {
		c.origin = nil
		c.origins = apiStrings(n.Get("origins"))
	}
	if o := n.Get("origin"); o != nil {
		s := o.Scalar()
		c.origin = &s
	}
	c.methods = apiStrings(n.Get("methods"))
	c.allowCredentials = n.Get("allowCredentials").Truthy()
	if h := n.Get("headers"); h.Truthy() {
		if s, ok := h.Str(); ok {
			c.headers = []string{s}
		} else {
			c.headers = apiStrings(h)
		}
	}
	if m := n.Get("maxAge"); m != nil {
		c.maxAge = m
	}
	c.cacheControl = n.Get("cacheControl").StringOr("")
	if !apiContains(c.methods, "OPTIONS") {
		c.methods = append(c.methods, "OPTIONS")
	}
	if !apiContains(c.methods, upper) {
		c.methods = append(c.methods, upper)
	}
	return c
}

// merge folds one event's cors into the path's preflight the way v3 does:
// lodash union with the newer event's values first, the last origin,
// maxAge and cacheControl winning.
func (p *restPreflight) merge(c *restCors) {
	p.headers = apiUnion(c.headers, p.headers)
	p.methods = apiUnion(c.methods, p.methods)
	p.origins = apiUnion(c.origins, p.origins)
	p.origin = c.origin
	p.allowCredentials = p.allowCredentials || c.allowCredentials
	if c.maxAge.Truthy() {
		p.maxAge = c.maxAge
	}
	if c.cacheControl != "" {
		p.cacheControl = c.cacheControl
	}
}

func (rc *restCompiler) compileCors() {
	// v3 keeps preflights in an object keyed by path: integer-like paths
	// ("2024") come first in ascending order, the rest as first seen
	sort.SliceStable(rc.preflight, func(i, j int) bool {
		a, aInt := apiArrayIndex(rc.preflight[i].path)
		b, bInt := apiArrayIndex(rc.preflight[j].path)
		if aInt && bInt {
			return a < b
		}
		return aInt && !bInt
	})
	for _, pf := range rc.preflight {
		resourceName := rc.resourceName(pf.path)
		id := MethodLogicalID(resourceName, "options")
		origin := "undefined"
		if pf.origin != nil {
			origin = *pf.origin
		}
		origins := pf.origins
		if strings.Contains(origin, ",") {
			origins = nil
			for _, o := range strings.Split(origin, ",") {
				origins = append(origins, strings.TrimSpace(o))
			}
		}
		if len(origins) > 0 {
			origin = origins[0]
		}
		type header struct{ name, value string }
		headers := []header{
			{"Access-Control-Allow-Origin", "'" + origin + "'"},
			{"Access-Control-Allow-Headers", "'" + strings.Join(pf.headers, ",") + "'"},
			{"Access-Control-Allow-Methods", "'" + strings.Join(pf.methods, ",") + "'"},
		}
		if pf.allowCredentials {
			headers = append(headers, header{"Access-Control-Allow-Credentials", "'true'"})
		}
		if pf.maxAge.Truthy() {
			headers = append(headers, header{"Access-Control-Max-Age", "'" + pf.maxAge.Scalar() + "'"})
		}
		if pf.cacheControl != "" {
			headers = append(headers, header{"Cache-Control", "'" + pf.cacheControl + "'"})
		}
		if apiContains(pf.methods, "ANY") {
			headers[2].value = strings.Replace(headers[2].value, "ANY", "DELETE,GET,HEAD,PATCH,POST,PUT", 1)
		}
		rc.methodIDs = append(rc.methodIDs, id)

		methodParams := map[string]any{}
		integrationParams := map[string]any{}
		for _, h := range headers {
			methodParams["method.response.header."+h.name] = true
			integrationParams["method.response.header."+h.name] = h.value
		}
		template := ""
		if len(origins) > 0 {
			template = corsResponseTemplate(origins)
		}
		rc.mergeResource(id, "AWS::ApiGateway::Method", map[string]any{
			"AuthorizationType": "NONE",
			"HttpMethod":        "OPTIONS",
			"MethodResponses": []any{map[string]any{
				"StatusCode": "200", "ResponseParameters": methodParams, "ResponseModels": map[string]any{},
			}},
			"RequestParameters": map[string]any{},
			"Integration": map[string]any{
				"Type":             "MOCK",
				"RequestTemplates": map[string]any{"application/json": "{statusCode:200}"},
				"ContentHandling":  "CONVERT_TO_TEXT",
				"IntegrationResponses": []any{map[string]any{
					"StatusCode":         "200",
					"ResponseParameters": integrationParams,
					"ResponseTemplates":  map[string]any{"application/json": template},
				}},
			},
			"ResourceId": rc.resourceID(pf.path),
			"RestApiId":  rc.restAPIID(),
		}, nil)
	}
}

// corsResponseTemplate echoes the request's Origin back when it matches one
// of several allowed origins (globs turned into Java regexes).
func corsResponseTemplate(origins []string) string {
	var conds []string
	for _, o := range origins {
		re := strings.Replace(strings.ReplaceAll(o, ".", "[.]"), "*", ".+", 1)
		conds = append(conds, `$origin.matches("`+re+`")`)
	}
	return "#set($origin = $input.params(\"Origin\"))\n" +
		"#if($origin == \"\") #set($origin = $input.params(\"origin\")) #end\n" +
		"#if(" + strings.Join(conds, " || ") + ") #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin) #end"
}

// stringList reads a sequence of scalars (or one scalar) as strings.
func apiStrings(n *config.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind != config.Seq {
		if n.Kind == config.Null {
			return nil
		}
		return []string{n.Scalar()}
	}
	out := make([]string, 0, len(n.Items))
	for _, it := range n.Items {
		out = append(out, it.Scalar())
	}
	return out
}

func apiContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// unionStrings is lodash union: a's values then b's new ones, each once.
func apiUnion(a, b []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range [][]string{a, b} {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}
