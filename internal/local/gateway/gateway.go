// Package gateway serves a service's http and httpApi events on this
// machine the way API Gateway does: REST API proxy events (payload 1.0) under
// /{stage}/path, HTTP API events (payload 2.0 or 1.0) under /path, API
// Gateway's error shapes and status codes, CORS, and Lambda and JWT
// authorizers. It turns each request into one local.Invoker call.
// WebSocketAPI (websocket events) and ALB (alb events) are the same job for
// API Gateway WebSocket APIs and Application Load Balancers.
package gateway

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nimbusfw/nimbus/internal/local"
)

// Config is what a Gateway serves.
type Config struct {
	Routes  []*Route
	Invoker local.Invoker
	Stage   string
	// AccountID appears in requestContext and ARNs (default local.AccountID,
	// the account of every local function, queue and topic ARN, so an
	// authorizer's methodArn and the function's own ARN agree as on AWS).
	AccountID string
	Region    string
	// NoPrependStage serves REST routes at /path instead of /{stage}/path.
	NoPrependStage bool
	// NoAuth turns every authorizer off.
	NoAuth bool
	// Prefix serves every route under /{Prefix} (before the stage), as
	// serverless-offline's --prefix; empty serves them at the root.
	Prefix string
	// IgnoreJWTSignature accepts JWTs without checking their signature
	// against the issuer's keys (serverless-offline's --ignoreJWTSignature);
	// issuer, audience, expiry and scopes are still checked.
	IgnoreJWTSignature bool
	// EnforceSecureCookies marks every cookie a function sets Secure and
	// HttpOnly (serverless-offline's --enforceSecureCookies).
	EnforceSecureCookies bool
	// APIKeys accepted for private REST routes (x-api-key header).
	APIKeys []string
	// BinaryMediaTypes are REST content types passed base64-encoded
	// (provider.apiGateway.binaryMediaTypes).
	BinaryMediaTypes []string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// HTTPClient fetches JWKS documents for JWT authorizers.
	HTTPClient *http.Client
	// Log receives one line per request, like serverless-offline's; nil is silent.
	Log func(line string)
}

// Gateway is an http.Handler serving the configured routes.
type Gateway struct {
	cfg     Config
	rest    *router
	httpAPI *router
	hasREST bool
	hasHTTP bool
	auth    *authorizers
	bufs    sync.Pool
}

// New builds a Gateway; routes are compiled once here.
func New(cfg Config) *Gateway {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AccountID == "" {
		cfg.AccountID = local.AccountID
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	cfg.Prefix = strings.Trim(cfg.Prefix, "/")
	g := &Gateway{cfg: cfg}
	var rest, api []*Route
	for _, r := range cfg.Routes {
		if r.segments == nil && r.Path != "/" {
			r.segments = compilePath(r.Path)
		}
		if r.Kind == HTTPAPI && r.routeKey == "" {
			if r.Path == "*" {
				r.routeKey = "$default"
			} else {
				r.routeKey = r.Method + " " + r.Path
			}
		}
		if r.Kind == REST {
			rest = append(rest, r)
		} else {
			api = append(api, r)
		}
	}
	g.rest, g.httpAPI = newRouter(rest), newRouter(api)
	g.hasREST, g.hasHTTP = len(rest) > 0, len(api) > 0
	g.auth = newAuthorizers(g)
	g.bufs.New = func() any { b := make([]byte, 0, 2048); return &b }
	return g
}

// URLPath is where a route is reachable on the gateway's server.
func (g *Gateway) URLPath(r *Route) string {
	p := r.Path
	if r.Kind == REST && !g.cfg.NoPrependStage {
		p = "/" + g.cfg.Stage
		if r.Path != "/" {
			p += r.Path
		}
	}
	if g.cfg.Prefix != "" {
		if p == "/" {
			return "/" + g.cfg.Prefix
		}
		return "/" + g.cfg.Prefix + p
	}
	return p
}

// request is one HTTP request on its way to a function.
type request struct {
	r         *http.Request
	route     *Route
	path      string // path as the function sees it (stage stripped)
	params    map[string]string
	body      []byte
	requestID string
	now       time.Time
	authJSON  []byte // requestContext.authorizer object, nil when none
}

func (g *Gateway) find(method, path string) (*Route, map[string]string, string) {
	if g.hasREST {
		if g.cfg.NoPrependStage {
			if rt, params := g.rest.match(method, path); rt != nil {
				return rt, params, path
			}
		} else if rest, ok := stripStage(path, g.cfg.Stage); ok {
			if rt, params := g.rest.match(method, rest); rt != nil {
				return rt, params, rest
			}
		}
	}
	if g.hasHTTP {
		if rt, params := g.httpAPI.match(method, path); rt != nil {
			return rt, params, path
		}
	}
	return nil, nil, path
}

func stripStage(path, stage string) (string, bool) {
	if len(path) < len(stage)+1 || path[0] != '/' || path[1:1+len(stage)] != stage {
		return "", false
	}
	rest := path[1+len(stage):]
	if rest == "" {
		return "/", true
	}
	if rest[0] != '/' {
		return "", false
	}
	return rest, true
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if g.cfg.Prefix != "" {
		rest, ok := stripStage(path, g.cfg.Prefix)
		if !ok {
			writeMessage(w, http.StatusNotFound, "Not Found")
			return
		}
		path = rest
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if g.preflight(w, r, path) {
			return
		}
	}
	route, params, fnPath := g.find(r.Method, path)
	if route == nil {
		g.notFound(w, path)
		return
	}
	if route.ProxyURI != "" {
		g.proxy(w, r, route, params)
		return
	}
	if g.cfg.Log != nil {
		g.cfg.Log(r.Method + " " + r.URL.Path + " (λ: " + route.Function + ")")
	}
	if route.Private && !g.cfg.NoAuth && !g.validAPIKey(r.Header.Get("X-Api-Key")) {
		writeMessage(w, http.StatusForbidden, "Forbidden")
		return
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			writeMessage(w, http.StatusBadRequest, "Bad Request")
			return
		}
	}
	req := &request{r: r, route: route, path: fnPath, params: params, body: body, requestID: newRequestID(), now: g.cfg.Now()}
	if route.Authorizer != nil && !g.cfg.NoAuth {
		if !g.auth.authorize(r.Context(), w, req) {
			return
		}
	}
	bp := g.bufs.Get().(*[]byte)
	var payload []byte
	if route.Kind == HTTPAPI && route.Payload == "2.0" {
		payload = g.appendV2(*bp, req)
	} else {
		payload = g.appendV1(*bp, req)
	}
	ctx := r.Context()
	if limit := route.integrationTimeout(); limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	res, err := g.cfg.Invoker.Invoke(ctx, route.Function, payload)
	if ctx.Err() == nil {
		*bp = payload[:0]
		g.bufs.Put(bp)
	}
	if route.Kind == HTTPAPI {
		w.Header()["Apigw-Requestid"] = []string{req.requestID}
	} else {
		w.Header()["X-Amzn-Requestid"] = []string{req.requestID}
	}
	if route.CORS != nil {
		setCORS(w.Header(), route.CORS, r.Header.Get("Origin"))
	}
	if err != nil {
		if g.cfg.Log != nil {
			g.cfg.Log("λ " + route.Function + ": " + err.Error())
		}
		writeInvokeError(w, err)
		return
	}
	if res.FunctionError != "" {
		if g.cfg.Log != nil {
			g.cfg.Log("λ " + route.Function + " failed: " + string(res.Payload))
		}
		writeMessage(w, http.StatusBadGateway, "Internal server error")
		return
	}
	if g.cfg.EnforceSecureCookies {
		w = &secureCookies{ResponseWriter: w}
	}
	if route.Kind == HTTPAPI && route.Payload == "2.0" {
		writeV2Response(w, res.Payload)
	} else {
		writeV1Response(w, res.Payload)
	}
}

// writeInvokeError maps the pool's errors to API Gateway's answers.
func writeInvokeError(w http.ResponseWriter, err error) {
	code, msg := invokeFailure(err)
	writeMessage(w, code, msg)
}

// invokeFailure is API Gateway's status and message for an invocation
// that did not return: throttled, timed out, or failed otherwise. The
// WebSocket API sends the same message in its error frame.
func invokeFailure(err error) (int, string) {
	var te *local.ThrottleError
	var to *local.TimeoutError
	switch {
	case errors.As(err, &te):
		return http.StatusTooManyRequests, "Too Many Requests"
	case errors.As(err, &to), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "Endpoint request timed out"
	}
	return http.StatusBadGateway, "Internal server error"
}

func (g *Gateway) notFound(w http.ResponseWriter, path string) {
	if g.hasREST {
		if _, ok := stripStage(path, g.cfg.Stage); ok || g.cfg.NoPrependStage || !g.hasHTTP {
			writeMessage(w, http.StatusForbidden, "Missing Authentication Token")
			return
		}
	}
	writeMessage(w, http.StatusNotFound, "Not Found")
}

func (g *Gateway) validAPIKey(k string) bool {
	for _, want := range g.cfg.APIKeys {
		if k != "" && k == want {
			return true
		}
	}
	return false
}

func (g *Gateway) preflight(w http.ResponseWriter, r *http.Request, path string) bool {
	var c *CORS
	if g.hasREST {
		p := path
		ok := true
		if !g.cfg.NoPrependStage {
			p, ok = stripStage(path, g.cfg.Stage)
		}
		if ok {
			c = g.rest.corsFor(p)
		}
	}
	if c == nil && g.hasHTTP {
		c = g.httpAPI.corsFor(path)
	}
	if c == nil {
		return false
	}
	h := w.Header()
	setCORS(h, c, r.Header.Get("Origin"))
	methods := c.Methods
	if len(methods) == 0 || (len(methods) == 1 && methods[0] == "OPTIONS") {
		methods = []string{"OPTIONS", r.Header.Get("Access-Control-Request-Method")}
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ","))
	h.Set("Access-Control-Allow-Headers", strings.Join(c.Headers, ","))
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", itoa(c.MaxAge))
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

func setCORS(h http.Header, c *CORS, origin string) {
	allow := ""
	for _, o := range c.Origins {
		if o == "*" {
			allow = "*"
			if c.AllowCredentials && origin != "" {
				allow = origin
			}
			break
		}
		if o == origin {
			allow = origin
			break
		}
	}
	if allow == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(c.ExposedHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
	}
}

var messageBodies sync.Map

// writeMessage writes API Gateway's {"message": "..."} error body.
func writeMessage(w http.ResponseWriter, code int, msg string) {
	b, ok := messageBodies.Load(msg)
	if !ok {
		enc := appendString(append([]byte(nil), `{"message":`...), msg)
		b = append(enc, '}')
		messageBodies.Store(msg, b)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Errortype", errorType(code))
	w.WriteHeader(code)
	w.Write(b.([]byte))
}

func errorType(code int) string {
	switch code {
	case 401:
		return "UnauthorizedException"
	case 403:
		return "ForbiddenException"
	case 404:
		return "NotFoundException"
	case 429:
		return "TooManyRequestsException"
	case 504:
		return "IntegrationTimeout"
	default:
		return "InternalServerErrorException"
	}
}

// newRequestID returns a random UUID-shaped id; it only has to be unique
// on this machine, so math/rand is enough.
func newRequestID() string {
	var b [36]byte
	a, c := rand.Uint64(), rand.Uint64()
	const layout = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
	for i := 0; i < 36; i++ {
		switch layout[i] {
		case '-':
			b[i] = '-'
		case '4':
			b[i] = '4'
		case 'y':
			b[i] = "89ab"[a&3]
			a >>= 2
		default:
			var v uint64
			if i < 18 {
				v, a = a&15, a>>4
			} else {
				v, c = c&15, c>>4
			}
			b[i] = hexDigits[v]
		}
	}
	return string(b[:])
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// queryMaps splits a raw query the way API Gateway does (last value wins
// in the single-value map).
func queryMaps(raw string) (single map[string]string, multi map[string][]string) {
	if raw == "" {
		return nil, nil
	}
	vals, _ := url.ParseQuery(raw)
	if len(vals) == 0 {
		return nil, nil
	}
	single = make(map[string]string, len(vals))
	for k, vs := range vals {
		single[k] = vs[len(vs)-1]
	}
	return single, vals
}
