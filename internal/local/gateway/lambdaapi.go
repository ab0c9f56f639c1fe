package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/nimbusfw/nimbus/internal/local"
)

// LambdaAPI serves Lambda's Invoke API (POST
// /2015-03-31/functions/{name}/invocations) so `aws lambda invoke
// --endpoint-url` and the AWS SDKs reach local functions.
type LambdaAPI struct {
	Invoker local.Invoker
	// Functions maps every accepted name (key and deployed name) to the
	// function key the invoker knows.
	Functions map[string]string
	Region    string
	AccountID string
	Log       func(line string)

	async sync.WaitGroup
}

const invokePrefix = "/2015-03-31/functions/"

// ServeHTTP implements http.Handler.
func (l *LambdaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, invokePrefix)
	name, ok2 := strings.CutSuffix(rest, "/invocations")
	if !ok || !ok2 || r.Method != http.MethodPost {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Unknown operation "+r.Method+" "+r.URL.Path)
		return
	}
	key, found := l.resolve(name)
	if !found {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: arn:aws:lambda:"+l.Region+":"+l.accountID()+":function:"+name)
		return
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if l.Log != nil {
		l.Log("Invoke " + key + " (" + invocationType(r) + ")")
	}
	switch invocationType(r) {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		l.async.Add(1)
		go func() {
			defer l.async.Done()
			l.Invoker.Invoke(context.Background(), key, payload)
		}()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	res, err := l.Invoker.Invoke(r.Context(), key, payload)
	var te *local.ThrottleError
	var to *local.TimeoutError
	switch {
	case errors.As(err, &te):
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "TooManyRequestsException")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`)
		return
	case errors.As(err, &to):
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		w.WriteHeader(http.StatusOK)
		msg := "Task timed out after " + strconv.FormatFloat(to.Timeout.Seconds(), 'f', 2, 64) + " seconds"
		b := appendString([]byte(`{"errorType":"Sandbox.Timedout","errorMessage":`), msg)
		w.Write(append(b, '}'))
		return
	case err != nil:
		lambdaError(w, http.StatusInternalServerError, "ServiceException", err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", "$LATEST")
	h.Set("X-Amzn-Requestid", res.RequestID)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(res.Payload)
}

// Wait blocks until every Event (asynchronous) invocation has finished.
func (l *LambdaAPI) Wait() { l.async.Wait() }

func (l *LambdaAPI) accountID() string {
	if l.AccountID == "" {
		return local.AccountID
	}
	return l.AccountID
}

// resolve accepts a name, a key, a partial or full ARN, with or without a
// qualifier.
func (l *LambdaAPI) resolve(name string) (string, bool) {
	if i := strings.LastIndex(name, ":function:"); i >= 0 {
		name = name[i+len(":function:"):]
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	key, ok := l.Functions[name]
	return key, ok
}

func invocationType(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Invocation-Type"); t != "" {
		return t
	}
	return "RequestResponse"
}

func lambdaError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(code)
	b := appendString([]byte(`{"Type":"User","message":`), msg)
	w.Write(append(b, '}'))
}
