package gateway

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/nimbusfw/nimbus/internal/local"
)

const albService = `service: shop
provider:
  name: aws
  runtime: nodejs20.x
functions:
  admin:
    handler: h.admin
    events:
      - alb:
          listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/abc/def
          priority: 1
          conditions:
            path: /items/*
            header: {name: X-Role, values: [admin, "super*"]}
  items:
    handler: h.items
    events:
      - alb:
          listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/abc/def
          priority: 5
          multiValueHeaders: true
          conditions:
            path: [/items, /items/*]
            method: [GET, POST]
  search:
    handler: h.search
    events:
      - alb:
          listenerArn: {Ref: Listener}
          priority: 3
          conditions:
            path: /items/*
            query: {q: "shoe*"}
            host: "*.example.com"
  local:
    handler: h.local
    events:
      - alb:
          listenerArn: {Ref: Listener}
          priority: 9
          conditions:
            path: /local
            ip: [127.0.0.0/8]
`

func startALB(t *testing.T, inv *fakeInvoker) *httptest.Server {
	t.Helper()
	svc := loadService(t, albService)
	rules, ds := ALBRulesFromService(svc)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	srv := httptest.NewServer(NewALB(ALBConfig{Rules: rules, Invoker: inv, Stage: svc.Stage}))
	t.Cleanup(srv.Close)
	return srv
}

func TestALBPriorityAndConditions(t *testing.T) {
	inv := &fakeInvoker{}
	srv := startALB(t, inv)
	calls := func(fn string) int { inv.mu.Lock(); defer inv.mu.Unlock(); return len(inv.calls[fn]) }
	cases := []struct {
		method, path string
		h            map[string]string
		want         string // function, or "" for no rule
	}{
		{"GET", "/items/1", map[string]string{"X-Role": "ADMIN"}, "admin"},     // header values are case-insensitive
		{"GET", "/items/1", map[string]string{"X-Role": "superuser"}, "admin"}, // wildcards
		{"GET", "/items/1", map[string]string{"X-Role": "guest"}, "items"},     // priority 1 fails, 5 matches
		{"DELETE", "/items/1", map[string]string{"X-Role": "guest"}, ""},       // method condition
		{"GET", "/items/1?q=Shoes", map[string]string{"Host": "www.example.com:8080"}, "search"},
		{"GET", "/items/1?q=Shoes", map[string]string{"Host": "example.org"}, "items"},
		{"GET", "/items/1?q=hat", map[string]string{"Host": "www.example.com"}, "items"},
		{"POST", "/items", nil, "items"},
		{"GET", "/Items", nil, ""}, // paths are case-sensitive
		{"GET", "/local", nil, "local"},
		{"GET", "/dev/items", nil, "items"}, // serverless-offline's /{stage}/path still reaches the rule
	}
	for _, c := range cases {
		before := map[string]int{}
		for _, fn := range []string{"admin", "items", "search", "local"} {
			before[fn] = calls(fn)
		}
		resp, body := do(t, c.method, srv.URL+c.path, "", c.h)
		got := ""
		for _, fn := range []string{"admin", "items", "search", "local"} {
			if calls(fn) > before[fn] {
				got = fn
			}
		}
		if got != c.want {
			t.Errorf("%s %s %v: served by %q, want %q", c.method, c.path, c.h, got, c.want)
		}
		if c.want == "" && resp.StatusCode != 404 {
			t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, body)
		}
	}
}

func TestALBEventShapes(t *testing.T) {
	inv := &fakeInvoker{}
	srv := startALB(t, inv)
	do(t, "GET", srv.URL+"/items/7?q=shoe%20box&q=x&flag", "", map[string]string{"X-Role": "admin", "Host": "shop.example.com", "Cookie": "a=1"})
	ev := strictDecode[events.ALBTargetGroupRequest](t, inv.last(t, "admin"))
	if ev.HTTPMethod != "GET" || ev.Path != "/items/7" || ev.IsBase64Encoded || ev.Body != "" ||
		!strings.HasPrefix(ev.RequestContext.ELB.TargetGroupArn, "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-dev-admin/") {
		t.Errorf("event: %+v", ev)
	}
	// Single-value: last value wins, values stay URL-encoded, names lower-case.
	if ev.QueryStringParameters["q"] != "x" || ev.QueryStringParameters["flag"] != "" || len(ev.MultiValueQueryStringParameters) != 0 {
		t.Errorf("query: %v %v", ev.QueryStringParameters, ev.MultiValueQueryStringParameters)
	}
	if ev.Headers["x-role"] != "admin" || ev.Headers["host"] != "shop.example.com" || ev.Headers["cookie"] != "a=1" ||
		ev.Headers["x-forwarded-for"] != "127.0.0.1" || ev.Headers["x-forwarded-proto"] != "http" || len(ev.MultiValueHeaders) != 0 {
		t.Errorf("headers: %v", ev.Headers)
	}

	req, _ := http.NewRequest("POST", srv.URL+"/items?tag=a%2Bb&tag=c", strings.NewReader("\x00\x01binary"))
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ev = strictDecode[events.ALBTargetGroupRequest](t, inv.last(t, "items"))
	if strings.Join(ev.MultiValueQueryStringParameters["tag"], ",") != "a%2Bb,c" || len(ev.QueryStringParameters) != 0 {
		t.Errorf("multi-value query: %v", ev.MultiValueQueryStringParameters)
	}
	if strings.Join(ev.MultiValueHeaders["x-multi"], ",") != "one,two" || len(ev.Headers) != 0 {
		t.Errorf("multi-value headers: %v", ev.MultiValueHeaders)
	}
	if !ev.IsBase64Encoded || ev.Body != "AAFiaW5hcnk=" {
		t.Errorf("binary body: %v %q", ev.IsBase64Encoded, ev.Body)
	}
}

func TestALBEmptyQueryIsAnObject(t *testing.T) {
	inv := &fakeInvoker{}
	srv := startALB(t, inv)
	do(t, "GET", srv.URL+"/items/1", "", map[string]string{"X-Role": "admin"})
	do(t, "GET", srv.URL+"/items", "", nil)
	for fn, want := range map[string][]string{
		"admin": {`"queryStringParameters":{}`, `"headers":{`},
		"items": {`"multiValueQueryStringParameters":{}`, `"multiValueHeaders":{`},
	} {
		got := string(inv.last(t, fn))
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s event lacks %s: %s", fn, w, got)
			}
		}
		for _, absent := range []string{`"queryStringParameters"`, `"headers"`} {
			if fn == "items" && strings.Contains(got, absent) {
				t.Errorf("multi-value event carries %s: %s", absent, got)
			}
		}
	}
}

func TestALBResponses(t *testing.T) {
	answer := map[string]*local.Result{}
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){
		"admin": func([]byte) (*local.Result, error) { return answer["admin"], nil },
		"items": func([]byte) (*local.Result, error) { return answer["items"], nil },
	}}
	srv := startALB(t, inv)
	admin := map[string]string{"X-Role": "admin"}

	answer["admin"] = &local.Result{Payload: []byte(`{"statusCode":201,"statusDescription":"201 Created","headers":{"X-A":"1"},"multiValueHeaders":{"X-B":["ignored"]},"body":"made"}`)}
	resp, body := do(t, "GET", srv.URL+"/items/1", "", admin)
	if resp.StatusCode != 201 || body != "made" || resp.Header.Get("X-A") != "1" || resp.Header.Get("X-B") != "" || resp.Header.Get("Content-Type") != "" {
		t.Errorf("single-value response: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	answer["items"] = &local.Result{Payload: []byte(`{"statusCode":200,"headers":{"X-A":"ignored"},"multiValueHeaders":{"Set-Cookie":["a=1","b=2"],"Content-Type":["image/png"]},"body":"iVBORw==","isBase64Encoded":true}`)}
	resp, body = do(t, "GET", srv.URL+"/items", "", nil)
	if resp.StatusCode != 200 || body != "\x89PNG" || strings.Join(resp.Header.Values("Set-Cookie"), ";") != "a=1;b=2" || resp.Header.Get("X-A") != "" {
		t.Errorf("multi-value response: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	for name, res := range map[string]*local.Result{
		"function error":  {Payload: []byte(`{"errorMessage":"boom"}`), FunctionError: "Unhandled"},
		"no statusCode":   {Payload: []byte(`{"body":"x"}`)},
		"not an object":   {Payload: []byte(`"hello"`)},
		"body not string": {Payload: []byte(`{"statusCode":200,"body":{"a":1}}`)},
	} {
		answer["admin"] = res
		resp, body := do(t, "GET", srv.URL+"/items/1", "", admin)
		if resp.StatusCode != 502 || !strings.Contains(body, "502 Bad Gateway") {
			t.Errorf("%s: %d %q", name, resp.StatusCode, body)
		}
	}
}

func TestALBRulesDiagnostics(t *testing.T) {
	svc := loadService(t, `service: shop
provider: {name: aws}
functions:
  a:
    handler: h.a
    events:
      - alb: {listenerArn: x, priority: 0, conditions: {path: /a}}
      - alb: {listenerArn: x, priority: 2}
      - alb: {listenerArn: x, priority: 3, conditions: {ip: [not-an-ip]}}
`)
	_, ds := ALBRulesFromService(svc)
	var all []string
	for _, d := range ds {
		if d.Pos.Line == 0 {
			t.Errorf("%s has no position", d.Summary)
		}
		all = append(all, d.Path+": "+d.Summary)
	}
	got := strings.Join(all, "\n")
	for _, want := range []string{"events.0.alb.priority: ", "events.1.alb.conditions: ", "events.2.alb.conditions.ip: "} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func FuzzALBMatch(f *testing.F) {
	f.Add("/items/*", "GET", "*.example.com", "X-Role", "adm?n", "q", "shoe*", "/items/1", "GET", "a.example.com", "admin", "q=shoes", "10.0.0.1")
	f.Add("*", "", "", "", "", "", "", "/", "POST", "", "", "", "::1")
	f.Add("/a*b?c", "PUT", "H", "h", "*", "", "*", "/aXXbYc", "PUT", "h:80", "", "k=%zz&&=", "")
	f.Fuzz(func(t *testing.T, path, method, host, hname, hval, qk, qv, rpath, rmethod, rhost, rh, rq, rip string) {
		rule := &ALBRule{Paths: []string{path}, Hosts: []string{host}, Query: []ALBQueryCondition{{Key: qk, Value: qv}}}
		if method != "" {
			rule.Methods = []string{method}
		}
		if hname != "" {
			rule.Headers = []ALBHeaderCondition{{Name: hname, Values: []string{hval}}}
		}
		_, cidr, _ := net.ParseCIDR("10.0.0.0/8")
		rule.IPs = []*net.IPNet{cidr}
		q := &ALBRequest{Method: rmethod, Path: rpath, Host: rhost, Header: http.Header{}, RawQuery: rq, SourceIP: net.ParseIP(rip)}
		if hname != "" {
			q.Header.Set(hname, rh)
		}
		got := rule.Matches(q)
		// Dropping a condition can only widen the match.
		loose := *rule
		loose.IPs, loose.Query = nil, nil
		if got && !loose.Matches(q) {
			t.Fatalf("fewer conditions matched less: %+v on %+v", rule, q)
		}
		// A pattern without wildcards matches only itself.
		if !strings.ContainsAny(path, "*?") && got && rpath != path {
			t.Fatalf("path %q matched %q", path, rpath)
		}
		if !(&ALBRule{Paths: []string{"*"}}).Matches(q) {
			t.Fatalf("* did not match %q", rpath)
		}
	})
}
