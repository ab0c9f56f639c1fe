// Package dev runs a whole service on this machine for `nimbus dev`: the
// instance pool, the API Gateway emulation (REST, HTTP and WebSocket
// APIs), the ALB emulation, Lambda's Invoke API, schedules,
// durable queues, topics, buses, the local SQS/SNS/EventBridge endpoints
// and hot reload, started together and shut down together.
package dev

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/local/awsapi"
	"github.com/nimbusfw/nimbus/internal/local/bus"
	"github.com/nimbusfw/nimbus/internal/local/gateway"
	"github.com/nimbusfw/nimbus/internal/local/pool"
	"github.com/nimbusfw/nimbus/internal/local/queue"
	"github.com/nimbusfw/nimbus/internal/local/schedule"
	"github.com/nimbusfw/nimbus/internal/local/topic"
	"github.com/nimbusfw/nimbus/internal/service"
)

// Options configure a dev session. Zero values take serverless-offline's
// defaults.
type Options struct {
	Host       string // default 127.0.0.1
	HTTPPort   int    // default 3000; -1 picks a free port
	LambdaPort int    // default 3002; -1 picks a free port
	AWSPort    int    // local SQS/SNS/EventBridge; default 3005; -1 picks a free port
	// WebSocketPort serves websocket events and their @connections API
	// (default 3001, -1 picks a free port); only opened when the service
	// has websocket events.
	WebSocketPort int
	// WebSocketIdleTimeout and WebSocketHardTimeout close quiet or old
	// connections (API Gateway's 10 minutes and 2 hours when zero).
	WebSocketIdleTimeout, WebSocketHardTimeout time.Duration
	// ALBPort serves alb events (default 3003, -1 picks a free port); only
	// opened when the service has alb events.
	ALBPort int
	// NoPrependStage serves REST routes at /path instead of /{stage}/path.
	NoPrependStage bool
	NoAuth         bool
	// APIKey is accepted for private routes (generated when empty).
	APIKey string
	// ClockSpeed runs schedules this many times faster than real time.
	ClockSpeed float64
	// NoWatch turns hot reload off.
	NoWatch bool
	// StateDir holds the durable queues (default <service>/.nimbus).
	StateDir string
	// Log receives the session's output: routes, requests, function logs.
	Log io.Writer
	// Invoker replaces the process pool (tests).
	Invoker local.Invoker
	// MaxConcurrency caps instances per function (pool default when 0).
	MaxConcurrency int

	// serverless-offline 13's options; custom.serverless-offline fills
	// what is left unset, as the plugin merges them.

	// Prefix serves HTTP routes under /{Prefix}/… (--prefix).
	Prefix string
	// NoTimeout lets invocations run past the function's timeout (--noTimeout).
	NoTimeout bool
	// LocalEnvironment passes this process's environment to the handlers
	// beneath the service's variables (--localEnvironment).
	LocalEnvironment bool
	// IdleTimeout stops instances idle this long (--terminateIdleLambdaTime;
	// the pool's default when zero).
	IdleTimeout time.Duration
	// HTTPSDir serves the HTTP, WebSocket and ALB servers over TLS with
	// cert.pem and key.pem from this folder (--httpsProtocol).
	HTTPSDir string
	// IgnoreJWTSignature skips JWT authorizers' signature check.
	IgnoreJWTSignature bool
	// EnforceSecureCookies marks cookies functions set Secure and HttpOnly.
	EnforceSecureCookies bool
	// ResourceRoutes serves resources' HTTP_PROXY methods by forwarding
	// to their Uri (--resourceRoutes; custom.serverless-offline.resourceRoutes
	// may map method IDs to {Uri} overrides).
	ResourceRoutes bool
	// CORS carries --corsAllowOrigin, --corsAllowHeaders,
	// --corsExposedHeaders and --corsDisallowCredentials.
	CORS gateway.OfflineCORS
}

// Session is a running `nimbus dev`.
type Session struct {
	Service *service.Service
	// Warnings found while preparing (unsupported settings, unresolvable
	// environment values).
	Warnings diag.Diagnostics
	// URLs of the three servers.
	HTTPURL, LambdaURL, AWSURL string
	// WebSocketURL and ALBURL are empty when the service has no such events.
	WebSocketURL, ALBURL string
	APIKey               string
	Routes               []*gateway.Route

	gw        *gateway.Gateway
	lambdaAPI *gateway.LambdaAPI
	ws        *gateway.WebSocketAPI
	alb       *gateway.ALB
	servers   []*http.Server
	pool      *pool.Pool
	store     *queue.Store
	hub       *topic.Hub
	bus       *bus.Bus
	jobs      []*schedule.Job
	cancel    context.CancelFunc
	bg        sync.WaitGroup
	log       *lineLog
	serveErr  chan error
}

// lineLog serialises lines from every component onto one writer. Output
// is buffered and flushed every flushEvery: a request logs four lines
// (request, START, END, REPORT), and four write syscalls per request cost
// more than the gateway itself under load.
type lineLog struct {
	mu   sync.Mutex
	w    io.Writer
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

const flushEvery = 50 * time.Millisecond

func newLineLog(w io.Writer) *lineLog {
	l := &lineLog{w: w}
	if w == nil {
		return l
	}
	l.buf = bufio.NewWriterSize(w, 64<<10)
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.Flush()
			case <-l.stop:
				l.Flush()
				return
			}
		}
	}()
	return l
}

func (l *lineLog) line(s string) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	l.buf.WriteString(s)
	l.buf.WriteByte('\n')
	l.mu.Unlock()
}

func (l *lineLog) Write(p []byte) (int, error) {
	if l.w == nil {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Flush writes out what is buffered.
func (l *lineLog) Flush() {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	l.buf.Flush()
	l.mu.Unlock()
}

// close stops the flusher after a last flush.
func (l *lineLog) close() {
	if l.w == nil {
		return
	}
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}

func listen(host string, port, def int, flag string) (net.Listener, error) {
	if port == 0 {
		port = def
	}
	if port < 0 {
		port = 0
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s:%d (choose another port with --%s): %w", host, port, flag, err)
	}
	return ln, nil
}

// loadHTTPS reads cert.pem and key.pem from dir, as serverless-offline's
// --httpsProtocol does.
func loadHTTPS(dir string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		return nil, fmt.Errorf("--httpsProtocol %s needs cert.pem and key.pem there: %w", dir, err)
	}
	// HTTP/1.1 only: WebSocket upgrades hijack the connection.
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}, nil
}

// Start prepares everything and starts serving; it returns once the
// servers accept connections. Problems in the service's configuration are
// returned as diagnostics.
func Start(ctx context.Context, svc *service.Service, opts Options) (*Session, error) {
	offlineWarnings := applyOfflineSettings(&opts, svc.Root.Lookup("custom", "serverless-offline"), svc.Dir)
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	s := &Session{Service: svc, log: newLineLog(opts.Log), serveErr: make(chan error, 5)}
	started := false
	defer func() {
		if !started {
			s.log.close()
		}
	}()
	ds := offlineWarnings
	routes, rds := gateway.RoutesFromService(svc)
	ds = append(ds, rds...)
	if opts.ResourceRoutes {
		// Before the functions' routes, so an event on the same method and
		// path wins.
		proxies, pds := gateway.ResourceRoutes(svc, svc.Root.Lookup("custom", "serverless-offline", "resourceRoutes"))
		ds = append(ds, pds...)
		routes = append(proxies, routes...)
	}
	opts.CORS.Apply(routes)
	jobs, sds := schedule.JobsFromService(svc)
	ds = append(ds, sds...)
	rules, bds := bus.RulesFromService(svc)
	ds = append(ds, bds...)
	pl, pds := planFromService(svc)
	ds = append(ds, pds...)
	wsRoutes, wsExpr, wds := gateway.WebSocketRoutesFromService(svc)
	ds = append(ds, wds...)
	albRules, ads := gateway.ALBRulesFromService(svc)
	ds = append(ds, ads...)
	if ds.HasErrors() {
		return nil, ds.Err()
	}
	if opts.NoTimeout {
		// API Gateway's 29/30 s integration limits would cancel an
		// invocation held in a debugger, and discard its instance with it.
		for _, r := range routes {
			r.FunctionTimeout = 0
		}
		for _, r := range wsRoutes {
			r.FunctionTimeout = 0
		}
	}
	s.Warnings = ds
	s.Routes, s.jobs = routes, jobs

	stateDir := opts.StateDir
	if stateDir == "" {
		stateDir = filepath.Join(svc.Dir, ".nimbus")
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	var httpsConfig *tls.Config
	if opts.HTTPSDir != "" {
		c, err := loadHTTPS(opts.HTTPSDir)
		if err != nil {
			return nil, err
		}
		httpsConfig = c
	}
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	// One listener per server, in the order of the handlers below. The
	// HTTP, WebSocket and ALB servers are the ones serverless-offline
	// serves over TLS; the Lambda and AWS APIs stay plain for SDK clients.
	// The WebSocket and ALB ports open only for services with such events.
	for _, p := range []struct {
		port, def int
		flag      string
		open, tls bool
		url       *string
	}{
		{opts.HTTPPort, 3000, "httpPort", true, true, &s.HTTPURL},
		{opts.LambdaPort, 3002, "lambdaPort", true, false, &s.LambdaURL},
		{opts.AWSPort, 3005, "awsPort", true, false, &s.AWSURL},
		{opts.WebSocketPort, 3001, "websocketPort", len(wsRoutes) > 0, true, &s.WebSocketURL},
		{opts.ALBPort, 3003, "albPort", len(albRules) > 0, true, &s.ALBURL},
	} {
		if !p.open {
			continue
		}
		ln, err := listen(opts.Host, p.port, p.def, p.flag)
		if err != nil {
			closeAll()
			return nil, err
		}
		scheme := "http://"
		if p.tls && httpsConfig != nil {
			ln, scheme = tls.NewListener(ln, httpsConfig), "https://"
		}
		lns = append(lns, ln)
		*p.url = scheme + ln.Addr().String()
	}

	store, err := queue.Open(filepath.Join(stateDir, "queues.db"))
	if err != nil {
		closeAll()
		return nil, err
	}
	s.store = store
	for _, q := range pl.queues {
		if _, err := store.Ensure(q); err != nil {
			closeAll()
			store.Close()
			return nil, err
		}
	}
	for _, q := range pl.queues {
		if q.DeadLetter != "" {
			if _, err := store.Queue(q.DeadLetter); err != nil {
				store.Ensure(queue.Config{Name: q.DeadLetter})
			}
		}
	}

	inv := opts.Invoker
	if inv == nil {
		env := map[string]string{
			"IS_OFFLINE":                   "true",
			"AWS_ENDPOINT_URL_SQS":         s.AWSURL,
			"AWS_ENDPOINT_URL_SNS":         s.AWSURL,
			"AWS_ENDPOINT_URL_EVENTBRIDGE": s.AWSURL,
			"AWS_ENDPOINT_URL_LAMBDA":      s.LambdaURL,
		}
		if s.WebSocketURL != "" {
			// The SDKs' ApiGatewayManagementApi clients find the local
			// @connections API here when the handler gives no endpoint.
			env["AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"] = s.WebSocketURL + "/" + svc.Stage
		}
		var hostEnv []string
		if opts.LocalEnvironment {
			hostEnv = os.Environ()
		}
		p, err := pool.New(svc, pool.Options{
			Log: s.log, Env: env, MaxConcurrency: opts.MaxConcurrency,
			IdleTimeout: opts.IdleTimeout, NoTimeout: opts.NoTimeout, HostEnviron: hostEnv,
			CacheDir:   stateDir,
			ResolveEnv: func(_, _ string, v *config.Node) (string, bool) { return s.resolveEnv(pl, v) },
		})
		if err != nil {
			closeAll()
			store.Close()
			return nil, err
		}
		s.pool = p
		s.Warnings = append(s.Warnings, p.Warnings()...)
		inv = p
	}

	s.hub = &topic.Hub{Invoker: inv, Queues: store, Region: svc.Region, Log: s.log.line}
	for _, t := range pl.topics {
		tp := s.hub.Ensure(t)
		for _, sub := range pl.subs[t] {
			tp.Subscribe(sub)
		}
	}
	s.bus = &bus.Bus{Rules: rules, Invoker: inv, Region: svc.Region, Log: s.log.line}

	s.APIKey = opts.APIKey
	if s.APIKey == "" {
		s.APIKey = "nimbus-local-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	}
	s.gw = gateway.New(gateway.Config{
		Routes: routes, Invoker: inv, Stage: svc.Stage, Region: svc.Region,
		NoPrependStage: opts.NoPrependStage, NoAuth: opts.NoAuth, APIKeys: []string{s.APIKey},
		Prefix: opts.Prefix, IgnoreJWTSignature: opts.IgnoreJWTSignature, EnforceSecureCookies: opts.EnforceSecureCookies,
		BinaryMediaTypes: stringsOf(svc.Provider.Raw.Lookup("apiGateway", "binaryMediaTypes")),
		Log:              s.log.line,
	})
	names := map[string]string{}
	for _, f := range svc.Functions {
		names[f.Key], names[f.Name] = f.Key, f.Key
	}
	s.lambdaAPI = &gateway.LambdaAPI{Invoker: inv, Functions: names, Region: svc.Region, Log: s.log.line}
	api := &awsapi.Server{Queues: store, Topics: s.hub, Bus: s.bus, Region: svc.Region, BaseURL: s.AWSURL, Log: s.log.line}

	handlers := []http.Handler{s.gw, s.lambdaAPI, api}
	if s.WebSocketURL != "" {
		s.ws = gateway.NewWebSocketAPI(gateway.WebSocketConfig{
			Routes: wsRoutes, RouteSelectionExpression: wsExpr, Invoker: inv,
			Service: svc.Name, Stage: svc.Stage, Region: svc.Region, NoAuth: opts.NoAuth, Log: s.log.line,
			IdleTimeout: opts.WebSocketIdleTimeout, HardTimeout: opts.WebSocketHardTimeout,
		})
		handlers = append(handlers, s.ws)
	}
	if s.ALBURL != "" {
		albStage := svc.Stage
		if opts.NoPrependStage {
			albStage = ""
		}
		if p := strings.Trim(opts.Prefix, "/"); p != "" {
			// serverless-offline puts --prefix before the stage on ALB
			// paths too.
			albStage = strings.Trim(p+"/"+albStage, "/")
		}
		s.alb = gateway.NewALB(gateway.ALBConfig{Rules: albRules, Invoker: inv, Stage: albStage, Log: s.log.line})
		handlers = append(handlers, s.alb)
	}
	for i, h := range handlers {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		s.servers = append(s.servers, srv)
		ln := lns[i]
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.serveErr <- err
			}
		}()
	}

	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	var clock schedule.Clock = schedule.RealClock{}
	if opts.ClockSpeed > 0 && opts.ClockSpeed != 1 {
		clock = schedule.NewScaledClock(time.Now(), opts.ClockSpeed)
	}
	sched := &schedule.Scheduler{Jobs: jobs, Invoker: inv, Clock: clock, Region: svc.Region, Log: s.log.line}
	poller := &queue.Poller{Store: store, Invoker: inv, Sources: pl.sources, Region: svc.Region, Log: s.log.line}
	s.bg.Add(2)
	go func() { defer s.bg.Done(); sched.Run(bgCtx) }()
	go func() { defer s.bg.Done(); poller.Run(bgCtx) }()
	if s.pool != nil && !opts.NoWatch {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			if err := s.pool.Watch(bgCtx); err != nil && bgCtx.Err() == nil {
				s.log.line("hot reload is off: " + err.Error())
			}
		}()
	}
	started = true
	return s, nil
}

func stringsOf(n *config.Node) []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, it := range n.Items {
		out = append(out, it.Scalar0())
	}
	return out
}

// resolveEnv gives environment values that refer to local queues and
// topics their local meaning: a queue's Ref is its URL, GetAtt Arn its ARN.
func (s *Session) resolveEnv(pl *plan, v *config.Node) (string, bool) {
	id, attr, ok := refOf(v)
	if !ok {
		return "", false
	}
	r := pl.resources[id]
	if r == nil {
		return "", false
	}
	switch {
	case r.kind == "queue" && attr == "Ref":
		return strings.TrimRight(s.AWSURL, "/") + "/" + queue.Account + "/" + r.name, true
	case r.kind == "queue" && attr == "Arn":
		return queue.ARN(s.Service.Region, r.name), true
	case r.kind == "queue" && attr == "QueueName":
		return r.name, true
	case r.kind == "queue" && attr == "QueueUrl":
		return strings.TrimRight(s.AWSURL, "/") + "/" + queue.Account + "/" + r.name, true
	case r.kind == "topic" && (attr == "Ref" || attr == "TopicArn"):
		return s.hub.ARN(r.name), true
	case r.kind == "topic" && attr == "TopicName":
		return r.name, true
	}
	return "", false
}

// Err reports a server that stopped on its own.
func (s *Session) Err() <-chan error { return s.serveErr }

// Shutdown stops accepting requests, lets requests and deliveries in
// flight finish (bounded by ctx), then stops the functions.
func (s *Session) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, srv := range s.servers {
		wg.Add(1)
		go func(srv *http.Server) { defer wg.Done(); srv.Shutdown(ctx) }(srv)
	}
	wg.Wait()
	if s.ws != nil {
		// Hijacked connections outlive srv.Shutdown; close them so their
		// $disconnect runs while the functions are still up.
		s.ws.Close(ctx)
	}
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.bg.Wait()
		s.lambdaAPI.Wait()
		s.hub.Wait()
		s.bus.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if s.pool != nil {
		s.pool.Close()
	}
	s.log.close()
	return s.store.Close()
}

// Endpoint is one route as the banner lists it.
type Endpoint struct {
	Method    string
	URL       string // where the route is served
	InvokeURL string // Lambda Invoke API URL of its function
	Function  string // function key
	// ProxyURI is where a resources' HTTP_PROXY route forwards (then
	// Function and InvokeURL are empty).
	ProxyURI string
}

// Schedule is one schedule event as the banner lists it.
type Schedule struct {
	Function    string
	Expressions []string
	Enabled     bool
}

// Resource is a local queue or topic and how to reach it.
type Resource struct {
	Name    string
	Address string // queue URL or topic ARN
}

// Endpoints lists the HTTP routes in display order.
func (s *Session) Endpoints() []Endpoint {
	s.log.Flush()
	routes := append([]*gateway.Route(nil), s.Routes...)
	gateway.SortRoutes(routes)
	out := make([]Endpoint, 0, len(routes))
	for _, r := range routes {
		e := Endpoint{Method: r.Method, URL: s.HTTPURL + s.gw.URLPath(r), Function: r.Function, ProxyURI: r.ProxyURI}
		if r.ProxyURI == "" {
			e.InvokeURL = s.LambdaURL + "/2015-03-31/functions/" + s.Service.Function(r.Function).Name + "/invocations"
		}
		out = append(out, e)
	}
	return out
}

// HasPrivateRoutes reports whether some route needs the API key.
func (s *Session) HasPrivateRoutes() bool {
	for _, r := range s.Routes {
		if r.Private {
			return true
		}
	}
	return false
}

// Schedules lists the schedule events.
func (s *Session) Schedules() []Schedule {
	var out []Schedule
	for _, j := range s.jobs {
		sc := Schedule{Function: j.Function, Enabled: j.Enabled}
		for _, e := range j.Exprs {
			sc.Expressions = append(sc.Expressions, e.String())
		}
		out = append(out, sc)
	}
	return out
}

// Queues lists the local queues with their URLs.
func (s *Session) Queues() []Resource {
	var out []Resource
	for _, n := range s.store.Names() {
		out = append(out, Resource{Name: n, Address: s.AWSURL + "/" + queue.Account + "/" + n})
	}
	return out
}

// Topics lists the local topics with their ARNs.
func (s *Session) Topics() []Resource {
	var out []Resource
	for _, n := range s.hub.Names() {
		out = append(out, Resource{Name: n, Address: s.hub.ARN(n)})
	}
	return out
}

// WebSocketRoute is one websocket route as the banner lists it.
type WebSocketRoute struct {
	Route    string
	Function string
}

// ALBRoute is one alb listener rule as the banner lists it.
type ALBRoute struct {
	Priority int
	Methods  []string // empty: any method
	Paths    []string // empty: any path
	URL      string   // ALB server, first path
	Function string
}

// WebSocketRoutes lists the websocket routes in configuration order.
func (s *Session) WebSocketRoutes() []WebSocketRoute {
	if s.ws == nil {
		return nil
	}
	var out []WebSocketRoute
	for _, r := range s.ws.Routes() {
		out = append(out, WebSocketRoute{Route: r.Key, Function: r.Function})
	}
	return out
}

// ALBRoutes lists the alb rules in the order the listener evaluates them.
func (s *Session) ALBRoutes() []ALBRoute {
	if s.alb == nil {
		return nil
	}
	var out []ALBRoute
	for _, r := range s.alb.Rules() {
		u := s.ALBURL
		if len(r.Paths) > 0 {
			u += r.Paths[0]
		}
		out = append(out, ALBRoute{Priority: r.Priority, Methods: r.Methods, Paths: r.Paths, URL: u, Function: r.Function})
	}
	return out
}
