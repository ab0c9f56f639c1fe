package pool

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/nimbusfw/nimbus/internal/local"
)

// buildGoEcho compiles the aws-lambda-go test handler into dir/bootstrap,
// with extra build tags (e.g. lambda.norpc, which drops its RPC server).
func buildGoEcho(t *testing.T, dir string, tags string) {
	t.Helper()
	args := []string{"build", "-o", filepath.Join(dir, "bootstrap")}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = goEchoDir(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// servedOverRPC says whether the function's idle instances use
// aws-lambda-go's RPC protocol (true), the Runtime API (false), or mixed.
func servedOverRPC(t *testing.T, p *Pool, key string) bool {
	t.Helper()
	fn := p.functions[key]
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if len(fn.idle) == 0 {
		t.Fatalf("%s has no idle instance", key)
	}
	rpc := fn.idle[0].rpc != nil
	for _, inst := range fn.idle[1:] {
		if (inst.rpc != nil) != rpc {
			t.Fatalf("%s has instances on both protocols", key)
		}
	}
	return rpc
}

// TestGoRuntimeProtocols runs the same aws-lambda-go handler built with
// and without its RPC server: the first must be served over RPC, the
// second through the Runtime API, and callers must not tell them apart.
func TestGoRuntimeProtocols(t *testing.T) {
	t.Parallel()
	requireTool(t, "go")
	yml := `service: gosvc
provider: {name: aws, runtime: provided.al2023}
functions:
  echo: {handler: bootstrap, memorySize: 128, timeout: 1}
`
	type outcome struct{ failPayload, panicType, panicMessage string }
	results := map[string]outcome{}
	for _, mode := range []struct {
		name    string
		tags    string
		wantRPC bool
	}{{"rpc", "", true}, {"norpc", "lambda.norpc", false}} {
		t.Run(mode.name, func(t *testing.T) {
			log := &syncBuffer{}
			p, dir := startPool(t, yml, nil, Options{Log: log})
			// Instances start on the first invocation, so the binary can
			// arrive after the pool.
			buildGoEcho(t, dir, mode.tags)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			res, err := p.InvokeWith(ctx, "echo", []byte(`{"say":"gopher"}`), InvokeOptions{
				ClientContext:   `{"custom":{"tenant":"t1"}}`,
				CognitoIdentity: `{"cognitoIdentityId":"us-east-1:abc","cognitoIdentityPoolId":"pool"}`,
				TraceID:         "Root=1-5759e988-bd862e3fe1be46a994272793",
			})
			if err != nil {
				t.Fatal(err)
			}
			got := decode(t, res.Payload)
			custom, _ := got["clientCustom"].(map[string]any)
			if res.FunctionError != "" || got["said"] != "gopher" || got["requestId"] != res.RequestID ||
				got["functionArn"] != "arn:aws:lambda:us-east-1:000000000000:function:gosvc-dev-echo" ||
				got["hasDeadline"] != true || got["memory"] != float64(128) ||
				got["identityId"] != "us-east-1:abc" || custom["tenant"] != "t1" ||
				got["amznTraceId"] != "Root=1-5759e988-bd862e3fe1be46a994272793" {
				t.Errorf("result: %s", res.Payload)
			}
			if string(res.Logs) != "handling gopher\n" {
				t.Errorf("logs = %q", res.Logs)
			}
			if rpc := servedOverRPC(t, p, "echo"); rpc != mode.wantRPC {
				t.Errorf("served over RPC = %v, want %v", rpc, mode.wantRPC)
			}
			if !regexp.MustCompile(`(?s)START RequestId: ` + res.RequestID + `.*handling gopher\n.*END RequestId: ` + res.RequestID +
				`\n.*REPORT RequestId: ` + res.RequestID + `\tDuration: .*Init Duration: `).MatchString(log.String()) {
				t.Errorf("log lacks START/output/END/REPORT in order:\n%s", log.String())
			}
			pid := got["pid"]

			var o outcome
			res = invoke(t, p, "echo", `{"say":"x","fail":true}`)
			if res.FunctionError != "Unhandled" {
				t.Errorf("failure: %+v", res)
			}
			o.failPayload = string(res.Payload)
			if !contains(string(res.Logs), `{"errorMessage":"failing on request: x","errorType":"errorString"}`) {
				t.Errorf("failure logs = %q", res.Logs)
			}
			if again := decode(t, invoke(t, p, "echo", `{"say":"y"}`).Payload); again["pid"] != pid {
				t.Errorf("an error replaced the instance (%v → %v)", pid, again["pid"])
			}

			res = invoke(t, p, "echo", `{"say":"boom","panic":true}`)
			doc := decode(t, res.Payload)
			if res.FunctionError != "Unhandled" || doc["stackTrace"] == nil {
				t.Errorf("panic: %s", res.Payload)
			}
			o.panicType, _ = doc["errorType"].(string)
			o.panicMessage, _ = doc["errorMessage"].(string)
			afterPanic := decode(t, invoke(t, p, "echo", `{"say":"z"}`).Payload)
			// Over RPC the pool retires the instance itself; over the
			// Runtime API the process exits after reporting, and a call
			// handed to it meanwhile must move to a fresh instance.
			if afterPanic["said"] != "z" {
				t.Errorf("invocation after a panic: %v", afterPanic)
			}
			if afterPanic["pid"] == pid {
				t.Errorf("the instance that panicked (%v) was reused", pid)
			}

			res = invoke(t, p, "echo", `{"exit":true}`)
			doc = decode(t, res.Payload)
			if res.FunctionError != "Unhandled" || doc["errorType"] != "Runtime.ExitError" ||
				doc["errorMessage"] != "RequestId: "+res.RequestID+" Error: Runtime exited with error: exit status 3" ||
				string(res.Logs) != "exiting on request\n" {
				t.Errorf("crash: %s logs %q", res.Payload, res.Logs)
			}

			beforeTimeout := decode(t, invoke(t, p, "echo", `{"say":"w"}`).Payload)
			_, err = p.Invoke(ctx, "echo", []byte(`{"sleepMs":5000}`))
			var te *local.TimeoutError
			if !errors.As(err, &te) || te.Timeout != time.Second {
				t.Fatalf("err = %v, want a 1s TimeoutError", err)
			}
			afterTimeout := decode(t, invoke(t, p, "echo", `{"say":"v"}`).Payload)
			if afterTimeout["said"] != "v" || afterTimeout["pid"] == beforeTimeout["pid"] {
				t.Errorf("timed-out instance %v was reused", beforeTimeout["pid"])
			}
			if rpc := servedOverRPC(t, p, "echo"); rpc != mode.wantRPC {
				t.Errorf("replacement served over RPC = %v, want %v", rpc, mode.wantRPC)
			}

			// A caller that gives up ends the invocation and the instance.
			cancelled, cancelCall := context.WithTimeout(ctx, 200*time.Millisecond)
			_, err = p.Invoke(cancelled, "echo", []byte(`{"sleepMs":5000}`))
			cancelCall()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want the caller's context error", err)
			}
			if afterCancel := decode(t, invoke(t, p, "echo", `{"say":"u"}`).Payload); afterCancel["said"] != "u" || afterCancel["pid"] == afterTimeout["pid"] {
				t.Errorf("after the cancelled call: %v (cancelled instance pid %v)", afterCancel, afterTimeout["pid"])
			}
			results[mode.name] = o
		})
	}
	if results["rpc"] != results["norpc"] {
		t.Errorf("error results differ between protocols:\nrpc:   %+v\nnorpc: %+v", results["rpc"], results["norpc"])
	}
}
