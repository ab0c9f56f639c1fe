package gateway

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// ResourceRoutes reads the REST API methods a service declares itself in
// resources (AWS::ApiGateway::Method on AWS::ApiGateway::Resource paths)
// whose integration is HTTP_PROXY, as serverless-offline's
// --resourceRoutes does: each becomes a route that forwards the request to
// its Uri, with {param} placeholders filled from the path. overrides is
// custom.serverless-offline.resourceRoutes when it is a map of method
// logical IDs to {Uri: …}, which replace the template's Uri (for a local
// upstream). Methods that cannot be proxied are warnings.
func ResourceRoutes(svc *service.Service, overrides *config.Node) ([]*Route, diag.Diagnostics) {
	var ds diag.Diagnostics
	res := svc.Root.Lookup("resources", "Resources")
	if res == nil || res.Kind != config.Map {
		return nil, ds
	}
	pathParts := map[string]*config.Node{}
	for _, p := range res.Pairs {
		if p.Value.Get("Type").Scalar0() == "AWS::ApiGateway::Resource" {
			pathParts[p.Key] = p.Value
		}
	}
	var routes []*Route
	for _, p := range res.Pairs {
		if p.Value.Get("Type").Scalar0() != "AWS::ApiGateway::Method" {
			continue
		}
		at := "resources.Resources." + p.Key
		props := p.Value.Get("Properties")
		path, ok := resourcePath(pathParts, props.Lookup("ResourceId", "Ref").Scalar0())
		if !ok {
			ds.Warnf(p.KeyPos, at, "--resourceRoutes: cannot find the path of %s (its ResourceId must Ref an AWS::ApiGateway::Resource chain up to RootResourceId); not served", p.Key)
			continue
		}
		integ := props.Get("Integration")
		if integ.Get("Type").Scalar0() != "HTTP_PROXY" {
			ds.Warnf(p.KeyPos, at, "--resourceRoutes: only HTTP_PROXY integrations are served; %s is ignored", path)
			continue
		}
		uriNode := integ.Get("Uri")
		if o := overrides.Lookup(p.Key, "Uri"); o != nil {
			uriNode = o
		}
		uri, isText := uriNode.Str()
		if !isText || uri == "" {
			ds.Warnf(uriNode.Pos, at+".Properties.Integration.Uri", "--resourceRoutes: the Uri of %s is not a plain URL locally (set custom.serverless-offline.resourceRoutes.%s.Uri); not served", p.Key, p.Key)
			continue
		}
		method := strings.ToUpper(props.Get("HttpMethod").Scalar0())
		if method == "HEAD" || method == "" {
			// serverless-offline skips HEAD methods too.
			continue
		}
		routes = append(routes, &Route{Kind: REST, Method: method, Path: path, ProxyURI: uri, segments: compilePath(path)})
	}
	return routes, ds
}

// resourcePath follows ParentId from id to the API's root, joining the
// PathParts.
func resourcePath(parts map[string]*config.Node, id string) (string, bool) {
	var segs []string
	for seen := 0; id != "" && id != "RootResourceId"; seen++ {
		r := parts[id]
		if r == nil || seen > len(parts) {
			return "", false
		}
		props := r.Get("Properties")
		part := props.Get("PathPart").Scalar0()
		if part == "" {
			return "", false
		}
		segs = append(segs, part)
		parent := props.Get("ParentId")
		switch {
		case parent.Get("Ref") != nil:
			id = parent.Get("Ref").Scalar0()
		case parent.Get("Fn::GetAtt") != nil && len(parent.Get("Fn::GetAtt").Items) == 2:
			id = parent.Get("Fn::GetAtt").Items[1].Scalar0()
		default:
			return "", false
		}
	}
	if len(segs) == 0 {
		return "", false
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return "/" + strings.Join(segs, "/"), true
}

// proxyTarget is a proxy route's Uri with the request's path parameters
// and query string filled in, as serverless-offline builds it.
func proxyTarget(uri string, params map[string]string, rawQuery string) string {
	for k, v := range params {
		uri = strings.ReplaceAll(uri, "{"+k+"}", v)
	}
	if rawQuery != "" {
		uri += "?" + rawQuery
	}
	return uri
}

// proxy forwards r to the route's upstream and relays its answer.
func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request, route *Route, params map[string]string) {
	target, err := url.Parse(proxyTarget(route.ProxyURI, params, r.URL.RawQuery))
	if err != nil || target.Host == "" {
		writeMessage(w, http.StatusInternalServerError, "Internal server error")
		return
	}
	if g.cfg.Log != nil {
		g.cfg.Log("PROXY " + r.Method + " " + r.URL.Path + " -> " + target.String())
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if g.cfg.Log != nil {
				g.cfg.Log("PROXY " + target.String() + ": " + err.Error())
			}
			writeMessage(w, http.StatusBadGateway, "Internal server error")
		},
	}
	rp.ServeHTTP(w, r)
}
