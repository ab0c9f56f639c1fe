// Package pool runs a service's functions as local processes behind the
// Lambda Runtime API and implements local.Invoker: per function it keeps
// warm instances, starts new ones on demand up to the function's reserved
// concurrency (throttling beyond it) or a default cap (queueing beyond it),
// enforces timeouts, replaces crashed instances, reaps idle ones and swaps
// in new code when sources change. aws-lambda-go binaries are driven over
// its go1.x RPC protocol instead when they offer it, which costs them far
// less per invocation.
package pool

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/local/runtimes"
	"github.com/nimbusfw/nimbus/internal/service"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxConcurrency = 10
	DefaultIdleTimeout    = 5 * time.Minute
	// initTimeout bounds a runtime's init phase, as Lambda's 10 s limit.
	initTimeout = 10 * time.Second
)

// Options configure a Pool. The zero value is usable.
type Options struct {
	// Log receives every instance's stdout/stderr line by line, prefixed
	// with the function key, and Lambda's START/END/REPORT lines. Nil
	// discards them. Writes are serialised.
	Log io.Writer
	// Env is added to every instance's environment after the computed
	// Lambda variables, so it wins (e.g. AWS_ENDPOINT_URL_SQS).
	Env map[string]string
	// MaxConcurrency caps instances of a function without
	// reservedConcurrency; further invocations wait for a free instance.
	MaxConcurrency int
	// IdleTimeout stops instances unused for this long.
	IdleTimeout time.Duration
	// CacheDir keeps Go builds, extracted artifacts and the embedded
	// runtime loops (default <service dir>/.nimbus).
	CacheDir string
	// Prefix decorates log lines (default "[<function key>] ").
	Prefix func(functionKey string) string
	// ResolveEnv is asked for environment values Nimbus cannot compute
	// locally (Ref to a resource, Fn::GetAtt, …), e.g. to map a queue's Ref
	// to its local URL. Returning false leaves the variable unset with a
	// warning.
	ResolveEnv func(functionKey, name string, value *config.Node) (string, bool)
	// LookupEnv reads the host environment for AWS credentials (default
	// os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// NoTimeout lets invocations run past the function's timeout (the
	// deadline handlers see is unchanged), so a handler paused in a
	// debugger keeps its instance: serverless-offline's --noTimeout.
	NoTimeout bool
	// HostEnviron, when set, gives every instance this whole environment
	// (KEY=VALUE lines, e.g. os.Environ()) beneath the service's own
	// variables instead of only a few host basics: serverless-offline's
	// --localEnvironment.
	HostEnviron []string
}

// InvokeOptions carry what a Lambda Invoke call can add to the payload.
type InvokeOptions struct {
	// ClientContext is the JSON client context (not base64).
	ClientContext string
	// CognitoIdentity is the JSON identity of the caller.
	CognitoIdentity string
	// TraceID sets Lambda-Runtime-Trace-Id.
	TraceID string
}

// Pool runs the functions of one service. It is safe for concurrent use.
type Pool struct {
	svc      *service.Service
	opts     Options
	resolver *runtimes.Resolver
	log      *logSink
	warnings diag.Diagnostics
	// warned holds the key paths already warned about, so a provider-level
	// value is reported once, not once per function.
	warned map[string]bool

	mu        sync.Mutex
	functions map[string]*function // by key and by deployed name
	order     []*function
	closed    bool

	stopReaper chan struct{}
	reaperDone chan struct{}
}

var _ local.Invoker = (*Pool)(nil)

// New prepares a pool for svc. No process starts until the first
// invocation. Environment values that cannot be resolved locally (e.g.
// CloudFormation intrinsics) are dropped and reported by Warnings.
func New(svc *service.Service, opts Options) (*Pool, error) {
	if svc == nil {
		return nil, fmt.Errorf("pool: nil service")
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = DefaultMaxConcurrency
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.CacheDir == "" {
		opts.CacheDir = svc.Dir + string(os.PathSeparator) + ".nimbus"
	}
	if opts.Prefix == nil {
		opts.Prefix = func(key string) string { return "[" + key + "] " }
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	p := &Pool{
		svc:        svc,
		opts:       opts,
		resolver:   runtimes.NewResolver(opts.CacheDir),
		log:        &logSink{w: opts.Log},
		functions:  map[string]*function{},
		warned:     map[string]bool{},
		stopReaper: make(chan struct{}),
		reaperDone: make(chan struct{}),
	}
	for _, f := range svc.Functions {
		fn, ds := p.newFunction(f)
		p.warnings = append(p.warnings, ds...)
		p.functions[f.Key] = fn
		if _, taken := p.functions[f.Name]; !taken {
			p.functions[f.Name] = fn
		}
		p.order = append(p.order, fn)
	}
	go p.reap()
	return p, nil
}

// Warnings are problems found preparing the functions (unresolvable
// environment values, unsupported runtimes).
func (p *Pool) Warnings() diag.Diagnostics { return p.warnings }

// Functions lists the function keys in config order.
func (p *Pool) Functions() []string {
	out := make([]string, len(p.order))
	for i, f := range p.order {
		out[i] = f.cfg.Key
	}
	return out
}

// Invoke runs function (its key under `functions:` or its deployed name)
// once with payload. A handler failure is a Result with FunctionError set,
// not an error; errors are *local.ThrottleError, *local.TimeoutError, an
// unknown function, a function that cannot start, or ctx ending (which
// stops the instance).
func (p *Pool) Invoke(ctx context.Context, function string, payload []byte) (*local.Result, error) {
	return p.InvokeWith(ctx, function, payload, InvokeOptions{})
}

// InvokeWith is Invoke with a client context, identity or trace id.
func (p *Pool) InvokeWith(ctx context.Context, function string, payload []byte, o InvokeOptions) (*local.Result, error) {
	p.mu.Lock()
	fn := p.functions[function]
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("pool is closed")
	}
	if fn == nil {
		return nil, &UnknownFunctionError{Function: function, Known: p.Functions()}
	}
	return fn.invoke(ctx, payload, o)
}

// Close stops every instance and the reaper. Invocations in flight fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stopReaper)
	<-p.reaperDone
	var wg sync.WaitGroup
	for _, fn := range p.order {
		for _, inst := range fn.shutdown() {
			wg.Add(1)
			go func() { defer wg.Done(); inst.stop() }()
		}
	}
	wg.Wait()
	return nil
}

// UnknownFunctionError names a function the service does not define.
type UnknownFunctionError struct {
	Function string
	Known    []string
}

func (e *UnknownFunctionError) Error() string {
	return fmt.Sprintf("function %q is not defined in this service (functions: %s)", e.Function, strings.Join(e.Known, ", "))
}

// reap stops instances idle longer than IdleTimeout.
func (p *Pool) reap() {
	defer close(p.reaperDone)
	every := p.opts.IdleTimeout / 4
	if every < 10*time.Millisecond {
		every = 10 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stopReaper:
			return
		case now := <-t.C:
			for _, fn := range p.order {
				for _, inst := range fn.takeIdleSince(now.Add(-p.opts.IdleTimeout)) {
					go inst.stop()
				}
			}
		}
	}
}

// logSink serialises writes from many instances onto one writer.
type logSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logSink) enabled() bool { return l.w != nil }

func (l *logSink) line(prefix, text string) {
	if l.w == nil {
		return
	}
	buf := make([]byte, 0, len(prefix)+len(text)+1)
	buf = append(buf, prefix...)
	buf = append(buf, text...)
	buf = append(buf, '\n')
	l.mu.Lock()
	l.w.Write(buf)
	l.mu.Unlock()
}

// sortedEnv turns the environment map into KEY=VALUE lines in key order.
func sortedEnv(env map[string]string) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}
