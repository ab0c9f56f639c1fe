package runtimeapi

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

func listen(t testing.TB) *Server {
	t.Helper()
	s, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func url(s *Server, path string) string { return "http://" + s.Addr() + "/2018-06-01/runtime/" + path }

func do(t testing.TB, c *http.Client, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func get(t testing.TB, c *http.Client, u string) (int, http.Header, string) {
	req, _ := http.NewRequest("GET", u, nil)
	return do(t, c, req)
}

func post(t testing.TB, c *http.Client, u, body string, header map[string]string) (int, string) {
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	code, _, b := do(t, c, req)
	return code, b
}

func outcome(t testing.TB, inv *Invocation) Outcome {
	t.Helper()
	select {
	case o := <-inv.Done():
		return o
	case <-time.After(5 * time.Second):
		t.Fatal("no outcome")
		return Outcome{}
	}
}

func TestNextCarriesTheInvocation(t *testing.T) {
	s := listen(t)
	select {
	case <-s.Ready():
		t.Fatal("ready before the first poll")
	default:
	}
	deadline := time.UnixMilli(1893456000123)
	inv := NewInvocation("req-1", []byte(`{"k":"v"}`), deadline)
	inv.FunctionARN = "arn:aws:lambda:us-east-1:000000000000:function:f"
	inv.TraceID = "Root=1-abc"
	inv.ClientContext = `{"custom":{"a":"b"}}`
	inv.CognitoIdentity = "{\"cognitoIdentityId\":\"x\"}\r\nX-Injected: 1"
	if err := s.Dispatch(inv); err != nil {
		t.Fatal(err)
	}
	if err := s.Dispatch(NewInvocation("req-2", nil, deadline)); err == nil {
		t.Error("a second pending invocation was accepted")
	}

	c := &http.Client{}
	code, h, body := get(t, c, url(s, "invocation/next"))
	if code != 200 || body != `{"k":"v"}` {
		t.Fatalf("next = %d %q", code, body)
	}
	want := map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       "req-1",
		"Lambda-Runtime-Deadline-Ms":          "1893456000123",
		"Lambda-Runtime-Invoked-Function-Arn": inv.FunctionARN,
		"Lambda-Runtime-Trace-Id":             "Root=1-abc",
		"Lambda-Runtime-Client-Context":       inv.ClientContext,
		"Lambda-Runtime-Cognito-Identity":     `{"cognitoIdentityId":"x"}X-Injected: 1`,
		"Content-Type":                        "application/json",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if h.Get("X-Injected") != "" {
		t.Error("a header value split the response")
	}
	select {
	case <-s.Ready():
	default:
		t.Error("not ready after the first poll")
	}

	code, body = post(t, c, url(s, "invocation/req-1/response"), `{"ok":true}`, nil)
	if code != 202 || body != `{"status":"OK"}` {
		t.Errorf("response post = %d %q", code, body)
	}
	if o := outcome(t, inv); o.Failed || string(o.Payload) != `{"ok":true}` {
		t.Errorf("outcome = %+v", o)
	}
}

func TestErrorsAndRequestIDs(t *testing.T) {
	s := listen(t)
	c := &http.Client{}
	inv := NewInvocation("id-a", []byte(`{}`), time.Now().Add(time.Minute))
	s.Dispatch(inv)
	get(t, c, url(s, "invocation/next"))

	code, body := post(t, c, url(s, "invocation/other/response"), `{}`, nil)
	if code != 400 || !strings.Contains(body, `"errorType":"InvalidRequestID"`) {
		t.Errorf("wrong id = %d %s", code, body)
	}
	doc := `{"errorMessage":"boom","errorType":"MyError","stackTrace":["a"]}`
	code, _ = post(t, c, url(s, "invocation/id-a/error"), doc, map[string]string{"Lambda-Runtime-Function-Error-Type": "Runtime.MyError"})
	if code != 202 {
		t.Errorf("error post = %d", code)
	}
	o := outcome(t, inv)
	if !o.Failed || o.ErrorType != "Runtime.MyError" || string(o.Payload) != doc {
		t.Errorf("outcome = %+v", o)
	}
	// A second answer for a finished invocation is refused.
	if code, _ := post(t, c, url(s, "invocation/id-a/response"), `{}`, nil); code != 400 {
		t.Errorf("second answer = %d", code)
	}

	// An error post without a body still yields Lambda's error shape.
	inv2 := NewInvocation("id-b", []byte(`{}`), time.Now().Add(time.Minute))
	s.Dispatch(inv2)
	get(t, c, url(s, "invocation/next"))
	post(t, c, url(s, "invocation/id-b/error"), "", nil)
	var d ErrorDoc
	if o := outcome(t, inv2); json.Unmarshal(o.Payload, &d) != nil || d.ErrorType != "Runtime.Unknown" {
		t.Errorf("empty error = %s", o.Payload)
	}

	// After Abandon (timeout), a late answer does not leak into anything.
	inv3 := NewInvocation("id-c", []byte(`{}`), time.Now().Add(time.Minute))
	s.Dispatch(inv3)
	get(t, c, url(s, "invocation/next"))
	s.Abandon(inv3)
	if code, _ := post(t, c, url(s, "invocation/id-c/response"), `{}`, nil); code != 400 {
		t.Errorf("late answer = %d", code)
	}

	for _, tc := range []struct{ method, path string }{
		{"GET", "invocation/id-a/response"}, {"POST", "invocation/next"}, {"GET", "init/error"},
	} {
		req, _ := http.NewRequest(tc.method, url(s, tc.path), nil)
		if code, _, body := do(t, c, req); code != 405 || !strings.Contains(body, "errorType") {
			t.Errorf("%s %s = %d %s", tc.method, tc.path, code, body)
		}
	}
	for _, p := range []string{"invocation/x/other", "nothing", "invocation/"} {
		if code, _ := post(t, c, url(s, p), `{"big":"body"}`, nil); code != 404 {
			t.Errorf("POST %s = %d", p, code)
		}
	}
}

func TestInitError(t *testing.T) {
	s := listen(t)
	code, _ := post(t, &http.Client{}, url(s, "init/error"), `{"errorMessage":"bad","errorType":"Runtime.ImportModuleError"}`,
		map[string]string{"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
	if code != 202 {
		t.Fatalf("init error = %d", code)
	}
	select {
	case o := <-s.InitError():
		if o.ErrorType != "Runtime.ImportModuleError" || !strings.Contains(string(o.Payload), "bad") {
			t.Errorf("init outcome = %+v", o)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no init error")
	}
}

func TestResponseTooLarge(t *testing.T) {
	s := listen(t)
	c := &http.Client{}
	inv := NewInvocation("big", []byte(`{}`), time.Now().Add(time.Minute))
	s.Dispatch(inv)
	get(t, c, url(s, "invocation/next"))
	code, body := post(t, c, url(s, "invocation/big/response"), strings.Repeat("x", MaxResponseSize+1), nil)
	if code != 413 || !strings.Contains(body, "RequestEntityTooLarge") {
		t.Errorf("too large = %d %s", code, body)
	}
	if o := outcome(t, inv); !o.Failed || o.ErrorType != "Function.ResponseSizeTooLarge" {
		t.Errorf("outcome = %+v", o)
	}
}

// aws-lambda-go streams the response chunked and reports a failure that
// happens mid-stream in trailers.
func TestChunkedResponseWithTrailers(t *testing.T) {
	s := listen(t)
	c := &http.Client{}
	for _, tc := range []struct {
		name    string
		trailer http.Header
		failed  bool
	}{
		{"ok", nil, false},
		{"failed", http.Header{
			"Lambda-Runtime-Function-Error-Type": {"ReadError"},
			"Lambda-Runtime-Function-Error-Body": {base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"stream broke","errorType":"ReadError"}`))},
		}, true},
	} {
		inv := NewInvocation(tc.name, []byte(`{}`), time.Now().Add(time.Minute))
		s.Dispatch(inv)
		get(t, c, url(s, "invocation/next"))
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(`{"part":1,`))
			pw.Write([]byte(`"part2":2}`))
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", url(s, "invocation/"+tc.name+"/response"), pr)
		req.ContentLength = -1
		req.Trailer = tc.trailer
		if code, _, _ := do(t, c, req); code != 202 {
			t.Errorf("%s: status %d", tc.name, code)
		}
		o := outcome(t, inv)
		if tc.failed {
			if !o.Failed || o.ErrorType != "ReadError" || !strings.Contains(string(o.Payload), "stream broke") {
				t.Errorf("%s: %+v %s", tc.name, o, o.Payload)
			}
		} else if o.Failed || string(o.Payload) != `{"part":1,"part2":2}` {
			t.Errorf("%s: %+v %s", tc.name, o, o.Payload)
		}
	}
}

func TestKeepAliveAcrossInvocations(t *testing.T) {
	s := listen(t)
	c := &http.Client{}
	reused := 0
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if i.Reused {
			reused++
		}
	}}
	for i := range 5 {
		id := "k" + string(rune('0'+i))
		inv := NewInvocation(id, []byte(`{}`), time.Now().Add(time.Minute))
		s.Dispatch(inv)
		req, _ := http.NewRequest("GET", url(s, "invocation/next"), nil)
		do(t, c, req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
		req, _ = http.NewRequest("POST", url(s, "invocation/"+id+"/response"), strings.NewReader(`1`))
		do(t, c, req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
		outcome(t, inv)
	}
	if reused != 9 {
		t.Errorf("reused the connection %d times, want 9 of 10 requests", reused)
	}
}

func TestCloseEndsPendingPoll(t *testing.T) {
	s := listen(t)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(url(s, "invocation/next"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 500 {
				err = io.ErrUnexpectedEOF
			}
		}
		done <- err
	}()
	<-s.Ready()
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("poll still pending after Close")
	}
	if err := s.Dispatch(NewInvocation("x", nil, time.Now())); err == nil {
		t.Error("dispatch after Close succeeded")
	}
}

func TestExpectContinueAndHTTP10(t *testing.T) {
	s := listen(t)
	inv := NewInvocation("e1", []byte(`{}`), time.Now().Add(time.Minute))
	s.Dispatch(inv)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("next: %v %v", err, resp)
	}
	io.Copy(io.Discard, resp.Body)
	io.WriteString(c, "POST /2018-06-01/runtime/invocation/e1/response HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
	line, _ := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, want 100 Continue", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "42")
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("response: %v %v", err, resp)
	}
	if o := outcome(t, inv); string(o.Payload) != "42" {
		t.Errorf("payload %q", o.Payload)
	}
	io.Copy(io.Discard, resp.Body)
	// HTTP/1.0 closes the connection after the answer.
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection left open after HTTP/1.0: %v", err)
	}
}

func TestMalformedRequests(t *testing.T) {
	s := listen(t)
	for _, raw := range []string{
		"garbage\r\n\r\n",
		"GET /x HTTP/2.0\r\n\r\n",
		"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
		"GET /x HTTP/1.1\r\nno colon here\r\n\r\n",
		"GET /" + strings.Repeat("a", 20000) + " HTTP/1.1\r\n\r\n",
	} {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, raw)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode < 400 {
			t.Errorf("%.30q: %v %v", raw, err, resp)
		} else if body, _ := io.ReadAll(resp.Body); !bytes.Contains(body, []byte(`"errorType"`)) {
			t.Errorf("%.30q: body %s", raw, body)
		}
		c.Close()
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n3\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: X\r\n\r\n"))
	f.Add([]byte("POST /x HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &conn{br: bufio.NewReaderSize(bytes.NewReader(data), 256), bw: bufio.NewWriter(io.Discard)}
		for range 4 {
			req, err := c.readRequest()
			if err != nil {
				return
			}
			if req.contentLength > int64(len(data)) && !req.chunked {
				return // would wait for bytes that never come
			}
			if _, err := c.readBody(req); err != nil {
				return
			}
		}
	})
}

func BenchmarkRoundTrip(b *testing.B) {
	s := listen(b)
	payload := []byte(`{"say":"benchmark"}`)
	// The runtime side is a plain keep-alive net/http client, as in
	// aws-lambda-go.
	go func() {
		c := &http.Client{}
		for {
			resp, err := c.Get(url(s, "invocation/next"))
			if err != nil {
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
			r, err := c.Post(url(s, "invocation/"+id+"/response"), "application/json", bytes.NewReader(body))
			if err != nil {
				return
			}
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
	}()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		inv := NewInvocation("bench", payload, time.Now().Add(time.Minute))
		if err := s.Dispatch(inv); err != nil {
			b.Fatal(err)
		}
		if o := <-inv.Done(); o.Failed {
			b.Fatal(string(o.Payload))
		}
	}
}

func TestWithdrawOnlyBeforeThePoll(t *testing.T) {
	s := listen(t)
	deadline := time.Now().Add(time.Minute)
	pending := NewInvocation("req-1", []byte(`{}`), deadline)
	s.Dispatch(pending)
	if other := NewInvocation("req-0", nil, deadline); s.Withdraw(other) {
		t.Error("withdrew an invocation that was never dispatched")
	}
	if !s.Withdraw(pending) {
		t.Fatal("could not withdraw an invocation nobody polled")
	}
	taken := NewInvocation("req-2", []byte(`{"n":2}`), deadline)
	if err := s.Dispatch(taken); err != nil {
		t.Fatalf("queue not free after Withdraw: %v", err)
	}
	if code, _, body := get(t, &http.Client{}, url(s, "invocation/next")); code != 200 || body != `{"n":2}` {
		t.Fatalf("next = %d %q", code, body)
	}
	if s.Withdraw(taken) {
		t.Error("withdrew an invocation the runtime already holds")
	}
}
