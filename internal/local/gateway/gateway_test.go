package gateway

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/service"
)

// fakeInvoker records payloads and answers with a per-function handler.
type fakeInvoker struct {
	mu       sync.Mutex
	calls    map[string][][]byte
	handlers map[string]func(payload []byte) (*local.Result, error)
}

func (f *fakeInvoker) Invoke(ctx context.Context, fn string, payload []byte) (*local.Result, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string][][]byte{}
	}
	f.calls[fn] = append(f.calls[fn], append([]byte(nil), payload...))
	h := f.handlers[fn]
	f.mu.Unlock()
	if h == nil {
		return &local.Result{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
	}
	return h(payload)
}

func (f *fakeInvoker) last(t *testing.T, fn string) []byte {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls[fn]
	if len(c) == 0 {
		t.Fatalf("%s was not invoked", fn)
	}
	return c[len(c)-1]
}

func loadService(t *testing.T, yml string) *service.Service { return loadServiceB(t, yml) }

func loadServiceB(t testing.TB, yml string) *service.Service {
	t.Helper()
	root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return service.New(root, t.TempDir(), "serverless.yml", map[string]string{})
}

func newGateway(t *testing.T, yml string, inv *fakeInvoker, tweak func(*Config)) *httptest.Server {
	t.Helper()
	routes, ds := RoutesFromService(loadService(t, yml))
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	cfg := Config{Routes: routes, Invoker: inv, Stage: "dev", Now: func() time.Time { return time.Unix(1700000000, 0) }}
	if tweak != nil {
		tweak(&cfg)
	}
	srv := httptest.NewServer(New(cfg))
	t.Cleanup(srv.Close)
	return srv
}

// strictDecode decodes an event into aws-lambda-go's type T, refusing any
// field T does not know.
func strictDecode[T any](t *testing.T, payload []byte) T {
	t.Helper()
	var ev T
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("event does not decode into %T: %v\n%s", ev, err, payload)
	}
	return ev
}

func do(t *testing.T, method, url, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range hdr {
		switch k {
		case "":
		case "Host":
			req.Host = v // the client ignores a Host header
		default:
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

const restYML = `
service: shop
provider: {name: aws, runtime: go1.x}
functions:
  getUser:
    handler: bin/get
    events:
      - http: GET users/{id}
      - http: {method: any, path: 'files/{proxy+}', cors: true}
  create:
    handler: bin/create
    events:
      - http: {method: post, path: users}
  list:
    handler: bin/list
    events:
      - http: GET users/me
`

func TestRESTEventDecodesAsAPIGatewayProxyRequest(t *testing.T) {
	inv := &fakeInvoker{}
	srv := newGateway(t, restYML, inv, nil)
	resp, _ := do(t, "GET", srv.URL+"/dev/users/42?tag=a&tag=b&x=1", "", map[string]string{"X-Trace": "t1"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(inv.last(t, "getUser"), &ev); err != nil {
		t.Fatalf("event is not valid JSON: %v\n%s", err, inv.last(t, "getUser"))
	}
	if ev.Resource != "/users/{id}" || ev.Path != "/users/42" || ev.HTTPMethod != "GET" {
		t.Errorf("resource/path/method = %q %q %q", ev.Resource, ev.Path, ev.HTTPMethod)
	}
	if ev.PathParameters["id"] != "42" {
		t.Errorf("pathParameters = %v", ev.PathParameters)
	}
	if ev.QueryStringParameters["tag"] != "b" || strings.Join(ev.MultiValueQueryStringParameters["tag"], ",") != "a,b" {
		t.Errorf("query = %v / %v", ev.QueryStringParameters, ev.MultiValueQueryStringParameters)
	}
	if ev.Headers["X-Trace"] != "t1" || ev.MultiValueHeaders["X-Trace"][0] != "t1" {
		t.Errorf("headers = %v", ev.Headers)
	}
	rc := ev.RequestContext
	if rc.Stage != "dev" || rc.ResourcePath != "/users/{id}" || rc.Path != "/dev/users/42" || rc.Identity.SourceIP != "127.0.0.1" || rc.RequestTimeEpoch != 1700000000000 || rc.RequestID == "" {
		t.Errorf("requestContext = %+v", rc)
	}
	if ev.Body != "" || ev.IsBase64Encoded {
		t.Errorf("body = %q base64=%v", ev.Body, ev.IsBase64Encoded)
	}
	if resp.Header.Get("X-Amzn-Requestid") != rc.RequestID {
		t.Errorf("X-Amzn-RequestId %q, event requestId %q", resp.Header.Get("X-Amzn-Requestid"), rc.RequestID)
	}
}

func TestRESTRouting(t *testing.T) {
	inv := &fakeInvoker{}
	srv := newGateway(t, restYML, inv, nil)
	cases := []struct {
		method, path string
		fn           string
		status       int
		body         string
	}{
		{"GET", "/dev/users/me", "list", 200, "ok"},
		{"GET", "/dev/users/7", "getUser", 200, "ok"},
		{"POST", "/dev/users", "create", 200, "ok"},
		{"DELETE", "/dev/files/a/b/c.txt", "getUser", 200, "ok"},
		{"GET", "/dev/nothing", "", 403, `{"message":"Missing Authentication Token"}`},
		{"PUT", "/dev/users", "", 403, `{"message":"Missing Authentication Token"}`},
		{"GET", "/users/7", "", 403, `{"message":"Missing Authentication Token"}`},
	}
	for _, c := range cases {
		inv.calls = nil
		resp, body := do(t, c.method, srv.URL+c.path, "", nil)
		if resp.StatusCode != c.status || body != c.body {
			t.Errorf("%s %s = %d %q, want %d %q", c.method, c.path, resp.StatusCode, body, c.status, c.body)
		}
		if c.fn != "" && len(inv.calls[c.fn]) != 1 {
			t.Errorf("%s %s did not invoke %s: %v", c.method, c.path, c.fn, inv.calls)
		}
	}
}

func TestGreedyPathParameter(t *testing.T) {
	inv := &fakeInvoker{}
	srv := newGateway(t, restYML, inv, nil)
	do(t, "GET", srv.URL+"/dev/files/a/b/c.txt", "", nil)
	var ev events.APIGatewayProxyRequest
	json.Unmarshal(inv.last(t, "getUser"), &ev)
	if ev.PathParameters["proxy"] != "a/b/c.txt" || ev.Resource != "/files/{proxy+}" {
		t.Errorf("proxy = %q resource %q", ev.PathParameters["proxy"], ev.Resource)
	}
}

func TestNoPrependStage(t *testing.T) {
	inv := &fakeInvoker{}
	srv := newGateway(t, restYML, inv, func(c *Config) { c.NoPrependStage = true })
	if resp, _ := do(t, "GET", srv.URL+"/users/7", "", nil); resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

const httpAPIYML = `
service: shop
provider:
  name: aws
  httpApi:
    cors: true
functions:
  get:
    handler: h.get
    events:
      - httpApi: GET /items/{id}
  v1:
    handler: h.v1
    events:
      - httpApi: {method: POST, path: /legacy, payload: '1.0'}
  fallback:
    handler: h.fb
    events:
      - httpApi: '*'
`

func TestHTTPAPIEventDecodesAsV2Request(t *testing.T) {
	inv := &fakeInvoker{}
	srv := newGateway(t, httpAPIYML, inv, nil)
	png := string([]byte{0x89, 'P', 'N', 'G', 0, 1, 2})
	// No POST route exists, so $default catches this one.
	do(t, "POST", srv.URL+"/items/9", png, map[string]string{"Content-Type": "image/png"})
	do(t, "GET", srv.URL+"/items/9?a=1&a=2&b=x", "", map[string]string{"Cookie": "s=1; t=2", "X-Multi": "v"})
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(inv.last(t, "get"), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Version != "2.0" || ev.RouteKey != "GET /items/{id}" || ev.RawPath != "/items/9" || ev.RawQueryString != "a=1&a=2&b=x" {
		t.Errorf("top = %+v", ev)
	}
	if ev.QueryStringParameters["a"] != "1,2" || ev.PathParameters["id"] != "9" {
		t.Errorf("query %v params %v", ev.QueryStringParameters, ev.PathParameters)
	}
	if strings.Join(ev.Cookies, "|") != "s=1|t=2" || ev.Headers["cookie"] != "" || ev.Headers["x-multi"] != "v" {
		t.Errorf("cookies %v headers %v", ev.Cookies, ev.Headers)
	}
	if ev.RequestContext.HTTP.Method != "GET" || ev.RequestContext.Stage != "$default" || ev.RequestContext.TimeEpoch != 1700000000000 {
		t.Errorf("requestContext %+v", ev.RequestContext)
	}
	// The POST went to $default with a base64 body.
	var post events.APIGatewayV2HTTPRequest
	json.Unmarshal(inv.last(t, "fallback"), &post)
	if post.RouteKey != "$default" || !post.IsBase64Encoded {
		t.Fatalf("fallback event %+v", post)
	}
	if dec, _ := base64.StdEncoding.DecodeString(post.Body); string(dec) != png {
		t.Errorf("binary body round trip failed: %q", dec)
	}
}

func TestHTTPAPIPayload1(t *testing.T) {
	inv := &fakeInvoker{}
	srv := newGateway(t, httpAPIYML, inv, nil)
	do(t, "POST", srv.URL+"/legacy", `{"a":1}`, map[string]string{"Content-Type": "application/json"})
	var raw map[string]any
	json.Unmarshal(inv.last(t, "v1"), &raw)
	var ev events.APIGatewayProxyRequest
	json.Unmarshal(inv.last(t, "v1"), &ev)
	if raw["version"] != "1.0" || ev.Body != `{"a":1}` || ev.HTTPMethod != "POST" || ev.RequestContext.Stage != "$default" {
		t.Errorf("v1 event %s", inv.last(t, "v1"))
	}
}

func TestHTTPAPIUnknownRouteIs404(t *testing.T) {
	yml := strings.Replace(httpAPIYML, "      - httpApi: '*'\n", "      - httpApi: GET /fb\n", 1)
	srv := newGateway(t, yml, &fakeInvoker{}, nil)
	resp, body := do(t, "GET", srv.URL+"/nope", "", nil)
	if resp.StatusCode != 404 || body != `{"message":"Not Found"}` {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
}

func TestResponses(t *testing.T) {
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){}}
	srv := newGateway(t, httpAPIYML+restYML[strings.Index(restYML, "  getUser:"):], inv, nil)
	set := func(fn, payload string, ferr string, err error) {
		inv.handlers[fn] = func([]byte) (*local.Result, error) {
			if err != nil {
				return nil, err
			}
			return &local.Result{Payload: []byte(payload), FunctionError: ferr}, nil
		}
	}
	cases := []struct {
		name        string
		fn, url     string
		payload     string
		ferr        string
		err         error
		status      int
		body        string
		header, val string
	}{
		{"v2 string inferred", "get", "/items/1", `"hello"`, "", nil, 200, "hello", "Content-Type", "application/json"},
		{"v2 object inferred", "get", "/items/1", `{"a":1}`, "", nil, 200, `{"a":1}`, "Content-Type", "application/json"},
		{"v2 cookies", "get", "/items/1", `{"statusCode":201,"cookies":["a=1"],"body":"x"}`, "", nil, 201, "x", "Set-Cookie", "a=1"},
		{"v1 base64", "getUser", "/dev/users/1", `{"statusCode":200,"isBase64Encoded":true,"body":"aGk=","headers":{"Content-Type":"image/png"}}`, "", nil, 200, "hi", "Content-Type", "image/png"},
		{"v1 multi headers", "getUser", "/dev/users/1", `{"statusCode":203,"multiValueHeaders":{"X-Multi":["a","b"]},"body":""}`, "", nil, 203, "", "X-Multi", "a"},
		{"v1 missing statusCode", "getUser", "/dev/users/1", `{"body":"x"}`, "", nil, 502, `{"message":"Internal server error"}`, "", ""},
		{"v1 object body", "getUser", "/dev/users/1", `{"statusCode":200,"body":{"a":1}}`, "", nil, 502, `{"message":"Internal server error"}`, "", ""},
		{"function error", "getUser", "/dev/users/1", `{"errorMessage":"boom"}`, "Unhandled", nil, 502, `{"message":"Internal server error"}`, "", ""},
		{"timeout", "getUser", "/dev/users/1", "", "", &local.TimeoutError{Function: "getUser", Timeout: time.Second}, 504, `{"message":"Endpoint request timed out"}`, "", ""},
		{"throttle", "get", "/items/1", "", "", &local.ThrottleError{Function: "get"}, 429, `{"message":"Too Many Requests"}`, "", ""},
	}
	for _, c := range cases {
		set(c.fn, c.payload, c.ferr, c.err)
		resp, body := do(t, "GET", srv.URL+c.url, "", nil)
		if resp.StatusCode != c.status || body != c.body {
			t.Errorf("%s: got %d %q, want %d %q", c.name, resp.StatusCode, body, c.status, c.body)
		}
		if c.header != "" && resp.Header.Get(c.header) != c.val {
			t.Errorf("%s: %s = %q, want %q", c.name, c.header, resp.Header.Get(c.header), c.val)
		}
	}
}

func TestCORS(t *testing.T) {
	srv := newGateway(t, httpAPIYML+restYML[strings.Index(restYML, "  getUser:"):], &fakeInvoker{}, nil)
	resp, _ := do(t, "OPTIONS", srv.URL+"/dev/files/x", "", map[string]string{"Origin": "http://a.test", "Access-Control-Request-Method": "PUT"})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Api-Key") {
		t.Errorf("REST preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, "GET", srv.URL+"/items/1", "", map[string]string{"Origin": "http://a.test"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("HTTP API response lacks CORS: %v", resp.Header)
	}
	resp, _ = do(t, "GET", srv.URL+"/dev/users/1", "", map[string]string{"Origin": "http://a.test"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("route without cors got CORS headers: %v", resp.Header)
	}
}

const authYML = `
service: shop
provider:
  name: aws
  httpApi:
    authorizers:
      simple:
        type: request
        functionName: simpleAuth
        enableSimpleResponses: true
        identitySource: $request.header.X-Token
        resultTtlInSeconds: 300
      jwtAuth:
        identitySource: $request.header.Authorization
        issuerUrl: ISSUER
        audience: [my-app]
functions:
  tokenAuth: {handler: a.token}
  simpleAuth: {handler: a.simple}
  secret:
    handler: s.h
    events:
      - http: {method: get, path: secret, authorizer: {name: tokenAuth, resultTtlInSeconds: 0}}
      - httpApi: {method: get, path: /simple, authorizer: {name: simple}}
      - httpApi: {method: get, path: /jwt, authorizer: {name: jwtAuth, scopes: [read]}}
      - http: {method: get, path: private, private: true}
`

func TestLambdaAuthorizers(t *testing.T) {
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){
		"tokenAuth": func(p []byte) (*local.Result, error) {
			var ev events.APIGatewayCustomAuthorizerRequest
			json.Unmarshal(p, &ev)
			switch ev.AuthorizationToken {
			case "allow":
				return &local.Result{Payload: []byte(`{"principalId":"u1","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:*/dev/GET/secret"}]},"context":{"role":"admin","n":3}}`)}, nil
			case "deny":
				return &local.Result{Payload: []byte(`{"principalId":"u1","policyDocument":{"Statement":[{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"*"}]}}`)}, nil
			}
			return &local.Result{Payload: []byte(`{"errorMessage":"Unauthorized"}`), FunctionError: "Unhandled"}, nil
		},
		"simpleAuth": func(p []byte) (*local.Result, error) {
			var ev events.APIGatewayV2CustomAuthorizerV2Request
			json.Unmarshal(p, &ev)
			ok := ev.Type == "REQUEST" && len(ev.IdentitySource) == 1 && ev.IdentitySource[0] == "good"
			b, _ := json.Marshal(map[string]any{"isAuthorized": ok, "context": map[string]any{"user": "bob"}})
			return &local.Result{Payload: b}, nil
		},
	}}
	srv := newGateway(t, authYML, inv, func(c *Config) { c.APIKeys = []string{"k1"} })
	cases := []struct {
		path, hdr, val string
		status         int
		body           string
	}{
		{"/dev/secret", "", "", 401, `{"message":"Unauthorized"}`},
		{"/dev/secret", "Authorization", "bad", 401, `{"message":"Unauthorized"}`},
		{"/dev/secret", "Authorization", "deny", 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`},
		{"/dev/secret", "Authorization", "allow", 200, "ok"},
		{"/simple", "X-Token", "nope", 403, `{"message":"Forbidden"}`},
		{"/simple", "X-Token", "good", 200, "ok"},
		{"/simple", "X-Token", "good", 200, "ok"},
		{"/dev/private", "", "", 403, `{"message":"Forbidden"}`},
		{"/dev/private", "X-Api-Key", "k1", 200, "ok"},
	}
	for _, c := range cases {
		resp, body := do(t, "GET", srv.URL+c.path, "", map[string]string{c.hdr: c.val})
		if resp.StatusCode != c.status || body != c.body {
			t.Errorf("%s %s=%s: %d %q, want %d %q", c.path, c.hdr, c.val, resp.StatusCode, body, c.status, c.body)
		}
	}
	if n := len(inv.calls["simpleAuth"]); n != 2 {
		t.Errorf("simple authorizer called %d times; the second 'good' should be cached", n)
	}
	var rest events.APIGatewayProxyRequest
	json.Unmarshal(inv.calls["secret"][0], &rest)
	if rest.RequestContext.Authorizer["principalId"] != "u1" || rest.RequestContext.Authorizer["role"] != "admin" || rest.RequestContext.Authorizer["n"] != "3" {
		t.Errorf("REST authorizer context %v", rest.RequestContext.Authorizer)
	}
	var v2 events.APIGatewayV2HTTPRequest
	json.Unmarshal(inv.calls["secret"][1], &v2)
	if v2.RequestContext.Authorizer == nil || v2.RequestContext.Authorizer.Lambda["user"] != "bob" {
		t.Errorf("v2 lambda context %s", inv.calls["secret"][1])
	}
	// --noAuth lets everything through.
	srv2 := newGateway(t, authYML, inv, func(c *Config) { c.NoAuth = true })
	if resp, _ := do(t, "GET", srv2.URL+"/dev/secret", "", nil); resp.StatusCode != 200 {
		t.Errorf("noAuth: %d", resp.StatusCode)
	}
}

func TestJWTAuthorizer(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	}))
	defer jwks.Close()
	sign := func(claims map[string]any, k *rsa.PrivateKey) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"k1","typ":"JWT"}`))
		cb, _ := json.Marshal(claims)
		p := base64.RawURLEncoding.EncodeToString(cb)
		sum := sha256.Sum256([]byte(h + "." + p))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
		return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := int64(1700000000)
	good := map[string]any{"iss": jwks.URL, "aud": "my-app", "exp": now + 60, "scope": "read write", "sub": "alice"}
	inv := &fakeInvoker{}
	srv := newGateway(t, strings.Replace(authYML, "ISSUER", jwks.URL, 1), inv, nil)
	cases := []struct {
		name   string
		token  string
		status int
	}{
		{"valid", sign(good, key), 200},
		{"wrong key", sign(good, other), 401},
		{"expired", sign(map[string]any{"iss": jwks.URL, "aud": "my-app", "exp": now - 1, "scope": "read"}, key), 401},
		{"wrong audience", sign(map[string]any{"iss": jwks.URL, "aud": "x", "exp": now + 60, "scope": "read"}, key), 401},
		{"wrong issuer", sign(map[string]any{"iss": "https://evil", "aud": "my-app", "exp": now + 60, "scope": "read"}, key), 401},
		{"missing scope", sign(map[string]any{"iss": jwks.URL, "aud": "my-app", "exp": now + 60, "scope": "write"}, key), 403},
		{"garbage", "abc", 401},
	}
	for _, c := range cases {
		resp, body := do(t, "GET", srv.URL+"/jwt", "", map[string]string{"Authorization": "Bearer " + c.token})
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, body, c.status)
		}
	}
	var ev events.APIGatewayV2HTTPRequest
	json.Unmarshal(inv.last(t, "secret"), &ev)
	if ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.JWT.Claims["sub"] != "alice" || len(ev.RequestContext.Authorizer.JWT.Scopes) != 2 {
		t.Errorf("jwt context: %s", inv.last(t, "secret"))
	}
}

func TestLambdaInvokeAPI(t *testing.T) {
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){
		"echo": func(p []byte) (*local.Result, error) { return &local.Result{Payload: p, RequestID: "r1"}, nil },
		"fail": func(p []byte) (*local.Result, error) {
			return &local.Result{Payload: []byte(`{"errorMessage":"x"}`), FunctionError: "Unhandled"}, nil
		},
		"busy": func(p []byte) (*local.Result, error) { return nil, &local.ThrottleError{Function: "busy"} },
		"slow": func(p []byte) (*local.Result, error) {
			return nil, &local.TimeoutError{Function: "slow", Timeout: 3 * time.Second}
		},
	}}
	api := &LambdaAPI{Invoker: inv, Functions: map[string]string{"echo": "echo", "svc-dev-echo": "echo", "fail": "fail", "busy": "busy", "slow": "slow"}, Region: "us-east-1"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	resp, body := do(t, "POST", srv.URL+"/2015-03-31/functions/svc-dev-echo/invocations", `{"x":1}`, nil)
	if resp.StatusCode != 200 || body != `{"x":1}` {
		t.Errorf("echo: %d %s", resp.StatusCode, body)
	}
	resp, _ = do(t, "POST", srv.URL+"/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:fail:$LATEST/invocations", `{}`, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" {
		t.Errorf("fail: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, "POST", srv.URL+"/2015-03-31/functions/echo/invocations", `{"async":1}`, map[string]string{"X-Amz-Invocation-Type": "Event"})
	api.Wait()
	if resp.StatusCode != 202 || string(inv.last(t, "echo")) != `{"async":1}` {
		t.Errorf("event invoke: %d", resp.StatusCode)
	}
	resp, body = do(t, "POST", srv.URL+"/2015-03-31/functions/busy/invocations", `{}`, nil)
	if resp.StatusCode != 429 || resp.Header.Get("X-Amzn-Errortype") != "TooManyRequestsException" {
		t.Errorf("throttle: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "POST", srv.URL+"/2015-03-31/functions/slow/invocations", `{}`, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(body, "Task timed out after 3.00 seconds") {
		t.Errorf("timeout: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "POST", srv.URL+"/2015-03-31/functions/nope/invocations", `{}`, nil)
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-Errortype") != "ResourceNotFoundException" {
		t.Errorf("unknown: %d %s", resp.StatusCode, body)
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"uote\\", "\x00\x1f\n\t", "héllo ✓", "\xff\xfe", "<a&b>", "\u2028"} {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if want := viaEncodingJSON(s); back != want {
			t.Errorf("%q round-tripped to %q", s, back)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("hello\n\"x\"")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if back != viaEncodingJSON(s) {
			t.Fatalf("%q -> %q", s, back)
		}
	})
}

func FuzzRouter(f *testing.F) {
	f.Add("/users/1/files/a/b")
	f.Add("//x//")
	f.Fuzz(func(t *testing.T, p string) {
		routes := []*Route{{Method: "GET", Path: "/users/{id}"}, {Method: "ANY", Path: "/users/{id}/files/{proxy+}"}, {Method: "GET", Path: "/a"}}
		for _, r := range routes {
			r.segments = compilePath(r.Path)
		}
		rt := newRouter(routes)
		if r, params := rt.match("GET", "/"+strings.TrimLeft(p, "/")); r != nil && r.Path == "/users/{id}" && params["id"] == "" {
			t.Fatalf("matched %s with empty id for %q", r.Path, p)
		}
	})
}

func viaEncodingJSON(s string) string {
	b, _ := json.Marshal(s)
	var back string
	json.Unmarshal(b, &back)
	return back
}

// FuzzParseProxy checks the hand-written reader against encoding/json on
// the fields the gateway uses.
func FuzzParseProxy(f *testing.F) {
	f.Add(`{"statusCode":200,"headers":{"a":"b","n":1},"body":"x\u00e9\"","isBase64Encoded":false,"cookies":["c=1"]}`)
	f.Add(`{"statusCode":"404","multiValueHeaders":{"x":["1","2"]},"body":null}`)
	f.Add(`{"body":{"nested":[1,2,{"a":"}"}]}}`)
	f.Add(`{"statusCode":200,"body":"\ud83d\ude00 \ud800"}`)
	f.Fuzz(func(t *testing.T, s string) {
		pf, ok := parseProxy([]byte(s))
		// Keys are matched case-sensitively, as API Gateway does (unlike
		// encoding/json's struct decoding), so the reference is a map.
		var obj map[string]json.RawMessage
		if !utf8.ValidString(s) || json.Unmarshal([]byte(s), &obj) != nil {
			// Invalid UTF-8 is passed through as bytes rather than replaced.
			return // the reader may be more lenient on invalid input, never less on valid input
		}
		if !ok {
			t.Fatalf("valid JSON object rejected: %q", s)
		}
		var body string
		if raw := obj["body"]; len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &body) == nil {
			if pf.bodyKind != 's' || string(pf.body) != body {
				t.Fatalf("body %q vs %q in %q", pf.body, body, s)
			}
		}
		var cookies []string
		if json.Unmarshal(obj["cookies"], &cookies) == nil && len(cookies) != len(pf.cookies) {
			t.Fatalf("cookies %v vs %v", pf.cookies, cookies)
		}
	})
}

func TestUnknownAuthorizerFunctionIsADiagnostic(t *testing.T) {
	svc := loadService(t, `
service: s
functions:
  f:
    handler: h
    events:
      - http:
          path: x
          method: get
          authorizer: {name: missingAuth}
`)
	_, ds := RoutesFromService(svc)
	if !ds.HasErrors() || ds[0].Path != "functions.f.events.0.http.authorizer" || ds[0].Pos.Line != 10 {
		t.Fatalf("%+v", ds)
	}
}

func TestIntegrationTimeoutCapsLongFunctions(t *testing.T) {
	svc := loadService(t, "service: s\nfunctions:\n  long:\n    handler: h\n    timeout: 900\n    events:\n      - http: GET a\n      - httpApi: GET /b\n  short:\n    handler: h\n    events:\n      - http: GET c\n")
	routes, _ := RoutesFromService(svc)
	want := map[string]time.Duration{"/a": 29 * time.Second, "/b": 30 * time.Second, "/c": 0}
	for _, r := range routes {
		if got := r.integrationTimeout(); got != want[r.Path] {
			t.Errorf("%s: %s, want %s", r.Path, got, want[r.Path])
		}
	}
	// The deadline reaches the invoker, whose DeadlineExceeded becomes a 504.
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){
		"long": func([]byte) (*local.Result, error) { return nil, context.DeadlineExceeded },
	}}
	srv := httptest.NewServer(New(Config{Routes: routes, Invoker: inv, Stage: "dev"}))
	defer srv.Close()
	if resp, body := do(t, "GET", srv.URL+"/dev/a", "", nil); resp.StatusCode != 504 || body != `{"message":"Endpoint request timed out"}` {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
}

func TestLambdaInvokeAPIWithGoSDK(t *testing.T) {
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){
		"echo": func(p []byte) (*local.Result, error) { return &local.Result{Payload: p}, nil },
		"fail": func(p []byte) (*local.Result, error) {
			return &local.Result{Payload: []byte(`{"errorMessage":"boom","errorType":"Error"}`), FunctionError: "Unhandled"}, nil
		},
	}}
	srv := httptest.NewServer(&LambdaAPI{Invoker: inv, Functions: map[string]string{"svc-dev-echo": "echo", "fail": "fail"}})
	defer srv.Close()
	c := lambda.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("x", "y", ""), BaseEndpoint: aws.String(srv.URL)})
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("svc-dev-echo"), Payload: []byte(`{"n":1}`)})
	if err != nil || out.StatusCode != 200 || string(out.Payload) != `{"n":1}` || out.FunctionError != nil {
		t.Fatalf("%v %+v", err, out)
	}
	out, err = c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("fail")})
	if err != nil || out.FunctionError == nil || *out.FunctionError != "Unhandled" {
		t.Fatalf("%v %+v", err, out)
	}
	out, err = c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("svc-dev-echo"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("event: %v %+v", err, out)
	}
	if _, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("missing")}); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("missing: %v", err)
	}
}
