package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/service"
)

// ALBRule is one `alb` event: a listener rule forwarding to the
// function's target group when every condition matches.
type ALBRule struct {
	Function string
	Listener string // listenerArn as written; its account is the target group's
	Priority int
	// Conditions; within one, any value matches (ALB's OR), across them all
	// must match (AND). Empty means "not constrained".
	Paths   []string // path-pattern, case-sensitive, * and ? wildcards
	Methods []string // exact, case-sensitive
	Hosts   []string // host-header, case-insensitive wildcards
	Headers []ALBHeaderCondition
	Query   []ALBQueryCondition
	IPs     []*net.IPNet
	// MultiValueHeaders is the target group's lambda.multi_value_headers.enabled.
	MultiValueHeaders bool
	TargetGroupArn    string
}

// ALBHeaderCondition is an http-header condition.
type ALBHeaderCondition struct {
	Name   string
	Values []string
}

// ALBQueryCondition is one key/value pair of a query-string condition; an
// empty Key matches any key.
type ALBQueryCondition struct {
	Key, Value string
}

// ALBRulesFromService reads every alb event, sorted as the listener
// evaluates them: lowest priority first.
func ALBRulesFromService(svc *service.Service) ([]*ALBRule, diag.Diagnostics) {
	var ds diag.Diagnostics
	var rules []*ALBRule
	for _, fn := range svc.Functions {
		for _, ev := range fn.Events {
			if ev.Type != "alb" {
				continue
			}
			path := "functions." + fn.Key + ".events." + itoa(ev.Index) + ".alb"
			if r := albRule(svc, fn, ev, path, &ds); r != nil {
				rules = append(rules, r)
			}
		}
	}
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
	return rules, ds
}

func albRule(svc *service.Service, fn *service.Function, ev service.Event, path string, ds *diag.Diagnostics) *ALBRule {
	v := ev.Value
	if v == nil || v.Kind != config.Map {
		ds.Errorf(ev.Pos, path, "alb event must be an object with listenerArn, priority and conditions")
		return nil
	}
	r := &ALBRule{Function: fn.Key, MultiValueHeaders: v.Get("multiValueHeaders").Truthy()}
	if s, ok := v.Get("listenerArn").Str(); ok {
		r.Listener = s
	} else if ref := v.Get("listenerArn").Get("Ref"); ref != nil {
		r.Listener = ref.Scalar0()
	}
	pn := v.Get("priority")
	p, ok := pn.Int()
	if !ok {
		if s, isStr := pn.Str(); isStr {
			n, err := strconv.Atoi(s)
			p, ok = int64(n), err == nil
		}
	}
	if !ok || p < 1 || p > 50000 {
		pos := ev.Pos
		if pn != nil {
			pos = pn.Pos
		}
		ds.Errorf(pos, path+".priority", "alb priority must be a number from 1 to 50000")
		return nil
	}
	r.Priority = int(p)
	c := v.Get("conditions")
	if c == nil || c.Kind != config.Map || len(c.Pairs) == 0 {
		ds.Errorf(v.Pos, path+".conditions", "alb event needs conditions (path, method, host, header, query or ip)")
		return nil
	}
	r.Paths, r.Methods, r.Hosts = scalarList(c.Get("path")), scalarList(c.Get("method")), scalarList(c.Get("host"))
	if h := c.Get("header"); h != nil {
		items := []*config.Node{h}
		if h.Kind == config.Seq {
			items = h.Items
		}
		for _, it := range items {
			name := it.Get("name").Scalar0()
			if name == "" {
				ds.Errorf(it.Pos, path+".conditions.header", "header condition needs a name")
				return nil
			}
			r.Headers = append(r.Headers, ALBHeaderCondition{Name: name, Values: scalarList(it.Get("values"))})
		}
	}
	if q := c.Get("query"); q != nil {
		for _, kv := range q.Pairs {
			r.Query = append(r.Query, ALBQueryCondition{Key: kv.Key, Value: kv.Value.Scalar0()})
		}
	}
	for _, ipn := range scalarListNodes(c.Get("ip")) {
		s := ipn.Scalar0()
		if !strings.Contains(s, "/") {
			if strings.Contains(s, ":") {
				s += "/128"
			} else {
				s += "/32"
			}
		}
		_, cidr, err := net.ParseCIDR(s)
		if err != nil {
			ds.Errorf(ipn.Pos, path+".conditions.ip", "%q is not an IP address or CIDR block", ipn.Scalar0())
			return nil
		}
		r.IPs = append(r.IPs, cidr)
	}
	// An ARN shaped like the real one, stable per function and rule.
	sum := sha256.Sum256([]byte(svc.Name + "/" + svc.Stage + "/" + fn.Key + "/" + strconv.Itoa(r.Priority)))
	name := fn.Name
	if len(name) > 32 {
		name = name[:32]
	}
	r.TargetGroupArn = "arn:aws:elasticloadbalancing:" + svc.Region + ":" + listenerAccount(r.Listener) + ":targetgroup/" + name + "/" + hex.EncodeToString(sum[:8])
	return r
}

// listenerAccount is the account of a literal listener ARN, where the
// target group lives too; local.AccountID otherwise (a Ref, say).
func listenerAccount(listenerARN string) string {
	if parts := strings.SplitN(listenerARN, ":", 6); len(parts) == 6 && parts[0] == "arn" && parts[4] != "" {
		return parts[4]
	}
	return local.AccountID
}

func scalarListNodes(n *config.Node) []*config.Node {
	if n == nil {
		return nil
	}
	if n.Kind == config.Seq {
		return n.Items
	}
	return []*config.Node{n}
}

func scalarList(n *config.Node) []string {
	var out []string
	for _, it := range scalarListNodes(n) {
		out = append(out, it.Scalar0())
	}
	return out
}

// ALBRequest is what a listener rule looks at.
type ALBRequest struct {
	Method, Path, Host string
	Header             http.Header
	RawQuery           string
	SourceIP           net.IP
}

// Matches reports whether every condition of the rule holds.
func (r *ALBRule) Matches(q *ALBRequest) bool {
	if len(r.Paths) > 0 && !anyGlob(r.Paths, q.Path, false) {
		return false
	}
	if len(r.Methods) > 0 {
		ok := false
		for _, m := range r.Methods {
			ok = ok || m == q.Method
		}
		if !ok {
			return false
		}
	}
	if len(r.Hosts) > 0 {
		host := q.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !anyGlob(r.Hosts, host, true) {
			return false
		}
	}
	for _, h := range r.Headers {
		ok := false
		for _, v := range q.Header.Values(h.Name) {
			if anyGlob(h.Values, v, true) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(r.Query) > 0 && !r.queryMatches(q.RawQuery) {
		return false
	}
	if len(r.IPs) > 0 {
		ok := false
		for _, n := range r.IPs {
			ok = ok || (q.SourceIP != nil && n.Contains(q.SourceIP))
		}
		if !ok {
			return false
		}
	}
	return true
}

// queryMatches: any configured pair matching any parameter (ALB compares
// the URL-decoded key and value case-insensitively, with wildcards).
func (r *ALBRule) queryMatches(raw string) bool {
	for _, kv := range splitQuery(raw) {
		k, v := unescapeQuery(kv[0]), unescapeQuery(kv[1])
		for _, c := range r.Query {
			if (c.Key == "" || globMatch(strings.ToLower(c.Key), strings.ToLower(k))) && globMatch(strings.ToLower(c.Value), strings.ToLower(v)) {
				return true
			}
		}
	}
	return false
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// splitQuery splits a raw query into key/value pairs without decoding
// them: ALB hands the values to the function still URL-encoded.
func splitQuery(raw string) [][2]string {
	var out [][2]string
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out = append(out, [2]string{k, v})
	}
	return out
}

func anyGlob(patterns []string, s string, fold bool) bool {
	if fold {
		s = strings.ToLower(s)
	}
	for _, p := range patterns {
		if fold {
			p = strings.ToLower(p)
		}
		if globMatch(p, s) {
			return true
		}
	}
	return false
}

// ALBConfig is what an ALB serves.
type ALBConfig struct {
	Rules   []*ALBRule // in priority order
	Invoker local.Invoker
	// Stage lets serverless-offline's /{stage}/path URLs reach rules whose
	// paths do not match the full path (ALB itself has no stage).
	Stage string
	Log   func(line string)
}

// ALB is an http.Handler emulating an Application Load Balancer listener
// with Lambda target groups.
type ALB struct{ cfg ALBConfig }

// NewALB builds the listener.
func NewALB(cfg ALBConfig) *ALB { return &ALB{cfg: cfg} }

// Rules lists the rules in evaluation order.
func (a *ALB) Rules() []*ALBRule { return a.cfg.Rules }

const albMaxResponse = 1 << 20 // Lambda responses over 1 MB are a 502 on ALB

// ServeHTTP implements http.Handler.
func (a *ALB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := &ALBRequest{Method: r.Method, Path: r.URL.Path, Host: r.Host, Header: r.Header, RawQuery: r.URL.RawQuery,
		SourceIP: net.ParseIP(sourceIP(r))}
	rule := a.match(q)
	if rule == nil && a.cfg.Stage != "" {
		if rest, ok := stripStage(q.Path, a.cfg.Stage); ok {
			q.Path = rest
			rule = a.match(q)
		}
	}
	if rule == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("Not Found"))
		return
	}
	if a.cfg.Log != nil {
		a.cfg.Log("ALB " + r.Method + " " + r.URL.Path + " (λ: " + rule.Function + ")")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeALBError(w)
		return
	}
	payload, _ := json.Marshal(albEvent(rule, q, r, body))
	res, err := a.cfg.Invoker.Invoke(r.Context(), rule.Function, payload)
	if err != nil {
		if a.cfg.Log != nil {
			a.cfg.Log("λ " + rule.Function + ": " + err.Error())
		}
		writeALBError(w)
		return
	}
	if res.FunctionError != "" {
		if a.cfg.Log != nil {
			a.cfg.Log("λ " + rule.Function + " failed: " + string(res.Payload))
		}
		writeALBError(w)
		return
	}
	if !writeALBResponse(w, res.Payload, rule.MultiValueHeaders) && a.cfg.Log != nil {
		a.cfg.Log("λ " + rule.Function + ": not a valid ALB response (needs statusCode; body a string): " + string(res.Payload))
	}
}

func (a *ALB) match(q *ALBRequest) *ALBRule {
	for _, r := range a.cfg.Rules {
		if r.Matches(q) {
			return r
		}
	}
	return nil
}

// albTargetEvent is the event ALB sends a Lambda target, field for field
// as aws-lambda-go's ALBTargetGroupRequest reads it.
type albTargetEvent struct {
	RequestContext struct {
		ELB struct {
			TargetGroupArn string `json:"targetGroupArn"`
		} `json:"elb"`
	} `json:"requestContext"`
	HTTPMethod string `json:"httpMethod"`
	Path       string `json:"path"`
	// Pointers: ALB sends {} for an empty query, and leaves out the
	// flavour (single or multi-value) the target group does not use.
	QueryStringParameters           *map[string]string   `json:"queryStringParameters,omitempty"`
	MultiValueQueryStringParameters *map[string][]string `json:"multiValueQueryStringParameters,omitempty"`
	Headers                         *map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders               *map[string][]string `json:"multiValueHeaders,omitempty"`
	Body                            string               `json:"body"`
	IsBase64Encoded                 bool                 `json:"isBase64Encoded"`
}

func albEvent(rule *ALBRule, q *ALBRequest, r *http.Request, body []byte) *albTargetEvent {
	ev := &albTargetEvent{HTTPMethod: r.Method, Path: r.URL.EscapedPath()}
	ev.RequestContext.ELB.TargetGroupArn = rule.TargetGroupArn
	// ALB lower-cases header names and adds its forwarding headers.
	hs := map[string][]string{"host": {r.Host}}
	for k, vs := range r.Header {
		hs[strings.ToLower(k)] = append(hs[strings.ToLower(k)], vs...)
	}
	ip := ""
	if q.SourceIP != nil {
		ip = q.SourceIP.String()
	}
	if prev := hs["x-forwarded-for"]; len(prev) > 0 {
		hs["x-forwarded-for"] = []string{strings.Join(prev, ", ") + ", " + ip}
	} else {
		hs["x-forwarded-for"] = []string{ip}
	}
	port := "80"
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = p
	}
	hs["x-forwarded-port"], hs["x-forwarded-proto"] = []string{port}, []string{"http"}
	hs["x-amzn-trace-id"] = []string{"Root=1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + strings.ReplaceAll(newRequestID(), "-", "")[:24]}
	query := splitQuery(r.URL.RawQuery)
	if rule.MultiValueHeaders {
		mq := map[string][]string{}
		for _, kv := range query {
			mq[kv[0]] = append(mq[kv[0]], kv[1])
		}
		ev.MultiValueHeaders, ev.MultiValueQueryStringParameters = &hs, &mq
	} else {
		h := make(map[string]string, len(hs))
		for k, vs := range hs {
			h[k] = vs[len(vs)-1]
		}
		q := map[string]string{}
		for _, kv := range query {
			q[kv[0]] = kv[1]
		}
		ev.Headers, ev.QueryStringParameters = &h, &q
	}
	if len(body) > 0 {
		if albBinary(r.Header, body) {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		} else {
			ev.Body = string(body)
		}
	}
	return ev
}

// albBinary: ALB passes text bodies as they are and base64-encodes the rest.
func albBinary(h http.Header, body []byte) bool {
	if h.Get("Content-Encoding") != "" {
		return true
	}
	return isBinary(h.Get("Content-Type")) || !utf8.Valid(body)
}

// writeALBResponse maps the function's answer; anything but an object
// with a statusCode and a string body is ALB's 502.
func writeALBResponse(w http.ResponseWriter, payload []byte, multi bool) bool {
	var out struct {
		StatusCode        json.RawMessage     `json:"statusCode"`
		StatusDescription string              `json:"statusDescription"`
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		Body              *string             `json:"body"`
		IsBase64Encoded   bool                `json:"isBase64Encoded"`
	}
	p := bytes.TrimSpace(payload)
	if len(p) == 0 || p[0] != '{' || json.Unmarshal(p, &out) != nil || len(out.StatusCode) == 0 || len(payload) > albMaxResponse {
		writeALBError(w)
		return false
	}
	code, err := strconv.Atoi(strings.Trim(string(out.StatusCode), `"`))
	if err != nil || code < 100 || code > 599 {
		writeALBError(w)
		return false
	}
	var body []byte
	if out.Body != nil {
		body = []byte(*out.Body)
		if out.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(*out.Body); err != nil {
				writeALBError(w)
				return false
			}
		}
	}
	h := w.Header()
	// With multi-value headers on, ALB reads only multiValueHeaders; off,
	// only headers.
	if multi {
		for k, vs := range out.MultiValueHeaders {
			h[http.CanonicalHeaderKey(k)] = vs
		}
	} else {
		for k, v := range out.Headers {
			h.Set(k, v)
		}
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // ALB adds none; keep net/http from sniffing one
	}
	w.WriteHeader(code)
	w.Write(body)
	return true
}

// writeALBError is the page ALB answers with when its Lambda target fails.
func writeALBError(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadGateway)
	w.Write([]byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"))
}
