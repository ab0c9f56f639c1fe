package pool

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/local/runtimes"
)

func TestPythonHandlers(t *testing.T) {
	t.Parallel()
	requireTool(t, "python3")
	yml := `service: pysvc
provider:
  name: aws
  runtime: python3.11
functions:
  hello:
    handler: app/main.handler
    memorySize: 256
  fails:
    handler: app/main.fails
  importError:
    handler: app/missing.handler
  raisesOnImport:
    handler: app/raising.handler
`
	files := map[string]string{
		"app/__init__.py": "",
		"app/raising.py":  "raise RuntimeError('config missing')\n",
		"app/main.py": `
import logging
import os
logger = logging.getLogger()
logger.setLevel(logging.INFO)

def handler(event, context):
    print("python got", event["say"])
    logger.info("logged %s", event["say"])
    return {
        "said": event["say"],
        "requestId": context.aws_request_id,
        "functionName": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remainingPositive": context.get_remaining_time_in_millis() > 0,
        "arn": context.invoked_function_arn,
        "cwdIsTaskRoot": os.getcwd() == os.environ["LAMBDA_TASK_ROOT"],
    }

def fails(event, context):
    raise ValueError("no good")
`,
	}
	p, _ := startPool(t, yml, files, Options{})
	res := invoke(t, p, "hello", `{"say":"hey"}`)
	got := decode(t, res.Payload)
	if res.FunctionError != "" || got["said"] != "hey" || got["requestId"] != res.RequestID ||
		got["functionName"] != "pysvc-dev-hello" || got["memory"] != "256" ||
		got["remainingPositive"] != true || got["cwdIsTaskRoot"] != true {
		t.Errorf("python result: %s", res.Payload)
	}
	if !contains(string(res.Logs), "python got hey") || !contains(string(res.Logs), "\t"+res.RequestID+"\tlogged hey") ||
		!contains(string(res.Logs), "[INFO]\t") {
		t.Errorf("logs: %q", res.Logs)
	}

	res = invoke(t, p, "fails", `{}`)
	doc := decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || doc["errorType"] != "ValueError" || doc["errorMessage"] != "no good" {
		t.Errorf("python error: %s", res.Payload)
	}
	if trace, _ := doc["stackTrace"].([]any); len(trace) == 0 {
		t.Errorf("python error lacks stackTrace: %s", res.Payload)
	}

	res = invoke(t, p, "importError", `{}`)
	doc = decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || doc["errorType"] != "Runtime.ImportModuleError" ||
		!strings.Contains(doc["errorMessage"].(string), "app.missing") {
		t.Errorf("python import error: %s", res.Payload)
	}
	res = invoke(t, p, "raisesOnImport", `{}`)
	doc = decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || doc["errorType"] != "Runtime.ImportModuleError" ||
		doc["errorMessage"] != "Unable to import module 'app.raising': config missing" {
		t.Errorf("python raise on import: %s", res.Payload)
	}
}

// goEchoDir is the aws-lambda-go test handler's main package.
func goEchoDir(t testing.TB) string {
	dir, err := filepath.Abs("testdata/goecho")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGoHandlerBuiltFromSource(t *testing.T) {
	t.Parallel()
	requireTool(t, "go")
	yml := `service: gosvc
provider:
  name: aws
  runtime: provided.al2023
  environment:
    GREETING: from-go
functions:
  echo:
    handler: ` + goEchoDir(t) + `
    memorySize: 128
`
	log := &syncBuffer{}
	p, _ := startPool(t, yml, nil, Options{Log: log})
	res := invoke(t, p, "echo", `{"say":"gopher"}`)
	got := decode(t, res.Payload)
	if res.FunctionError != "" || got["said"] != "gopher" || got["requestId"] != res.RequestID ||
		got["functionName"] != "gosvc-dev-echo" || got["memory"] != float64(128) ||
		got["hasDeadline"] != true || got["greeting"] != "from-go" ||
		got["functionArn"] != "arn:aws:lambda:us-east-1:000000000000:function:gosvc-dev-echo" {
		t.Errorf("go result: %s", res.Payload)
	}

	res = invoke(t, p, "echo", `{"say":"x","fail":true}`)
	doc := decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || doc["errorMessage"] != "failing on request: x" || doc["errorType"] != "errorString" {
		t.Errorf("go error: %s", res.Payload)
	}
	if !contains(log.String(), "[echo] handling gopher") {
		t.Errorf("log lacks handler output:\n%s", log.String())
	}
}

const slowNode = `
exports.handler = async (event) => {
  if (event.exit) { console.log('bye'); process.exit(3); }
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return { pid: process.pid, version: 1 };
};
`

func TestTimeoutKillsInstance(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: t
provider: {name: aws, runtime: nodejs20.x}
functions:
  slow: {handler: h.handler, timeout: 1}
`
	log := &syncBuffer{}
	p, _ := startPool(t, yml, map[string]string{"h.js": slowNode}, Options{Log: log})
	first := decode(t, invoke(t, p, "slow", `{}`).Payload)

	_, err := p.Invoke(context.Background(), "slow", []byte(`{"sleepMs":5000}`))
	var te *local.TimeoutError
	if !errors.As(err, &te) || te.Timeout != time.Second || te.Function != "slow" {
		t.Fatalf("err = %v, want a 1s TimeoutError", err)
	}
	if !contains(log.String(), "Task timed out after 1.00 seconds") {
		t.Errorf("log lacks the timeout line:\n%s", log.String())
	}
	if !regexp.MustCompile(`REPORT RequestId: \S+\tDuration: 1[0-9]{3}\.\d\d ms\t.*Max Memory Used: [1-9]\d* MB`).MatchString(log.String()) {
		t.Errorf("timed-out invocation's REPORT lacks its duration or memory:\n%s", log.String())
	}
	after := decode(t, invoke(t, p, "slow", `{}`).Payload)
	if after["pid"] == first["pid"] {
		t.Errorf("timed-out instance %v was reused", first["pid"])
	}
}

func TestCrashedInstanceIsReplaced(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: t
provider: {name: aws, runtime: nodejs20.x}
functions:
  crashy: {handler: h.handler}
`
	p, _ := startPool(t, yml, map[string]string{"h.js": slowNode}, Options{})
	first := decode(t, invoke(t, p, "crashy", `{}`).Payload)
	res := invoke(t, p, "crashy", `{"exit":true}`)
	doc := decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || doc["errorType"] != "Runtime.ExitError" ||
		doc["errorMessage"] != "RequestId: "+res.RequestID+" Error: Runtime exited with error: exit status 3" {
		t.Errorf("crash result: %s", res.Payload)
	}
	after := decode(t, invoke(t, p, "crashy", `{}`).Payload)
	if after["pid"] == first["pid"] || after["version"] != float64(1) {
		t.Errorf("after crash: %v (first pid %v)", after, first["pid"])
	}
}

func TestReservedConcurrencyThrottles(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: t
provider: {name: aws, runtime: nodejs20.x}
functions:
  one: {handler: h.handler, reservedConcurrency: 1}
  off: {handler: h.handler, reservedConcurrency: 0}
`
	p, _ := startPool(t, yml, map[string]string{"h.js": slowNode}, Options{})
	invoke(t, p, "one", `{}`) // warm, so the slow call is in flight quickly

	slowDone := make(chan *local.Result, 1)
	go func() {
		res, _ := p.Invoke(context.Background(), "one", []byte(`{"sleepMs":1500}`))
		slowDone <- res
	}()
	waitFor(t, "the slow call to hold the only slot", func() bool { return len(p.functions["one"].slots) == 1 })
	_, err := p.Invoke(context.Background(), "one", []byte(`{}`))
	var throttled *local.ThrottleError
	if !errors.As(err, &throttled) {
		t.Fatalf("second concurrent call: err = %v, want ThrottleError", err)
	}
	if throttled.Function != "one" {
		t.Errorf("throttle names %q", throttled.Function)
	}
	if res := <-slowDone; res == nil || res.FunctionError != "" {
		t.Errorf("in-flight invocation failed: %+v", res)
	}
	if _, err := p.Invoke(context.Background(), "off", []byte(`{}`)); !errors.As(err, &throttled) {
		t.Errorf("reservedConcurrency 0: err = %v, want throttle", err)
	}
}

func TestDefaultCapQueues(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: t
provider: {name: aws, runtime: nodejs20.x}
functions:
  q: {handler: h.handler}
`
	p, _ := startPool(t, yml, map[string]string{"h.js": slowNode}, Options{MaxConcurrency: 2})
	var wg sync.WaitGroup
	pids := make(chan any, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := invoke(t, p, "q", `{"sleepMs":50}`)
			pids <- decode(t, res.Payload)["pid"]
		}()
	}
	wg.Wait()
	close(pids)
	distinct := map[any]bool{}
	for pid := range pids {
		distinct[pid] = true
	}
	if len(distinct) < 1 || len(distinct) > 2 {
		t.Errorf("6 queued calls ran on %d instances, want at most the cap of 2", len(distinct))
	}
}

func TestHotReloadNode(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: t
provider: {name: aws, runtime: nodejs20.x}
functions:
  hot: {handler: h.handler}
`
	p, dir := startPool(t, yml, map[string]string{"h.js": slowNode}, Options{})
	invoke(t, p, "hot", `{}`)

	inFlight := make(chan *local.Result, 1)
	go func() {
		res, _ := p.Invoke(context.Background(), "hot", []byte(`{"sleepMs":700}`))
		inFlight <- res
	}()
	waitFor(t, "the slow call to take the warm instance", func() bool {
		fn := p.functions["hot"]
		fn.mu.Lock()
		defer fn.mu.Unlock()
		return len(fn.idle) == 0
	})
	path := filepath.Join(dir, "h.js")
	writeFiles(t, dir, map[string]string{"h.js": strings.Replace(slowNode, "version: 1", "version: 2", 1)})
	if got := p.Reload(context.Background(), []string{path}); len(got) != 1 || got[0] != "hot" {
		t.Fatalf("Reload = %v, want [hot]", got)
	}
	next := decode(t, invoke(t, p, "hot", `{}`).Payload)
	if next["version"] != float64(2) {
		t.Errorf("after reload: %v, want version 2", next)
	}
	old := <-inFlight
	if old == nil || decode(t, old.Payload)["version"] != float64(1) {
		t.Errorf("in-flight call: %+v, want version 1 from the old instance", old)
	}
	// Files outside the function's code do not reload it.
	if got := p.Reload(context.Background(), []string{filepath.Join(filepath.Dir(dir), "elsewhere.js")}); len(got) != 0 {
		t.Errorf("unrelated change reloaded %v", got)
	}
}

func TestHotReloadWatchesFiles(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: t
provider: {name: aws, runtime: nodejs20.x}
functions:
  hot: {handler: src/h.handler}
`
	p, dir := startPool(t, yml, map[string]string{"src/h.js": slowNode}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	if v := decode(t, invoke(t, p, "hot", `{}`).Payload)["version"]; v != float64(1) {
		t.Fatalf("version %v", v)
	}
	writeFiles(t, dir, map[string]string{"src/h.js": strings.Replace(slowNode, "version: 1", "version: 3", 1)})
	waitFor(t, "the watcher to reload the function", func() bool {
		return decode(t, invoke(t, p, "hot", `{}`).Payload)["version"] == float64(3)
	})
}

func TestHotReloadRebuildsGo(t *testing.T) {
	t.Parallel()
	requireTool(t, "go")
	dir := t.TempDir()
	// A stdlib-only Runtime API client keeps this module free of
	// dependencies, so it builds offline in a temp folder.
	src := func(v string) string {
		return `package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
)

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	for {
		resp, err := http.Get(api + "next")
		if err != nil {
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		r, err := http.Post(api+id+"/response", "application/json", bytes.NewBufferString(` + "`" + `{"version":"` + v + `"}` + "`" + `))
		if err == nil {
			r.Body.Close()
		}
	}
}
`
	}
	yml := `service: t
provider: {name: aws, runtime: provided.al2}
functions:
  g: {handler: cmd/g}
`
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/hot\n\ngo 1.22\n", "cmd/g/main.go": src("one"), "serverless.yml": yml})
	log := &syncBuffer{}
	p, err := New(loadService(t, dir, yml), Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if v := decode(t, invoke(t, p, "g", `{}`).Payload)["version"]; v != "one" {
		t.Fatalf("version %v", v)
	}
	main := filepath.Join(dir, "cmd/g/main.go")

	os.WriteFile(main, []byte("package main\n\nfunc main() { undefined() }\n"), 0o644)
	if got := p.Reload(context.Background(), []string{main}); len(got) != 0 {
		t.Errorf("a failed build reloaded %v", got)
	}
	if !contains(log.String(), "build failed; still serving the previous build") || !contains(log.String(), "undefined: undefined") {
		t.Errorf("build error not logged:\n%s", log.String())
	}
	if v := decode(t, invoke(t, p, "g", `{}`).Payload)["version"]; v != "one" {
		t.Errorf("after failed build: version %v, want the old binary", v)
	}

	os.WriteFile(main, []byte(src("two")), 0o644)
	if got := p.Reload(context.Background(), []string{main}); len(got) != 1 {
		t.Errorf("Reload after fix = %v", got)
	}
	if v := decode(t, invoke(t, p, "g", `{}`).Payload)["version"]; v != "two" {
		t.Errorf("after rebuild: version %v, want two", v)
	}
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: envsvc
provider:
  name: aws
  runtime: nodejs20.x
  region: eu-west-1
  environment:
    SHARED: provider
    OVERRIDDEN: provider
    TABLE: {Ref: UsersTable}
    REGION_SUB: {"Fn::Sub": "table-${AWS::Region}-${AWS::AccountId}"}
    JOINED: {"Fn::Join": ["-", [a, {Ref: "AWS::Region"}]]}
functions:
  env:
    handler: h.handler
    memorySize: 512
    environment:
      OVERRIDDEN: function
      COUNT: 3
`
	files := map[string]string{"h.js": `exports.handler = async () => process.env;`}
	lookup := func(k string) (string, bool) {
		switch k {
		case "PATH":
			return os.Getenv("PATH"), true
		case "HOME":
			return "/nonexistent-home", true
		case "SECRET_ON_HOST":
			return "leak", true
		}
		return "", false
	}
	p, _ := startPool(t, yml, files, Options{
		LookupEnv: lookup,
		Env:       map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4566", "SHARED": "caller"},
	})
	env := decode(t, invoke(t, p, "env", `{}`).Payload)
	want := map[string]string{
		"SHARED": "caller", "OVERRIDDEN": "function", "COUNT": "3",
		"REGION_SUB": "table-eu-west-1-000000000000", "JOINED": "a-eu-west-1",
		"AWS_ENDPOINT_URL_SQS":            "http://127.0.0.1:4566",
		"AWS_LAMBDA_FUNCTION_NAME":        "envsvc-dev-env",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envsvc-dev-env",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_nodejs20.x",
		"TZ":                              ":UTC",
		"_HANDLER":                        "h.handler",
		"AWS_ACCESS_KEY_ID":               "AKIANIMBUSLOCAL00000",
	}
	if _, ok := env["GOMAXPROCS"]; ok {
		t.Error("GOMAXPROCS set for a Node function")
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %v, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_STREAM_NAME"} {
		if env[k] == nil || env[k] == "" {
			t.Errorf("%s unset", k)
		}
	}
	if _, ok := env["TABLE"]; ok {
		t.Errorf("unresolvable Ref was passed as %v", env["TABLE"])
	}
	if _, ok := env["SECRET_ON_HOST"]; ok {
		t.Error("arbitrary host variables leak into instances")
	}
	ws := p.Warnings()
	if len(ws) != 1 || ws[0].Path != "provider.environment.TABLE" || !ws[0].Pos.Known() ||
		!strings.Contains(ws[0].Summary, "uses Ref, which cannot be resolved locally") {
		t.Errorf("warnings = %+v", ws)
	}
}

func TestUserCredentialsPassThrough(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: c
provider: {name: aws, runtime: nodejs20.x}
functions:
  env: {handler: h.handler}
`
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAUSER", "AWS_SECRET_ACCESS_KEY": "usersecret", "PATH": os.Getenv("PATH")}[k]
		return v, ok
	}
	p, _ := startPool(t, yml, map[string]string{"h.js": `exports.handler = async () => process.env;`}, Options{LookupEnv: lookup})
	env := decode(t, invoke(t, p, "env", `{}`).Payload)
	if env["AWS_ACCESS_KEY_ID"] != "AKIAUSER" || env["AWS_SECRET_ACCESS_KEY"] != "usersecret" || env["AWS_SESSION_TOKEN"] != nil {
		t.Errorf("credentials: %v %v %v", env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"])
	}
}

func TestIdleInstancesAreReaped(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: t
provider: {name: aws, runtime: nodejs20.x}
functions:
  idle: {handler: h.handler}
`
	p, _ := startPool(t, yml, map[string]string{"h.js": slowNode}, Options{IdleTimeout: 50 * time.Millisecond})
	invoke(t, p, "idle", `{}`)
	waitFor(t, "the idle instance to be reaped", func() bool {
		fn := p.functions["idle"]
		fn.mu.Lock()
		defer fn.mu.Unlock()
		return len(fn.live) == 0
	})
	if res := invoke(t, p, "idle", `{}`); res.FunctionError != "" {
		t.Errorf("after reaping: %s", res.Payload)
	}
}

func TestUnsupportedAndUnknown(t *testing.T) {
	t.Parallel()
	yml := `service: t
provider: {name: aws, runtime: java17}
functions:
  j: {handler: com.example.Handler}
`
	p, _ := startPool(t, yml, nil, Options{})
	_, err := p.Invoke(context.Background(), "j", []byte(`{}`))
	var ue *runtimes.UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "runtime java17 is not supported locally") {
		t.Errorf("err = %v", err)
	}
	_, err = p.Invoke(context.Background(), "nope", []byte(`{}`))
	var unknown *UnknownFunctionError
	if !errors.As(err, &unknown) || !strings.Contains(err.Error(), `function "nope" is not defined in this service (functions: j)`) {
		t.Errorf("err = %v", err)
	}
}

func TestInvokeByDeployedName(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: named
provider: {name: aws, runtime: nodejs20.x}
functions:
  f: {handler: h.handler, name: custom-name}
`
	p, _ := startPool(t, yml, map[string]string{"h.js": slowNode}, Options{})
	if res := invoke(t, p, "custom-name", `{}`); res.FunctionError != "" {
		t.Errorf("by name: %s", res.Payload)
	}
}

func TestContextCancelStopsInvocation(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: t
provider: {name: aws, runtime: nodejs20.x}
functions:
  slow: {handler: h.handler, timeout: 30}
`
	p, _ := startPool(t, yml, map[string]string{"h.js": slowNode}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	if _, err := p.Invoke(ctx, "slow", []byte(`{"sleepMs":20000}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if res := invoke(t, p, "slow", `{}`); res.FunctionError != "" {
		t.Errorf("after cancel: %s", res.Payload)
	}
}

func TestLambdaVCPUs(t *testing.T) {
	t.Parallel()
	for mem, want := range map[int]int{128: 1, 1024: 1, 1769: 1, 3538: 2, 10240: 5} {
		if want > runtime.NumCPU() {
			want = runtime.NumCPU()
		}
		if got := lambdaVCPUs(mem); got != want {
			t.Errorf("lambdaVCPUs(%d) = %d, want %d", mem, got, want)
		}
	}
}

// The classic custom-runtime tutorial: a shell bootstrap polling the
// Runtime API with curl.
const shellBootstrap = `#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -D "$HEADERS" "$API/next")
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  case "$EVENT" in
    *sleep*) sleep 31.4159 ;;
  esac
  curl -sS -X POST "$API/$ID/response" -d "{\"echo\":$EVENT,\"handler\":\"$_HANDLER\"}" >/dev/null
done
`

func TestShellBootstrapAndProcessGroupKill(t *testing.T) {
	t.Parallel()
	requireTool(t, "curl")
	requireTool(t, "pgrep")
	yml := `service: sh
provider: {name: aws, runtime: provided.al2}
functions:
  f: {handler: function.handler, timeout: 1}
`
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"serverless.yml": yml})
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(shellBootstrap), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := New(loadService(t, dir, yml), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res := invoke(t, p, "f", `{"n":1}`)
	if got := decode(t, res.Payload); res.FunctionError != "" || got["handler"] != "function.handler" ||
		got["echo"].(map[string]any)["n"] != float64(1) {
		t.Fatalf("shell bootstrap: %s", res.Payload)
	}
	_, err = p.Invoke(context.Background(), "f", []byte(`{"sleep":true}`))
	var te *local.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want timeout", err)
	}
	// The bootstrap's child `sleep` dies with it.
	waitFor(t, "the timed-out bootstrap's children to die", func() bool {
		return exec.Command("pgrep", "-f", "sleep 31.4159").Run() != nil
	})
}

func TestServiceLayersAreVisible(t *testing.T) {
	requireTool(t, "node")
	yml := `service: layered
provider: {name: aws, runtime: nodejs20.x}
layers:
  tools:
    path: layers/tools
functions:
  f:
    handler: h.handler
    layers:
      - {Ref: ToolsLambdaLayer}
      - arn:aws:lambda:us-east-1:123456789012:layer:elsewhere:3
`
	files := map[string]string{
		"h.js": `const { execFileSync } = require('child_process');
exports.handler = async () => ({ lib: require('greetlib').greet(), bin: execFileSync('greet').toString().trim() });`,
		"layers/tools/nodejs/node_modules/greetlib/index.js": `exports.greet = () => 'from layer module';`,
	}
	log := &syncBuffer{}
	p, dir := startPool(t, yml, files, Options{Log: log})
	os.MkdirAll(filepath.Join(dir, "layers/tools/bin"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "layers/tools/bin/greet"), []byte("#!/bin/sh\necho from layer bin\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, p, "f", `{}`)
	got := decode(t, res.Payload)
	if got["lib"] != "from layer module" || got["bin"] != "from layer bin" {
		t.Errorf("layer contents not visible: %s", res.Payload)
	}
	if !contains(log.String(), "layer arn:aws:lambda:us-east-1:123456789012:layer:elsewhere:3 is not part of this service") {
		t.Errorf("foreign layer not reported:\n%s", log.String())
	}
}

// A runtime that reports an error and then exits (aws-lambda-go's Runtime
// API loop does so after a panic) still looks idle for a moment. The call
// handed to it meanwhile never reaches a handler, so it must run on a fresh
// instance, as Lambda's next invocation would, instead of failing.
const reportThenExitBootstrap = `#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation"
HEADERS="$(mktemp)"
EVENT=$(curl -sS -D "$HEADERS" "$API/next")
ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
case "$EVENT" in
  *panic*)
    curl -sS -X POST "$API/$ID/error" -d '{"errorMessage":"boom","errorType":"panic"}' >/dev/null
    sleep 0.3
    exit 2 ;;
esac
curl -sS -X POST "$API/$ID/response" -d "{\"pid\":$$}" >/dev/null
exec "$0"
`

func TestCallAfterExitingErrorRunsOnFreshInstance(t *testing.T) {
	t.Parallel()
	requireTool(t, "curl")
	yml := `service: sh
provider: {name: aws, runtime: provided.al2}
functions:
  f: {handler: function.handler}
`
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"serverless.yml": yml})
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(reportThenExitBootstrap), 0o755); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	p, err := New(loadService(t, dir, yml), Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if res := invoke(t, p, "f", `{"panic":true}`); res.FunctionError != "Unhandled" || !contains(string(res.Payload), `"boom"`) {
		t.Fatalf("reported error: %+v %s", res, res.Payload)
	}
	res := invoke(t, p, "f", `{}`)
	if res.FunctionError != "" || decode(t, res.Payload)["pid"] == nil {
		t.Fatalf("call after the exiting error: %s", res.Payload)
	}
	if n := strings.Count(log.String(), "START RequestId: "+res.RequestID); n != 1 {
		t.Errorf("START logged %d times for the moved call:\n%s", n, log.String())
	}
}
