package pool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/local/runtimeapi"
	"github.com/nimbusfw/nimbus/internal/local/runtimes"
	"github.com/nimbusfw/nimbus/internal/service"
)

// AccountID is the AWS account id local ARNs use.
const AccountID = local.AccountID

// function is the pool's state for one function.
type function struct {
	p      *Pool
	cfg    *service.Function
	arn    string
	prefix string
	// env is everything but the per-instance variables.
	env []string
	// slots holds one token per running invocation; its capacity is the
	// concurrency limit.
	slots    chan struct{}
	reserved bool

	resolveMu sync.Mutex // serialises resolving and rebuilding

	mu         sync.Mutex
	launch     *runtimes.Launch
	generation uint64
	idle       []*instance // most recently used last
	live       map[*instance]struct{}
	closed     bool
}

func (p *Pool) newFunction(f *service.Function) (*function, diag.Diagnostics) {
	fn := &function{
		p:      p,
		cfg:    f,
		arn:    "arn:aws:lambda:" + p.svc.Region + ":" + AccountID + ":function:" + f.Name,
		prefix: p.opts.Prefix(f.Key),
		live:   map[*instance]struct{}{},
	}
	limit := p.opts.MaxConcurrency
	if n, ok := f.Raw.Get("reservedConcurrency").Int(); ok && n >= 0 {
		limit, fn.reserved = int(n), true
	}
	fn.slots = make(chan struct{}, limit)
	env, warnings := p.functionEnv(f)
	fn.env = env
	return fn, warnings
}

// invoke takes a concurrency slot (throttling or queueing), an instance,
// and runs the payload on it.
func (f *function) invoke(ctx context.Context, payload []byte, o InvokeOptions) (*local.Result, error) {
	if f.reserved {
		select {
		case f.slots <- struct{}{}:
		default:
			return nil, &local.ThrottleError{Function: f.cfg.Key}
		}
	} else {
		select {
		case f.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer func() { <-f.slots }()

	requestID := newRequestID()
	for attempt := 1; ; attempt++ {
		inst, cold, err := f.acquire(ctx)
		if err != nil {
			return nil, err
		}
		if cold {
			if res, err := f.awaitInit(ctx, inst, requestID); res != nil || err != nil {
				return res, err
			}
		}
		res, err := f.run(ctx, inst, cold, requestID, payload, o, attempt)
		if err != errNotDelivered {
			return res, err
		}
	}
}

// errNotDelivered says the instance exited before its runtime took the
// invocation: an instance that panicked (aws-lambda-go's Runtime API loop
// exits after reporting) can still look idle for a moment. Lambda would
// start a fresh environment for the next call, so the pool retries on
// another instance instead of failing a call that never ran.
var errNotDelivered = errors.New("invocation not delivered")

// maxDeliveryAttempts bounds those retries; the last attempt's exit is
// reported as the crash it then is.
const maxDeliveryAttempts = 3

// acquire returns a warm instance on the current code, or starts one.
func (f *function) acquire(ctx context.Context) (*instance, bool, error) {
	f.mu.Lock()
	for len(f.idle) > 0 {
		inst := f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		if inst.gen == f.generation && !inst.hasExited() {
			f.mu.Unlock()
			return inst, false, nil
		}
		delete(f.live, inst)
		go inst.stop()
	}
	if f.closed {
		f.mu.Unlock()
		return nil, false, fmt.Errorf("pool is closed")
	}
	f.mu.Unlock()

	launch, gen, err := f.resolve(ctx)
	if err != nil {
		return nil, false, err
	}
	inst, err := startInstance(f, launch, gen)
	if err != nil {
		return nil, false, err
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		inst.stop()
		return nil, false, fmt.Errorf("pool is closed")
	}
	f.live[inst] = struct{}{}
	f.mu.Unlock()
	return inst, true, nil
}

// resolve returns the launch for the current code generation, resolving it
// on first use.
func (f *function) resolve(ctx context.Context) (*runtimes.Launch, uint64, error) {
	f.resolveMu.Lock()
	defer f.resolveMu.Unlock()
	f.mu.Lock()
	launch, gen := f.launch, f.generation
	f.mu.Unlock()
	if launch != nil {
		return launch, gen, nil
	}
	launch, err := f.p.resolver.Resolve(ctx, f.p.svc, f.cfg)
	if err != nil {
		return nil, 0, err
	}
	for _, note := range launch.Notes {
		f.p.log.line(f.prefix, note)
	}
	f.mu.Lock()
	f.launch = launch
	gen = f.generation
	f.mu.Unlock()
	return launch, gen, nil
}

// awaitInit waits for a new instance's first poll. It returns a result
// when init failed (as Lambda reports it to the caller) and nil, nil when
// the instance is ready.
func (f *function) awaitInit(ctx context.Context, inst *instance, requestID string) (*local.Result, error) {
	timer := time.NewTimer(initTimeout)
	defer timer.Stop()
	select {
	case <-inst.srv.Ready():
		inst.readyTime = time.Now()
		return nil, nil
	case <-inst.rpcReady:
		inst.readyTime = time.Now()
		inst.rpc = inst.rpcClient.Load()
		return nil, nil
	case out := <-inst.srv.InitError():
		f.discard(inst)
		return f.initFailed(requestID, out.Payload), nil
	case <-inst.exited:
		f.discard(inst)
		select {
		case out := <-inst.srv.InitError():
			return f.initFailed(requestID, out.Payload), nil
		default:
		}
		return f.exitResult(inst, requestID, time.Since(inst.started)), nil
	case <-timer.C:
		f.discard(inst)
		return f.initFailed(requestID, runtimeapi.ErrorPayload("Runtime.InitTimeout",
			fmt.Sprintf("RequestId: %s Error: the runtime did not poll for an invocation within %s", requestID, initTimeout))), nil
	case <-ctx.Done():
		f.discard(inst)
		return nil, ctx.Err()
	}
}

func (f *function) initFailed(requestID string, payload []byte) *local.Result {
	f.p.log.line(f.prefix, "INIT_REPORT RequestId: "+requestID+" Status: error")
	return &local.Result{RequestID: requestID, Payload: payload, FunctionError: "Unhandled"}
}

// run dispatches one invocation to a ready instance and waits for its
// outcome, the instance exiting, the timeout or ctx.
func (f *function) run(ctx context.Context, inst *instance, cold bool, requestID string, payload []byte, o InvokeOptions, attempt int) (*local.Result, error) {
	timeout := time.Duration(f.cfg.Timeout) * time.Second
	if timeout <= 0 {
		timeout = time.Duration(service.DefaultTimeout) * time.Second
	}
	start := time.Now()
	inv := runtimeapi.NewInvocation(requestID, payload, start.Add(timeout))
	inv.FunctionARN = f.arn
	inv.ClientContext = o.ClientContext
	inv.CognitoIdentity = o.CognitoIdentity
	inv.TraceID = o.TraceID
	if attempt == 1 && f.p.log.enabled() {
		f.p.log.line(f.prefix, "START RequestId: "+requestID+" Version: $LATEST")
	}
	inst.beginCapture()
	// A zero time waits for as long as the invocation runs (NoTimeout).
	until := inv.Deadline
	if f.p.opts.NoTimeout {
		until = time.Time{}
	}
	var w wait
	if inst.rpc != nil {
		w = inst.awaitRPC(ctx, inv, until)
	} else {
		w = inst.awaitRuntimeAPI(ctx, inv, until)
	}
	switch w.end {
	case undelivered:
		if attempt < maxDeliveryAttempts {
			f.discard(inst)
			inst.endCapture()
			return nil, errNotDelivered
		}
		fallthrough
	case crashed:
		f.discard(inst)
		logs := inst.endCapture()
		res := f.exitResult(inst, requestID, time.Since(start))
		res.Logs = logs
		f.report(inst, requestID, res.Duration, cold)
		return res, nil
	case timedOut:
		elapsed := time.Since(start)
		inst.endCapture()
		f.p.log.line(f.prefix, time.Now().UTC().Format("2006-01-02T15:04:05.000Z")+" "+requestID+
			" Task timed out after "+strconv.FormatFloat(timeout.Seconds(), 'f', 2, 64)+" seconds")
		// Report while the process still exists, so its memory is known.
		f.report(inst, requestID, elapsed, cold)
		f.discard(inst)
		return nil, &local.TimeoutError{Function: f.cfg.Key, Timeout: timeout}
	case canceled:
		f.discard(inst)
		inst.endCapture()
		return nil, ctx.Err()
	}
	if w.gone {
		// Retire it after REPORT has read its memory.
		defer f.discard(inst)
	}
	return f.finish(inst, cold, requestID, start, w.out, w.gone), nil
}

// ending is how waiting for an invocation's outcome ended.
type ending int

const (
	answered ending = iota
	// undelivered: the process exited before its runtime took the call.
	undelivered
	// crashed: the process died (or its connection broke) mid-invocation.
	crashed
	timedOut
	canceled
)

// wait is the outcome of waiting on one invocation.
type wait struct {
	end ending
	// out is the runtime's answer when end is answered.
	out runtimeapi.Outcome
	// gone says the instance must not serve again: it exited after
	// answering, or aws-lambda-go asked for that after a panic.
	gone bool
}

// awaitRuntimeAPI hands inv to the runtime's next poll and waits for its
// answer, the process exiting, the timeout (none when zero) or ctx.
func (inst *instance) awaitRuntimeAPI(ctx context.Context, inv *runtimeapi.Invocation, until time.Time) wait {
	if err := inst.srv.Dispatch(inv); err != nil {
		// Only a closed endpoint refuses: the instance is stopping.
		return wait{end: undelivered}
	}
	var expired <-chan time.Time
	if !until.IsZero() {
		timer := time.NewTimer(time.Until(until))
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case out := <-inv.Done():
		return wait{end: answered, out: out}
	case <-inst.exited:
		select {
		case out := <-inv.Done():
			// The runtime answered, then exited: the answer stands.
			return wait{end: answered, out: out, gone: true}
		default:
		}
		if inst.srv.Withdraw(inv) {
			return wait{end: undelivered}
		}
		return wait{end: crashed}
	case <-expired:
		inst.srv.Abandon(inv)
		return wait{end: timedOut}
	case <-ctx.Done():
		inst.srv.Abandon(inv)
		return wait{end: canceled}
	}
}

// finish builds the result of an answered invocation, logs END/REPORT and
// returns a still usable instance to the pool.
func (f *function) finish(inst *instance, cold bool, requestID string, start time.Time, out runtimeapi.Outcome, exited bool) *local.Result {
	logging := f.p.log.enabled()
	elapsed := time.Since(start)
	res := &local.Result{RequestID: requestID, Payload: out.Payload, Duration: elapsed}
	if out.Failed {
		res.FunctionError = "Unhandled"
	}
	// Drain the output first so the handler's lines precede END/REPORT.
	res.Logs = inst.endCapture()
	if logging {
		f.report(inst, requestID, elapsed, cold)
	}
	if !exited {
		f.release(inst)
	}
	return res
}

// exitResult is Lambda's answer when the runtime process dies mid-way.
func (f *function) exitResult(inst *instance, requestID string, d time.Duration) *local.Result {
	msg := "RequestId: " + requestID + " Error: Runtime exited"
	if inst.waitErr != nil {
		msg += " with error: " + inst.waitErr.Error()
	} else {
		msg += " without providing a reason"
	}
	f.p.log.line(f.prefix, msg)
	return &local.Result{
		RequestID:     requestID,
		Payload:       runtimeapi.ErrorPayload("Runtime.ExitError", msg),
		FunctionError: "Unhandled",
		Duration:      d,
	}
}

func (f *function) report(inst *instance, requestID string, d time.Duration, cold bool) {
	if !f.p.log.enabled() {
		return
	}
	ms := float64(d.Microseconds()) / 1000
	line := "REPORT RequestId: " + requestID +
		"\tDuration: " + strconv.FormatFloat(ms, 'f', 2, 64) + " ms" +
		"\tBilled Duration: " + strconv.FormatInt(int64(math.Ceil(ms)), 10) + " ms" +
		"\tMemory Size: " + strconv.Itoa(f.cfg.MemorySize) + " MB" +
		"\tMax Memory Used: " + strconv.Itoa(inst.maxRSSMB()) + " MB"
	if cold {
		line += "\tInit Duration: " + strconv.FormatFloat(float64(inst.initDuration().Microseconds())/1000, 'f', 2, 64) + " ms"
	}
	f.p.log.line(f.prefix, "END RequestId: "+requestID)
	f.p.log.line(f.prefix, line)
}

// release returns a healthy instance to the idle list, or stops it when
// its code went stale during the invocation.
func (f *function) release(inst *instance) {
	inst.lastUsed = time.Now()
	f.mu.Lock()
	if f.closed || inst.gen != f.generation {
		delete(f.live, inst)
		f.mu.Unlock()
		go inst.stop()
		return
	}
	f.idle = append(f.idle, inst)
	f.mu.Unlock()
}

// discard removes a failed instance and stops it.
func (f *function) discard(inst *instance) {
	f.mu.Lock()
	delete(f.live, inst)
	f.mu.Unlock()
	inst.stop()
}

// markStale makes every current instance stale: idle ones stop now, busy
// ones after their invocation. launch (if non-nil) replaces the code.
func (f *function) markStale(launch *runtimes.Launch) {
	f.mu.Lock()
	f.generation++
	if launch != nil {
		f.launch = launch
	}
	idle := f.idle
	f.idle = nil
	for _, inst := range idle {
		delete(f.live, inst)
	}
	f.mu.Unlock()
	for _, inst := range idle {
		go inst.stop()
	}
}

// takeIdleSince removes idle instances last used before cutoff.
func (f *function) takeIdleSince(cutoff time.Time) []*instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	var old []*instance
	keep := f.idle[:0]
	for _, inst := range f.idle {
		if inst.lastUsed.Before(cutoff) {
			old = append(old, inst)
			delete(f.live, inst)
		} else {
			keep = append(keep, inst)
		}
	}
	f.idle = keep
	return old
}

// shutdown marks the function closed and returns every live instance.
func (f *function) shutdown() []*instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	all := make([]*instance, 0, len(f.live))
	for inst := range f.live {
		all = append(all, inst)
	}
	f.live = map[*instance]struct{}{}
	f.idle = nil
	return all
}

// newRequestID is a random UUID v4, as Lambda request ids are.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
