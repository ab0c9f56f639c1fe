package pool

import (
	"bufio"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"net"
	"net/rpc"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/nimbusfw/nimbus/internal/local/runtimeapi"
	"github.com/nimbusfw/nimbus/internal/local/runtimes"
)

// Go and provided instances also get _LAMBDA_SERVER_PORT, as Lambda's
// go1.x runtime gave them: an aws-lambda-go binary (unless built with
// -tags lambda.norpc) then serves net/rpc there instead of polling the
// Runtime API. One gob message each way on a persistent connection costs
// the runtime far less CPU than the two HTTP exchanges of the Runtime API,
// so the pool uses RPC whenever the process answers Function.Ping, and the
// Runtime API otherwise (norpc builds, Rust or shell bootstraps).

// speaksRPC says whether an instance of l may be an aws-lambda-go binary.
func speaksRPC(l *runtimes.Launch) bool {
	return l.Kind == runtimes.GoSource || l.Kind == runtimes.Binary
}

// freeLoopbackPort reserves and releases a 127.0.0.1 port for the instance
// to listen on; aws-lambda-go binds "localhost:<port>", which Go resolves
// to IPv4 loopback first (IPv6 loopback on hosts without it).
func freeLoopbackPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return strconv.Itoa(port), nil
}

const (
	rpcFirstRetry = 200 * time.Microsecond
	rpcMaxRetry   = 20 * time.Millisecond
	// rpcPingTimeout bounds the handshake with whatever accepted the
	// connection, in case it is not an aws-lambda-go server.
	rpcPingTimeout = time.Second
)

// connectRPC dials the instance's RPC port until Function.Ping succeeds
// (then rpcReady closes), or the runtime polls the Runtime API instead, or
// it exits, stops or runs past the init timeout.
func (inst *instance) connectRPC(port string) {
	addrs := []string{"127.0.0.1:" + port, "[::1]:" + port}
	deadline := time.Now().Add(initTimeout)
	delay := rpcFirstRetry
	for {
		if c := pingRPC(addrs); c != nil {
			select {
			case <-inst.srv.Ready():
				// Already committed to the Runtime API.
				c.Close()
			default:
				inst.rpcClient.Store(c)
				close(inst.rpcReady)
			}
			return
		}
		if time.Now().After(deadline) {
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-inst.srv.Ready():
			t.Stop()
			return
		case <-inst.exited:
			t.Stop()
			return
		case <-inst.stopping:
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, rpcMaxRetry)
	}
}

// pingRPC connects to the first address that accepts and checks that an
// aws-lambda-go RPC server answers there.
func pingRPC(addrs []string) *rpcConn {
	var conn net.Conn
	for _, addr := range addrs {
		var err error
		if conn, err = net.DialTimeout("tcp", addr, rpcPingTimeout); err == nil {
			break
		}
	}
	if conn == nil {
		return nil
	}
	c := newRPCConn(conn)
	conn.SetDeadline(time.Now().Add(rpcPingTimeout))
	if err := c.call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}); err != nil {
		c.Close()
		return nil
	}
	conn.SetDeadline(time.Time{})
	return c
}

// rpcConn is a net/rpc (gob) client connection to one instance. An
// instance serves one invocation at a time, so the invoking goroutine
// writes each call and reads its answer itself; net/rpc's own client
// would add a reader goroutine and a hand-off to every call.
type rpcConn struct {
	conn net.Conn
	out  *bufio.Writer
	enc  *gob.Encoder
	dec  *gob.Decoder
	seq  uint64
}

func newRPCConn(conn net.Conn) *rpcConn {
	out := bufio.NewWriter(conn)
	return &rpcConn{conn: conn, out: out, enc: gob.NewEncoder(out), dec: gob.NewDecoder(bufio.NewReader(conn))}
}

// call sends one request and reads its response, as net/rpc's gob codec
// frames them: a header, then the body.
func (c *rpcConn) call(method string, args, reply any) error {
	c.seq++
	if err := c.enc.Encode(&rpc.Request{ServiceMethod: method, Seq: c.seq}); err != nil {
		return err
	}
	if err := c.enc.Encode(args); err != nil {
		return err
	}
	if err := c.out.Flush(); err != nil {
		return err
	}
	var resp rpc.Response
	if err := c.dec.Decode(&resp); err != nil {
		return err
	}
	if resp.Error != "" {
		// The server sends an empty body after an error header.
		var empty struct{}
		if err := c.dec.Decode(&empty); err != nil {
			return err
		}
		return rpc.ServerError(resp.Error)
	}
	return c.dec.Decode(reply)
}

// invoke runs Function.Invoke until deadline (the function's timeout) or
// ctx ends; either leaves the connection unusable, as the instance then is.
func (c *rpcConn) invoke(ctx context.Context, deadline time.Time, req *messages.InvokeRequest, resp *messages.InvokeResponse) error {
	c.conn.SetDeadline(deadline)
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.conn.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	err := c.call("Function.Invoke", req, resp)
	if !stop() {
		// ctx ended as the answer arrived: let the interruption land now,
		// not on the instance's next call.
		<-interrupted
	}
	return err
}

func (c *rpcConn) Close() error { return c.conn.Close() }

// awaitRPC runs inv over the instance's RPC connection and waits for its
// answer, the process exiting, until (none when zero) or ctx.
func (inst *instance) awaitRPC(ctx context.Context, inv *runtimeapi.Invocation, until time.Time) wait {
	req := rpcRequest(inv)
	if err := cognitoIdentity(inv.CognitoIdentity, req); err != nil {
		// aws-lambda-go rejects the invocation before the handler.
		out := rpcFailure("failed to unmarshal cognito identity json: " + err.Error())
		inst.logRuntimeFailure(out.Payload)
		return wait{end: answered, out: out}
	}
	if inst.hasExited() {
		return wait{end: undelivered}
	}
	var resp messages.InvokeResponse
	err := inst.rpc.invoke(ctx, until, req, &resp)
	switch {
	case err == nil:
		out, shouldExit := inst.rpcAnswer(&resp)
		return wait{end: answered, out: out, gone: shouldExit}
	case ctx.Err() != nil:
		return wait{end: canceled}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return wait{end: timedOut}
	}
	// The connection broke: the process died mid-invocation (or is about
	// to); give it a moment to be reaped so the exit status is known.
	select {
	case <-inst.exited:
	case <-time.After(time.Second):
	}
	return wait{end: crashed}
}

// rpcRequest is the go1.x runtime's form of inv.
func rpcRequest(inv *runtimeapi.Invocation) *messages.InvokeRequest {
	req := &messages.InvokeRequest{
		Payload:            inv.Payload,
		RequestId:          inv.RequestID,
		XAmznTraceId:       inv.TraceID,
		Deadline:           messages.InvokeRequest_Timestamp{Seconds: inv.Deadline.Unix(), Nanos: int64(inv.Deadline.Nanosecond())},
		InvokedFunctionArn: inv.FunctionARN,
	}
	if inv.ClientContext != "" {
		req.ClientContext = []byte(inv.ClientContext)
	}
	return req
}

// cognitoIdentity parses the identity document the Runtime API would send
// in Lambda-Runtime-Cognito-Identity, as aws-lambda-go does.
func cognitoIdentity(doc string, req *messages.InvokeRequest) error {
	if doc == "" {
		return nil
	}
	var id lambdacontext.CognitoIdentity
	if err := json.Unmarshal([]byte(doc), &id); err != nil {
		return err
	}
	req.CognitoIdentityId, req.CognitoIdentityPoolId = id.CognitoIdentityID, id.CognitoIdentityPoolID
	return nil
}

// rpcOutcome turns a go1.x response into what the Runtime API path would
// have produced. shouldExit is set after a panic: aws-lambda-go's Runtime
// API loop exits then, so the instance must not serve again.
func rpcOutcome(resp *messages.InvokeResponse) (out runtimeapi.Outcome, shouldExit bool) {
	if resp.Error != nil {
		payload, err := json.Marshal(resp.Error)
		if err != nil {
			payload = runtimeapi.ErrorPayload("Runtime.SerializationError", err.Error())
		}
		return runtimeapi.Outcome{Payload: payload, Failed: true, ErrorType: resp.Error.Type}, resp.Error.ShouldExit
	}
	if len(resp.Payload) > runtimeapi.MaxResponseSize {
		return runtimeapi.Outcome{
			Payload: runtimeapi.ErrorPayload("Function.ResponseSizeTooLarge",
				"Response payload size exceeded maximum allowed payload size ("+strconv.Itoa(runtimeapi.MaxResponseSize)+" bytes)."),
			Failed:    true,
			ErrorType: "Function.ResponseSizeTooLarge",
		}, false
	}
	return runtimeapi.Outcome{Payload: resp.Payload}, false
}

// rpcAnswer is the outcome of a completed Function.Invoke call.
func (inst *instance) rpcAnswer(resp *messages.InvokeResponse) (runtimeapi.Outcome, bool) {
	out, shouldExit := rpcOutcome(resp)
	if out.Failed {
		inst.logRuntimeFailure(out.Payload)
	}
	return out, shouldExit
}

// rpcFailure is the error document aws-lambda-go reports for a plain Go
// error (its type name is errors.New's).
func rpcFailure(msg string) runtimeapi.Outcome {
	payload, _ := json.Marshal(&messages.InvokeResponse_Error{Message: msg, Type: "errorString"})
	return runtimeapi.Outcome{Payload: payload, Failed: true, ErrorType: "errorString"}
}

// logRuntimeFailure writes the line aws-lambda-go's Runtime API loop logs
// (log.Printf, standard flags, UTC as TZ is set) before reporting an error,
// which its RPC server does not: logs read the same on either path.
func (inst *instance) logRuntimeFailure(doc []byte) {
	line := time.Now().UTC().Format("2006/01/02 15:04:05 ") + string(doc)
	inst.captureLine([]byte(line))
	inst.fn.p.log.line(inst.fn.prefix, line)
}
