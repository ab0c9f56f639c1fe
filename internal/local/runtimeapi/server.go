// Package runtimeapi serves the AWS Lambda Runtime API (2018-06-01) on
// 127.0.0.1 for one function instance, so any unchanged runtime client
// (aws-lambda-go, Nimbus's embedded Node and Python loops, a custom
// bootstrap) can poll it for events and post results back.
//
// One Server belongs to exactly one instance process: the pool decides which
// instance runs which invocation, so the server never routes, it only hands
// the next dispatched Invocation to whoever long-polls /invocation/next.
//
// The server speaks a deliberately small HTTP/1.1 itself instead of using
// net/http: every invocation costs two requests on this path, and a
// runtime uses one keep-alive connection, so a connection loop with reused
// buffers and no per-request goroutines or contexts is several times
// cheaper.
package runtimeapi

import (
	"bufio"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"
)

// MaxResponseSize is Lambda's synchronous response payload limit.
const MaxResponseSize = 6 * 1024 * 1024

// Outcome says how a runtime finished an invocation.
type Outcome struct {
	// Payload is the response body, or the error document for failures.
	Payload []byte
	// Failed is set when the runtime posted to /error (or the response was
	// unusable); Payload then holds {"errorMessage","errorType",...}.
	Failed bool
	// ErrorType is the Lambda-Runtime-Function-Error-Type header, if any.
	ErrorType string
}

// Invocation is one event handed to the runtime. The caller fills the
// exported fields; Done receives exactly one Outcome once the runtime posts
// a response or error for RequestID.
type Invocation struct {
	RequestID       string
	Payload         []byte
	Deadline        time.Time
	FunctionARN     string
	TraceID         string
	ClientContext   string
	CognitoIdentity string

	done chan Outcome
}

// NewInvocation prepares an invocation whose outcome arrives on Done.
func NewInvocation(requestID string, payload []byte, deadline time.Time) *Invocation {
	return &Invocation{RequestID: requestID, Payload: payload, Deadline: deadline, done: make(chan Outcome, 1)}
}

// Done delivers the invocation's single outcome.
func (inv *Invocation) Done() <-chan Outcome { return inv.done }

// Server is the Runtime API endpoint of one instance.
type Server struct {
	ln net.Listener

	queue chan *Invocation

	mu      sync.Mutex
	current *Invocation
	polled  bool
	conns   map[net.Conn]struct{}

	initErr  chan Outcome
	closed   chan struct{}
	closeOne sync.Once
	ready    chan struct{}
}

// Listen starts a Runtime API server on a free 127.0.0.1 port.
func Listen() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		ln:      ln,
		queue:   make(chan *Invocation, 1),
		initErr: make(chan Outcome, 1),
		closed:  make(chan struct{}),
		ready:   make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
	}
	go s.accept()
	return s, nil
}

// Addr is the host:port to export as AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Ready is closed the first time the runtime polls /invocation/next, i.e.
// once its init phase is over.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// InitError receives the document a runtime posts to /init/error.
func (s *Server) InitError() <-chan Outcome { return s.initErr }

// Dispatch queues inv for the runtime's next poll. An instance runs one
// invocation at a time; dispatching while one is pending returns an error.
func (s *Server) Dispatch(inv *Invocation) error {
	select {
	case <-s.closed:
		return errors.New("runtime API server closed")
	default:
	}
	select {
	case s.queue <- inv:
		return nil
	default:
		return errors.New("instance already has a pending invocation")
	}
}

// Abandon forgets inv (after a timeout or crash) so a late post for it is
// rejected instead of being taken for the next invocation's result.
func (s *Server) Abandon(inv *Invocation) {
	s.mu.Lock()
	if s.current == inv {
		s.current = nil
	}
	s.mu.Unlock()
	s.Withdraw(inv)
}

// Withdraw takes inv back if the runtime has not polled it yet, and says
// whether it did: a runtime that exits between invocations never saw it,
// so the caller may run it elsewhere.
func (s *Server) Withdraw(inv *Invocation) bool {
	select {
	case q := <-s.queue:
		if q == inv {
			return true
		}
		s.queue <- q
	default:
	}
	return false
}

// Close stops the server: the listener and every connection close, and a
// pending poll ends.
func (s *Server) Close() error {
	s.closeOne.Do(func() { close(s.closed) })
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	return err
}

func (s *Server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-s.closed:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

const (
	prefix     = "/2018-06-01/runtime/"
	invocPfx   = prefix + "invocation/"
	nextPath   = invocPfx + "next"
	initErrURL = prefix + "init/error"
)

// serveConn runs requests on one keep-alive connection until it closes.
func (s *Server) serveConn(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	cn := &conn{
		br: bufio.NewReaderSize(c, 16*1024),
		bw: bufio.NewWriterSize(c, 16*1024),
	}
	for {
		req, err := cn.readRequest()
		if err != nil {
			if he, ok := err.(*httpError); ok {
				cn.writeJSON(he.status, errorDoc(he.errType, he.msg), true)
				cn.bw.Flush()
			}
			return
		}
		keep := s.handle(cn, req)
		if err := cn.bw.Flush(); err != nil || !keep || req.close {
			return
		}
	}
}

// handle answers one request; false closes the connection.
func (s *Server) handle(cn *conn, req *request) bool {
	path := req.path
	switch {
	case path == nextPath:
		if req.method != "GET" {
			return cn.fail(405, "MethodNotAllowed", "method not allowed")
		}
		return s.next(cn)
	case len(path) > len(invocPfx) && path[:len(invocPfx)] == invocPfx:
		if req.method != "POST" {
			return cn.fail(405, "MethodNotAllowed", "method not allowed")
		}
		rest := path[len(invocPfx):]
		for i := 0; i < len(rest); i++ {
			if rest[i] == '/' {
				switch rest[i+1:] {
				case "response":
					return s.post(cn, req, rest[:i], false)
				case "error":
					return s.post(cn, req, rest[:i], true)
				}
				break
			}
		}
	case path == initErrURL:
		if req.method != "POST" {
			return cn.fail(405, "MethodNotAllowed", "method not allowed")
		}
		return s.initError(cn, req)
	}
	if err := cn.discardBody(req); err != nil {
		return false
	}
	return cn.fail(404, "NotFound", "unknown Runtime API path "+path)
}

func (s *Server) next(cn *conn) bool {
	s.mu.Lock()
	if !s.polled {
		s.polled = true
		close(s.ready)
	}
	s.mu.Unlock()
	var inv *Invocation
	select {
	case inv = <-s.queue:
	case <-s.closed:
		cn.writeJSON(500, errorDoc("ServiceShutdown", "instance is shutting down"), true)
		return false
	}
	s.mu.Lock()
	s.current = inv
	s.mu.Unlock()
	cn.writeInvocation(inv)
	return true
}

func (s *Server) post(cn *conn, req *request, id string, failed bool) bool {
	s.mu.Lock()
	inv := s.current
	if inv == nil || inv.RequestID != id {
		s.mu.Unlock()
		if err := cn.discardBody(req); err != nil {
			return false
		}
		return cn.fail(400, "InvalidRequestID", "Invalid request ID")
	}
	s.current = nil
	s.mu.Unlock()

	body, err := cn.readBody(req)
	if err == errTooLarge {
		inv.done <- errorOutcome("Function.ResponseSizeTooLarge",
			"Response payload size exceeded maximum allowed payload size ("+strconv.Itoa(MaxResponseSize)+" bytes).")
		cn.writeJSON(413, errorDoc("RequestEntityTooLarge",
			"Exceeded maximum allowed payload size ("+strconv.Itoa(MaxResponseSize)+" bytes)."), true)
		return false
	}
	if err != nil {
		inv.done <- errorOutcome("Runtime.ResponseReadError", "could not read the runtime's response: "+err.Error())
		return false
	}
	out := Outcome{Payload: body, Failed: failed}
	if failed {
		out.ErrorType = req.errorType
		if len(body) == 0 {
			out.Payload = errorDoc(firstNonEmpty(out.ErrorType, "Runtime.Unknown"), "Unknown application error occurred")
		}
	} else if req.trailerErrorType != "" {
		// aws-lambda-go streams responses and reports mid-stream failures
		// in trailers.
		out.Failed = true
		out.ErrorType = req.trailerErrorType
		if req.trailerErrorBody != "" {
			out.Payload = decodeTrailerBody(req.trailerErrorBody)
		} else {
			out.Payload = errorDoc(out.ErrorType, "the function failed while streaming its response")
		}
	}
	inv.done <- out
	cn.writeAccepted()
	return true
}

func (s *Server) initError(cn *conn, req *request) bool {
	body, err := cn.readBody(req)
	if err != nil && err != errTooLarge {
		return false
	}
	out := Outcome{Payload: body, Failed: true, ErrorType: req.errorType}
	if len(body) == 0 {
		out.Payload = errorDoc(firstNonEmpty(out.ErrorType, "Runtime.Unknown"), "Unknown init error")
	}
	select {
	case s.initErr <- out:
	default:
	}
	cn.writeAccepted()
	return true
}

func errorOutcome(errType, msg string) Outcome {
	return Outcome{Payload: errorDoc(errType, msg), Failed: true, ErrorType: errType}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
