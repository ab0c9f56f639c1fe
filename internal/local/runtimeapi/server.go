// Package runtimeapi serves the AWS Lambda Runtime API (2018-06-01) on
// 127.0.0.1 for one function instance, so any unchanged runtime client
// (aws-lambda-go, Nimbus's embedded Node and Python loops, a custom
// bootstrap) can poll it for events and post results back.
//
// One Server belongs to exactly one instance process: the pool decides which
// instance runs which invocation, so the server never routes, it only hands
// the next dispatched Invocation to whoever long-polls /invocation/next.
package runtimeapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
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
	ln   net.Listener
	http *http.Server

	queue chan *Invocation

	mu       sync.Mutex
	current  *Invocation
	polled   bool
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
	}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// Runtimes hold /next open for as long as the instance is idle.
		IdleTimeout: 0,
	}
	go s.http.Serve(ln)
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
	case s.queue <- inv:
		return nil
	case <-s.closed:
		return errors.New("runtime API server closed")
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
	select {
	case q := <-s.queue:
		if q != inv {
			s.queue <- q
		}
	default:
	}
}

// Close stops the server; pending polls return 500 so the runtime exits.
func (s *Server) Close() error {
	s.closeOne.Do(func() { close(s.closed) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		return s.http.Close()
	}
	return nil
}

const (
	prefix     = "/2018-06-01/runtime/"
	invocPfx   = prefix + "invocation/"
	nextPath   = invocPfx + "next"
	initErrURL = prefix + "init/error"
)

// Header names are set as canonical map keys directly: it skips
// canonicalisation on the hot path.
const (
	hRequestID = "Lambda-Runtime-Aws-Request-Id"
	hDeadline  = "Lambda-Runtime-Deadline-Ms"
	hARN       = "Lambda-Runtime-Invoked-Function-Arn"
	hTrace     = "Lambda-Runtime-Trace-Id"
	hClientCtx = "Lambda-Runtime-Client-Context"
	hCognito   = "Lambda-Runtime-Cognito-Identity"
	hErrType   = "Lambda-Runtime-Function-Error-Type"
)

var (
	jsonType   = []string{"application/json"}
	acceptedOK = []byte(`{"status":"OK"}`)
)

// ServeHTTP routes the four Runtime API calls without a mux: the paths are
// fixed and this is the benchmarked path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == nextPath:
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "method not allowed")
			return
		}
		s.next(w, r)
	case strings.HasPrefix(path, invocPfx):
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "method not allowed")
			return
		}
		rest := path[len(invocPfx):]
		slash := strings.IndexByte(rest, '/')
		if slash < 0 {
			writeError(w, http.StatusNotFound, "NotFound", "unknown Runtime API path")
			return
		}
		id, verb := rest[:slash], rest[slash+1:]
		switch verb {
		case "response":
			s.post(w, r, id, false)
		case "error":
			s.post(w, r, id, true)
		default:
			writeError(w, http.StatusNotFound, "NotFound", "unknown Runtime API path")
		}
	case path == initErrURL:
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "method not allowed")
			return
		}
		s.initError(w, r)
	default:
		writeError(w, http.StatusNotFound, "NotFound", "unknown Runtime API path")
	}
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if !s.polled {
		s.polled = true
		close(s.ready)
	}
	s.mu.Unlock()
	var inv *Invocation
	select {
	case inv = <-s.queue:
	case <-r.Context().Done():
		return
	case <-s.closed:
		writeError(w, http.StatusInternalServerError, "ServiceShutdown", "instance is shutting down")
		return
	}
	s.mu.Lock()
	s.current = inv
	s.mu.Unlock()
	h := w.Header()
	h[hRequestID] = []string{inv.RequestID}
	h[hDeadline] = []string{strconv.FormatInt(inv.Deadline.UnixMilli(), 10)}
	h[hARN] = []string{inv.FunctionARN}
	if inv.TraceID != "" {
		h[hTrace] = []string{inv.TraceID}
	}
	if inv.ClientContext != "" {
		h[hClientCtx] = []string{inv.ClientContext}
	}
	if inv.CognitoIdentity != "" {
		h[hCognito] = []string{inv.CognitoIdentity}
	}
	h["Content-Type"] = jsonType
	h["Content-Length"] = []string{strconv.Itoa(len(inv.Payload))}
	w.WriteHeader(http.StatusOK)
	w.Write(inv.Payload)
}

func (s *Server) post(w http.ResponseWriter, r *http.Request, id string, failed bool) {
	s.mu.Lock()
	inv := s.current
	if inv == nil || inv.RequestID != id {
		s.mu.Unlock()
		io.Copy(io.Discard, r.Body)
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	s.current = nil
	s.mu.Unlock()

	body, tooLarge, err := readBody(r)
	if err != nil {
		inv.done <- errorOutcome("Runtime.ResponseReadError", "could not read the runtime's response: "+err.Error())
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if tooLarge {
		inv.done <- errorOutcome("Function.ResponseSizeTooLarge",
			"Response payload size exceeded maximum allowed payload size ("+strconv.Itoa(MaxResponseSize)+" bytes).")
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"Exceeded maximum allowed payload size ("+strconv.Itoa(MaxResponseSize)+" bytes).")
		return
	}
	out := Outcome{Payload: body, Failed: failed}
	if failed {
		out.ErrorType = r.Header.Get(hErrType)
		if len(body) == 0 {
			out.Payload = errorDoc(firstNonEmpty(out.ErrorType, "Runtime.Unknown"), "Unknown application error occurred")
		}
	} else if r.Trailer != nil && r.Trailer.Get(hErrType) != "" {
		// aws-lambda-go streams responses and reports mid-stream failures
		// in trailers.
		out.Failed = true
		out.ErrorType = r.Trailer.Get(hErrType)
		if doc := r.Trailer.Get("Lambda-Runtime-Function-Error-Body"); doc != "" {
			out.Payload = decodeTrailerBody(doc)
		} else {
			out.Payload = errorDoc(out.ErrorType, "the function failed while streaming its response")
		}
	}
	inv.done <- out
	writeAccepted(w)
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _, _ := readBody(r)
	out := Outcome{Payload: body, Failed: true, ErrorType: r.Header.Get(hErrType)}
	if len(body) == 0 {
		out.Payload = errorDoc(firstNonEmpty(out.ErrorType, "Runtime.Unknown"), "Unknown init error")
	}
	select {
	case s.initErr <- out:
	default:
	}
	writeAccepted(w)
}

// readBody reads at most MaxResponseSize bytes, sized by Content-Length when
// the runtime sent one so the common case allocates once.
func readBody(r *http.Request) (body []byte, tooLarge bool, err error) {
	if r.ContentLength > MaxResponseSize {
		io.Copy(io.Discard, r.Body)
		return nil, true, nil
	}
	if r.ContentLength >= 0 {
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, body)
		return body, false, err
	}
	body, err = io.ReadAll(io.LimitReader(r.Body, MaxResponseSize+1))
	if len(body) > MaxResponseSize {
		io.Copy(io.Discard, r.Body)
		return nil, true, nil
	}
	return body, false, err
}

func writeAccepted(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Content-Length"] = []string{"15"}
	w.WriteHeader(http.StatusAccepted)
	w.Write(acceptedOK)
}

func writeError(w http.ResponseWriter, code int, errType, msg string) {
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(code)
	w.Write(errorDoc(errType, msg))
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
