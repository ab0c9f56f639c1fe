package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nimbusfw/nimbus/internal/local"
)

const offlineCORSYML = `
service: shop
provider:
  name: aws
  runtime: go1.x
  httpApi:
    cors: true
functions:
  api:
    handler: bin/api
    events:
      - http: {method: get, path: open, cors: true}
      - http: {method: get, path: own, cors: {origins: [https://own.example], headers: [X-Own], allowCredentials: false}}
      - http: {method: get, path: plain}
      - httpApi: GET /v2
`

func routeAt(t *testing.T, routes []*Route, kind Kind, path string) *Route {
	t.Helper()
	for _, r := range routes {
		if r.Kind == kind && r.Path == path {
			return r
		}
	}
	t.Fatalf("no route %s", path)
	return nil
}

func TestOfflineCORSFillsOnlyWhatTheEventLeavesOpen(t *testing.T) {
	routes, ds := RoutesFromService(loadService(t, offlineCORSYML))
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	httpAPIBefore := *routeAt(t, routes, HTTPAPI, "/v2").CORS
	allow := true
	OfflineCORS{
		Origins:        SplitCORSList("https://a.example, https://b.example"),
		Headers:        SplitCORSList("accept,content-type"),
		ExposedHeaders: SplitCORSList("WWW-Authenticate,Server-Authorization"),
		Credentials:    &allow,
	}.Apply(routes)

	open := routeAt(t, routes, REST, "/open").CORS
	if !reflect.DeepEqual(open.Origins, []string{"https://a.example", "https://b.example"}) ||
		!reflect.DeepEqual(open.Headers, []string{"accept", "content-type"}) ||
		!reflect.DeepEqual(open.ExposedHeaders, []string{"WWW-Authenticate", "Server-Authorization"}) || !open.AllowCredentials {
		t.Errorf("cors: true route: %+v", open)
	}
	own := routeAt(t, routes, REST, "/own").CORS
	if !reflect.DeepEqual(own.Origins, []string{"https://own.example"}) || !reflect.DeepEqual(own.Headers, []string{"X-Own"}) ||
		len(own.ExposedHeaders) != 2 || !own.AllowCredentials {
		t.Errorf("route with its own origins and headers: %+v", own)
	}
	if c := routeAt(t, routes, REST, "/plain").CORS; c != nil {
		t.Errorf("route without cors got %+v", c)
	}
	if got := *routeAt(t, routes, HTTPAPI, "/v2").CORS; !reflect.DeepEqual(got, httpAPIBefore) {
		t.Errorf("HTTP API route changed: %+v, was %+v", got, httpAPIBefore)
	}
}

func TestOfflineCORSWithoutOptionsKeepsAPIGatewayDefaults(t *testing.T) {
	routes, _ := RoutesFromService(loadService(t, offlineCORSYML))
	before := *routeAt(t, routes, REST, "/open").CORS
	OfflineCORS{}.Apply(routes)
	if got := *routeAt(t, routes, REST, "/open").CORS; !reflect.DeepEqual(got, before) {
		t.Errorf("%+v, was %+v", got, before)
	}
	disallow := false
	OfflineCORS{Credentials: &disallow}.Apply(routes)
	if routeAt(t, routes, REST, "/open").CORS.AllowCredentials {
		t.Error("corsDisallowCredentials true allowed credentials")
	}
}

func TestOfflineCORSHeadersOnTheWire(t *testing.T) {
	routes, _ := RoutesFromService(loadService(t, offlineCORSYML))
	allow := true
	OfflineCORS{Origins: []string{"https://a.example"}, Headers: []string{"accept", "x-api-key"},
		ExposedHeaders: []string{"WWW-Authenticate"}, Credentials: &allow}.Apply(routes)
	srv := httptest.NewServer(New(Config{Routes: routes, Invoker: &fakeInvoker{}, Stage: "dev"}))
	defer srv.Close()

	resp, _ := do(t, "OPTIONS", srv.URL+"/dev/open", "", map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "GET"})
	h := resp.Header
	if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "https://a.example" ||
		h.Get("Access-Control-Allow-Headers") != "accept,x-api-key" || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight: %d %v", resp.StatusCode, h)
	}
	resp, _ = do(t, "GET", srv.URL+"/dev/open", "", map[string]string{"Origin": "https://a.example"})
	if resp.Header.Get("Access-Control-Expose-Headers") != "WWW-Authenticate" || resp.Header.Get("Access-Control-Allow-Origin") != "https://a.example" {
		t.Errorf("GET: %v", resp.Header)
	}
	resp, _ = do(t, "GET", srv.URL+"/dev/open", "", map[string]string{"Origin": "https://other.example"})
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("origin outside --corsAllowOrigin was allowed: %q", v)
	}
}

func TestSplitCORSList(t *testing.T) {
	for in, want := range map[string][]string{
		"accept, content-type ,x-api-key": {"accept", "content-type", "x-api-key"},
		"*":                               {"*"},
		"":                                {},
		"a,,b,":                           {"a", "b"},
	} {
		if got := SplitCORSList(in); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

const prefixYML = `
service: shop
provider: {name: aws, runtime: go1.x}
functions:
  rest:
    handler: bin/rest
    events:
      - http: GET users/{id}
      - http: GET /
  api:
    handler: bin/api
    events:
      - httpApi: GET /items/{id}
`

func TestPrefixRouting(t *testing.T) {
	for _, c := range []struct {
		name      string
		prefix    string
		noStage   bool
		path      string
		status    int
		fn, event string // function and the path its event carries
	}{
		{"REST under prefix and stage", "api", false, "/api/dev/users/7", 200, "rest", "/users/7"},
		{"REST root", "api", false, "/api/dev", 200, "rest", "/"},
		// rawPath is the URL's path as requested, prefix included.
		{"HTTP API under prefix", "api", false, "/api/items/3", 200, "api", "/api/items/3"},
		{"slashes around the prefix are trimmed", "/v1/", false, "/v1/dev/users/7", 200, "rest", "/users/7"},
		{"no prefix in the URL", "api", false, "/dev/users/7", 404, "", ""},
		{"prefix as a mere string prefix", "api", false, "/apix/dev/users/7", 404, "", ""},
		{"prefix without stage", "api", true, "/api/users/7", 200, "rest", "/users/7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			inv := &fakeInvoker{}
			srv := newGateway(t, prefixYML, inv, func(cfg *Config) { cfg.Prefix, cfg.NoPrependStage = c.prefix, c.noStage })
			resp, body := do(t, "GET", srv.URL+c.path, "", nil)
			if resp.StatusCode != c.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, c.status)
			}
			if c.fn == "" {
				return
			}
			var ev struct {
				Path    string `json:"path"`
				RawPath string `json:"rawPath"`
			}
			json.Unmarshal(inv.last(t, c.fn), &ev)
			if got := ev.Path + ev.RawPath; got != c.event {
				t.Errorf("event path %q, want %q", got, c.event)
			}
		})
	}
}

func TestPrefixURLPath(t *testing.T) {
	routes, _ := RoutesFromService(loadService(t, prefixYML))
	g := New(Config{Routes: routes, Stage: "dev", Prefix: "api"})
	var got []string
	for _, r := range routes {
		got = append(got, g.URLPath(r))
	}
	want := []string{"/api/dev/users/{id}", "/api/dev", "/api/items/{id}"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestEnforceSecureCookies(t *testing.T) {
	for in, want := range map[string]string{
		"a=1":                          "a=1; Secure; HttpOnly",
		"a=1; Path=/; secure":          "a=1; Path=/; secure; HttpOnly",
		"a=1; HttpOnly; Secure":        "a=1; HttpOnly; Secure",
		"sid=x=y; Max-Age=60":          "sid=x=y; Max-Age=60; Secure; HttpOnly",
		"note=secure-ish; Domain=x.io": "note=secure-ish; Domain=x.io; Secure; HttpOnly",
	} {
		if got := enforceSecure(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){
		"rest": func([]byte) (*local.Result, error) {
			return &local.Result{Payload: []byte(`{"statusCode":200,"multiValueHeaders":{"Set-Cookie":["a=1","b=2; Secure"]},"body":"x"}`)}, nil
		},
		"api": func([]byte) (*local.Result, error) {
			return &local.Result{Payload: []byte(`{"statusCode":200,"cookies":["c=3; Path=/"],"body":"x"}`)}, nil
		},
	}}
	for _, enforce := range []bool{false, true} {
		srv := newGateway(t, prefixYML, inv, func(cfg *Config) { cfg.EnforceSecureCookies = enforce })
		resp, _ := do(t, "GET", srv.URL+"/dev/users/1", "", nil)
		rest := resp.Header.Values("Set-Cookie")
		resp, _ = do(t, "GET", srv.URL+"/items/1", "", nil)
		api := resp.Header.Values("Set-Cookie")
		want := [][]string{{"a=1", "b=2; Secure"}, {"c=3; Path=/"}}
		if enforce {
			want = [][]string{{"a=1; Secure; HttpOnly", "b=2; Secure; HttpOnly"}, {"c=3; Path=/; Secure; HttpOnly"}}
		}
		if !reflect.DeepEqual([][]string{rest, api}, want) {
			t.Errorf("enforce=%v: %q, want %q", enforce, [][]string{rest, api}, want)
		}
	}
}

func TestIgnoreJWTSignature(t *testing.T) {
	var fetched atomic.Int32
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	}))
	defer jwks.Close()
	unsigned := func(claims map[string]any) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"k1","typ":"JWT"}`))
		cb, _ := json.Marshal(claims)
		return h + "." + base64.RawURLEncoding.EncodeToString(cb) + "." + base64.RawURLEncoding.EncodeToString([]byte("not a signature"))
	}
	now := int64(1700000000)
	forged := unsigned(map[string]any{"iss": jwks.URL, "aud": "my-app", "exp": now + 60, "scope": "read", "sub": "bob"})
	yml := strings.Replace(authYML, "ISSUER", jwks.URL, 1)

	strict := newGateway(t, yml, &fakeInvoker{}, nil)
	if resp, body := do(t, "GET", strict.URL+"/jwt", "", map[string]string{"Authorization": "Bearer " + forged}); resp.StatusCode != 401 {
		t.Fatalf("forged token without the option: %d %s", resp.StatusCode, body)
	}
	fetched.Store(0)
	inv := &fakeInvoker{}
	lax := newGateway(t, yml, inv, func(c *Config) { c.IgnoreJWTSignature = true })
	if resp, body := do(t, "GET", lax.URL+"/jwt", "", map[string]string{"Authorization": "Bearer " + forged}); resp.StatusCode != 200 {
		t.Fatalf("forged token with the option: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(inv.last(t, "secret")), `"sub":"bob"`) {
		t.Errorf("claims not passed: %s", inv.last(t, "secret"))
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("JWKS fetched %d times although signatures are ignored", n)
	}
	// Everything but the signature is still checked.
	for name, claims := range map[string]map[string]any{
		"expired":        {"iss": jwks.URL, "aud": "my-app", "exp": now - 1, "scope": "read"},
		"wrong audience": {"iss": jwks.URL, "aud": "x", "exp": now + 60, "scope": "read"},
		"wrong issuer":   {"iss": "https://evil", "aud": "my-app", "exp": now + 60, "scope": "read"},
	} {
		if resp, _ := do(t, "GET", lax.URL+"/jwt", "", map[string]string{"Authorization": "Bearer " + unsigned(claims)}); resp.StatusCode != 401 {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
}

func FuzzEnforceSecure(f *testing.F) {
	for _, s := range []string{"a=1", "a=1; Secure", "a=1;HttpOnly;secure", "a=b=c; Path=/", "", ";;", "x; httponly=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		got := enforceSecure(cookie)
		if !strings.HasPrefix(got, cookie) {
			t.Fatalf("%q lost its original text: %q", cookie, got)
		}
		if again := enforceSecure(got); again != got {
			t.Fatalf("not idempotent: %q then %q", got, again)
		}
		var secure, httpOnly bool
		for _, attr := range strings.Split(got, ";")[1:] {
			name, _, _ := strings.Cut(strings.TrimSpace(attr), "=")
			secure = secure || strings.EqualFold(name, "secure")
			httpOnly = httpOnly || strings.EqualFold(name, "httponly")
		}
		if !secure || !httpOnly {
			t.Fatalf("%q lacks Secure or HttpOnly", got)
		}
	})
}
