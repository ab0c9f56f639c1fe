// Package local is the embedded local cloud behind `nimbus dev` and
// `nimbus invoke local`: functions run on this machine behind the real
// Lambda Runtime API, fed by HTTP, schedule, queue, topic and bus events.
// Subpackages each own one piece (runtimeapi, runtimes, pool, gateway,
// schedule, queue, topic, bus); this file holds the seam between event
// sources and the function runtime.
package local

import (
	"context"
	"time"
)

// Invoker runs a function once with a JSON payload. The instance pool
// implements it; every event source (gateway, schedule, queue, …) calls it.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) (*Result, error)
}

// Result is the outcome of one invocation.
type Result struct {
	RequestID string
	// Payload is the handler's JSON response (or the error object when
	// FunctionError is set, as Lambda returns it).
	Payload []byte
	// FunctionError is "Unhandled" or "Handled" when the handler failed,
	// as in Lambda's X-Amz-Function-Error header.
	FunctionError string
	Duration      time.Duration
	// Logs is the tail of what the instance printed during the invocation.
	Logs []byte
}

// Error kinds every event source must map the way AWS does.
type ThrottleError struct{ Function string }

func (e *ThrottleError) Error() string {
	return "Rate Exceeded: function " + e.Function + " reached its reserved concurrency"
}

type TimeoutError struct {
	Function string
	Timeout  time.Duration
}

func (e *TimeoutError) Error() string {
	return "Task timed out after " + e.Timeout.String()
}
