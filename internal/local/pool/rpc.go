package pool

import (
	"encoding/json"
	"net"
	"net/rpc"
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
func pingRPC(addrs []string) *rpc.Client {
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
	conn.SetDeadline(time.Now().Add(rpcPingTimeout))
	c := rpc.NewClient(conn)
	if err := c.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}); err != nil {
		c.Close()
		return nil
	}
	conn.SetDeadline(time.Time{})
	return c
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
func (inst *instance) rpcAnswer(call *rpc.Call) (runtimeapi.Outcome, bool) {
	out, shouldExit := rpcOutcome(call.Reply.(*messages.InvokeResponse))
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
