package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/nimbusfw/nimbus/internal/local"
)

func TestRouteSelectionExpression(t *testing.T) {
	cases := []struct {
		expr, body string
		want       string
		ok         bool
	}{
		{"$request.body.action", `{"action":"send"}`, "send", true},
		{"$request.body.action", `{"action":7}`, "7", true},
		{"$request.body.action", `{"action":true}`, "true", true},
		{"$request.body.action", `{"action":{"x":1}}`, "", false},
		{"$request.body.action", `{"other":"send"}`, "", false},
		{"$request.body.action", `not json`, "", false},
		{"$request.body.action", `["send"]`, "", false},
		{"$request.body.meta.kind", `{"meta":{"kind":"ping"}}`, "ping", true},
		{"${request.body.service}/${request.body.action}", `{"service":"chat","action":"join"}`, "chat/join", true},
		{"${request.body.version}-beta", `{"version":"2"}`, "2-beta", true},
		{`\$default`, `{}`, "$default", true},
	}
	for _, c := range cases {
		e, err := parseSelectionExpression(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		got, ok := e.routeKey([]byte(c.body))
		if got != c.want || ok != c.ok {
			t.Errorf("%s on %s = %q,%v; want %q,%v", c.expr, c.body, got, ok, c.want, c.ok)
		}
	}
	for _, bad := range []string{"$request.header.x", "${request.body.action", "$context.routeKey"} {
		if _, err := parseSelectionExpression(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func FuzzRouteSelectionExpression(f *testing.F) {
	f.Add("$request.body.action", []byte(`{"action":"send"}`))
	f.Add("${request.body.a}/${request.body.b.c}", []byte(`{"a":"x","b":{"c":1.5e3}}`))
	f.Add(`\$default-$request.body.x.`, []byte(`{"x":"y"}`))
	f.Add("${", []byte(`{`))
	f.Fuzz(func(t *testing.T, expr string, body []byte) {
		e, err := parseSelectionExpression(expr)
		if err != nil {
			return
		}
		key, ok := e.routeKey(body)
		if !ok && key != "" {
			t.Fatalf("no match but key %q", key)
		}
		// Literal-only expressions select their own text for any JSON object.
		literal := true
		for _, p := range e {
			literal = literal && p.path == nil
		}
		if literal && json.Valid(body) && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) && ok {
			var want strings.Builder
			for _, p := range e {
				want.WriteString(p.literal)
			}
			if key != want.String() {
				t.Fatalf("literal expression %q selected %q", expr, key)
			}
		}
	})
}

const wsService = `service: chat
provider:
  name: aws
  runtime: nodejs20.x
functions:
  connect:
    handler: h.connect
    events:
      - websocket: $connect
  disconnect:
    handler: h.disconnect
    events:
      - websocket: {route: $disconnect}
  send:
    handler: h.send
    events:
      - websocket: {route: send, routeResponseSelectionExpression: $default}
  quiet:
    handler: h.quiet
    events:
      - websocket: {route: quiet}
  boom:
    handler: h.boom
    events:
      - websocket: {route: boom}
`

func startWS(t *testing.T, yml string, inv *fakeInvoker) (*WebSocketAPI, *httptest.Server) {
	t.Helper()
	svc := loadService(t, yml)
	routes, expr, ds := WebSocketRoutesFromService(svc)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	api := NewWebSocketAPI(WebSocketConfig{Routes: routes, RouteSelectionExpression: expr, Invoker: inv, Service: svc.Name, Stage: svc.Stage, Region: svc.Region})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		api.Close(ctx)
		srv.Close()
	})
	return api, srv
}

func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func waitCalls(t *testing.T, inv *fakeInvoker, fn string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		inv.mu.Lock()
		got := len(inv.calls[fn])
		inv.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s was invoked fewer than %d times", fn, n)
}

func TestWebSocketLifecycle(t *testing.T) {
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){
		"send": func(p []byte) (*local.Result, error) {
			var ev events.APIGatewayWebsocketProxyRequest
			json.Unmarshal(p, &ev)
			out, _ := json.Marshal(map[string]any{"statusCode": 200, "body": "echo:" + ev.Body})
			return &local.Result{Payload: out}, nil
		},
		"quiet": func([]byte) (*local.Result, error) {
			return &local.Result{Payload: []byte(`{"statusCode":200,"body":"not sent: one-way route"}`)}, nil
		},
		"boom": func(p []byte) (*local.Result, error) {
			if strings.Contains(string(p), "slow") {
				return nil, &local.TimeoutError{}
			}
			return &local.Result{Payload: []byte(`{"errorMessage":"x"}`), FunctionError: "Unhandled"}, nil
		},
	}}
	_, srv := startWS(t, wsService, inv)
	ctx := context.Background()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/dev?room=1&room=2&user=ann", &websocket.DialOptions{
		HTTPHeader: http.Header{"X-Custom": {"a"}, "User-Agent": {"wstest"}},
	})
	if err != nil {
		t.Fatal(err, resp)
	}
	connect := strictDecode[events.APIGatewayWebsocketProxyRequest](t, inv.last(t, "connect"))
	rc := connect.RequestContext
	if rc.RouteKey != "$connect" || rc.EventType != "CONNECT" || rc.Stage != "dev" || rc.ConnectionID == "" || rc.APIID == "" ||
		rc.ConnectedAt == 0 || rc.RequestTimeEpoch == 0 || rc.Identity.SourceIP != "127.0.0.1" || rc.Identity.UserAgent != "wstest" ||
		rc.DomainName != strings.TrimPrefix(srv.URL, "http://") || rc.MessageDirection != "IN" || rc.MessageID != nil {
		t.Errorf("connect requestContext: %+v", rc)
	}
	if connect.Headers["X-Custom"] != "a" || connect.MultiValueHeaders["X-Custom"][0] != "a" || connect.Headers["Host"] == "" {
		t.Errorf("connect headers: %v %v", connect.Headers, connect.MultiValueHeaders)
	}
	if connect.QueryStringParameters["user"] != "ann" || connect.QueryStringParameters["room"] != "2" ||
		strings.Join(connect.MultiValueQueryStringParameters["room"], ",") != "1,2" {
		t.Errorf("connect query: %v %v", connect.QueryStringParameters, connect.MultiValueQueryStringParameters)
	}
	id := rc.ConnectionID

	// A custom route with a route response answers on the socket.
	c.Write(ctx, websocket.MessageText, []byte(`{"action":"send","text":"hi"}`))
	if got := readText(t, c); got != `echo:{"action":"send","text":"hi"}` {
		t.Errorf("two-way reply = %q", got)
	}
	msg := strictDecode[events.APIGatewayWebsocketProxyRequest](t, inv.last(t, "send"))
	if msg.RequestContext.RouteKey != "send" || msg.RequestContext.EventType != "MESSAGE" || msg.RequestContext.ConnectionID != id ||
		msg.RequestContext.MessageID == nil || msg.RequestContext.ConnectedAt != rc.ConnectedAt || msg.IsBase64Encoded || msg.Body == "" {
		t.Errorf("message event: %+v", msg)
	}

	// A one-way route's answer stays on the server; an unmatched message
	// without $default gets API Gateway's Forbidden frame.
	c.Write(ctx, websocket.MessageText, []byte(`{"action":"quiet"}`))
	waitCalls(t, inv, "quiet", 1)
	c.Write(ctx, websocket.MessageText, []byte(`{"action":"nope"}`))
	var frame map[string]string
	json.Unmarshal([]byte(readText(t, c)), &frame)
	if frame["message"] != "Forbidden" || frame["connectionId"] != id || frame["requestId"] == "" {
		t.Errorf("unmatched frame = %v", frame)
	}
	c.Write(ctx, websocket.MessageText, []byte(`{"action":"boom"}`))
	json.Unmarshal([]byte(readText(t, c)), &frame)
	if frame["message"] != "Internal server error" {
		t.Errorf("failure frame = %v", frame)
	}
	c.Write(ctx, websocket.MessageText, []byte(`{"action":"boom","slow":true}`))
	json.Unmarshal([]byte(readText(t, c)), &frame)
	if frame["message"] != "Endpoint request timed out" {
		t.Errorf("timeout frame = %v", frame)
	}

	// @connections: post, get, and gone for unknown ids.
	for _, base := range []string{srv.URL, srv.URL + "/dev"} {
		r, err := http.Post(base+"/@connections/"+id, "application/octet-stream", strings.NewReader("pushed"))
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("post: %v %v", err, r)
		}
		if got := readText(t, c); got != "pushed" {
			t.Errorf("pushed frame = %q", got)
		}
	}
	r, _ := http.Get(srv.URL + "/@connections/" + id)
	body, _ := io.ReadAll(r.Body)
	var info struct {
		ConnectedAt string            `json:"connectedAt"`
		Identity    map[string]string `json:"identity"`
	}
	json.Unmarshal(body, &info)
	if r.StatusCode != 200 || info.Identity["sourceIp"] != "127.0.0.1" || info.ConnectedAt == "" {
		t.Errorf("get connection: %d %s", r.StatusCode, body)
	}
	r, _ = http.Post(srv.URL+"/@connections/unknown", "text/plain", strings.NewReader("x"))
	if r.StatusCode != http.StatusGone || r.Header.Get("X-Amzn-Errortype") != "GoneException" {
		t.Errorf("post to unknown connection: %d", r.StatusCode)
	}

	// DELETE closes the connection; $disconnect follows.
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/@connections/"+id, nil)
	r, _ = http.DefaultClient.Do(req)
	if r.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %d", r.StatusCode)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, _, err := c.Read(rctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after delete the client reads %v", err)
	}
	waitCalls(t, inv, "disconnect", 1)
	dis := strictDecode[events.APIGatewayWebsocketProxyRequest](t, inv.last(t, "disconnect"))
	if dis.RequestContext.EventType != "DISCONNECT" || dis.RequestContext.RouteKey != "$disconnect" || dis.RequestContext.ConnectionID != id ||
		dis.RequestContext.DisconnectStatusCode != 1000 {
		t.Errorf("disconnect event: %+v", dis.RequestContext)
	}
	r, _ = http.Post(srv.URL+"/@connections/"+id, "text/plain", strings.NewReader("x"))
	if r.StatusCode != http.StatusGone {
		t.Errorf("post after disconnect: %d", r.StatusCode)
	}
}

func TestWebSocketDefaultRouteAndBinary(t *testing.T) {
	yml := strings.Replace(wsService, "  boom:\n", "  fallback:\n    handler: h.fallback\n    events:\n      - websocket: {route: $default, routeResponseSelectionExpression: $default}\n  boom:\n", 1)
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){
		"fallback": func(p []byte) (*local.Result, error) {
			var ev events.APIGatewayWebsocketProxyRequest
			json.Unmarshal(p, &ev)
			out, _ := json.Marshal(map[string]any{"body": ev.RequestContext.RouteKey + ":" + ev.Body + ":" + map[bool]string{true: "b64", false: "text"}[ev.IsBase64Encoded]})
			return &local.Result{Payload: out}, nil
		},
	}}
	_, srv := startWS(t, yml, inv)
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, m := range []struct {
		typ      websocket.MessageType
		in, want string
	}{
		{websocket.MessageText, "plain text", "$default:plain text:text"},
		{websocket.MessageText, `{"action":"unknown"}`, `$default:{"action":"unknown"}:text`},
		{websocket.MessageText, `{"action":"$connect"}`, `$default:{"action":"$connect"}:text`},
		{websocket.MessageBinary, "\x00\x01", "$default:AAE=:b64"},
	} {
		c.Write(ctx, m.typ, []byte(m.in))
		if got := readText(t, c); got != m.want {
			t.Errorf("%q: got %q, want %q", m.in, got, m.want)
		}
	}
}

func TestWebSocketConnectRefused(t *testing.T) {
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){
		"connect": func(p []byte) (*local.Result, error) {
			return &local.Result{Payload: []byte(`{"statusCode":401,"body":"no"}`)}, nil
		},
	}}
	_, srv := startWS(t, wsService, inv)
	_, resp, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("dial: %v %v", err, resp)
	}
	inv.mu.Lock()
	n := len(inv.calls["disconnect"])
	inv.mu.Unlock()
	if n != 0 {
		t.Errorf("a refused connection ran $disconnect")
	}
	// A plain HTTP request is told to upgrade.
	r, _ := http.Get(srv.URL + "/dev")
	if r.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("plain GET: %d", r.StatusCode)
	}
}

func TestWebSocketAuthorizer(t *testing.T) {
	yml := `service: chat
provider: {name: aws, runtime: nodejs20.x}
functions:
  auth:
    handler: h.auth
  connect:
    handler: h.connect
    events:
      - websocket: {route: $connect, authorizer: {name: auth, identitySource: [route.request.querystring.token]}}
  send:
    handler: h.send
    events:
      - websocket: {route: $default}
`
	inv := &fakeInvoker{handlers: map[string]func([]byte) (*local.Result, error){
		"auth": func(p []byte) (*local.Result, error) {
			var ev struct {
				Type, MethodArn       string
				QueryStringParameters map[string]string
			}
			json.Unmarshal(p, &ev)
			effect := "Deny"
			if ev.QueryStringParameters["token"] == "good" {
				effect = "Allow"
			}
			out, _ := json.Marshal(map[string]any{"principalId": "ann", "context": map[string]any{"role": "admin"},
				"policyDocument": map[string]any{"Statement": []any{map[string]any{"Effect": effect, "Action": "execute-api:Invoke", "Resource": ev.MethodArn}}}})
			return &local.Result{Payload: out}, nil
		},
	}}
	_, srv := startWS(t, yml, inv)
	base := "ws" + strings.TrimPrefix(srv.URL, "http") + "/dev"
	ctx := context.Background()
	if _, resp, err := websocket.Dial(ctx, base, nil); err == nil || resp.StatusCode != 401 {
		t.Errorf("without token: %v %v", err, resp)
	}
	if _, resp, err := websocket.Dial(ctx, base+"?token=bad", nil); err == nil || resp.StatusCode != 403 {
		t.Errorf("denied: %v %v", err, resp)
	}
	c, _, err := websocket.Dial(ctx, base+"?token=good", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var authEv struct{ Type, MethodArn string }
	json.Unmarshal(inv.last(t, "auth"), &authEv)
	if authEv.Type != "REQUEST" || !strings.HasSuffix(authEv.MethodArn, "/dev/$connect") {
		t.Errorf("authorizer event: %+v", authEv)
	}
	c.Write(ctx, websocket.MessageText, []byte("hi"))
	waitCalls(t, inv, "send", 1)
	ev := strictDecode[events.APIGatewayWebsocketProxyRequest](t, inv.last(t, "send"))
	a, _ := ev.RequestContext.Authorizer.(map[string]any)
	if a["principalId"] != "ann" || a["role"] != "admin" {
		t.Errorf("authorizer context on messages: %v", ev.RequestContext.Authorizer)
	}
}

func TestWebSocketRoutesDiagnostics(t *testing.T) {
	svc := loadService(t, `service: chat
provider:
  name: aws
  websocketsApiRouteSelectionExpression: $request.header.route
functions:
  a:
    handler: h.a
    events:
      - websocket: {route: send}
      - websocket: {}
  b:
    handler: h.b
    events:
      - websocket: send
`)
	_, _, ds := WebSocketRoutesFromService(svc)
	var msgs []string
	for _, d := range ds {
		msgs = append(msgs, d.Path+": "+d.Summary)
		if d.Pos.Line == 0 {
			t.Errorf("%s has no position", d.Summary)
		}
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"provider.websocketsApiRouteSelectionExpression: ",
		"functions.a.events.1.websocket: websocket event needs a route",
		`functions.b.events.0.websocket: route "send" is already served by function "a"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
}

func TestWebSocketServerSideClosing(t *testing.T) {
	inv := &fakeInvoker{}
	svc := loadService(t, wsService)
	routes, expr, _ := WebSocketRoutesFromService(svc)
	api := NewWebSocketAPI(WebSocketConfig{Routes: routes, RouteSelectionExpression: expr, Invoker: inv, Stage: "dev", IdleTimeout: 50 * time.Millisecond})
	srv := httptest.NewServer(api)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx := context.Background()
	read := func(c *websocket.Conn) error {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, _, err := c.Read(rctx)
		return err
	}

	// A quiet connection is closed with 1001 after the idle timeout.
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := read(c); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("idle connection: %v", err)
	}
	waitCalls(t, inv, "disconnect", 1)

	api.cfg.IdleTimeout = time.Hour // the rest must not race the idle timer

	// A message over 128 KB closes the connection with 1009, as API Gateway does.
	c, _, err = websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(ctx, websocket.MessageText, bytes.Repeat([]byte("x"), wsMaxMessage+1))
	if err := read(c); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("oversized message: %v", err)
	}
	waitCalls(t, inv, "disconnect", 2)
	if ev := strictDecode[events.APIGatewayWebsocketProxyRequest](t, inv.last(t, "disconnect")); ev.RequestContext.DisconnectStatusCode != 1009 {
		t.Errorf("disconnect after oversized message: %d", ev.RequestContext.DisconnectStatusCode)
	}

	// Shutting down closes open connections with 1001 and runs $disconnect
	// before Close returns; new connections are refused.
	c, _, err = websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	go read(c) // the client answers the close handshake
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	api.Close(cctx)
	inv.mu.Lock()
	n := len(inv.calls["disconnect"])
	inv.mu.Unlock()
	if n != 3 {
		t.Errorf("$disconnect ran %d times by the end of Close, want 3", n)
	}
	if ev := strictDecode[events.APIGatewayWebsocketProxyRequest](t, inv.last(t, "disconnect")); ev.RequestContext.DisconnectStatusCode != 1001 {
		t.Errorf("disconnect at shutdown: %d", ev.RequestContext.DisconnectStatusCode)
	}
	if _, resp, err := websocket.Dial(ctx, url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Close: %v", err)
	}
}
