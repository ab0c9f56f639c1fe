package pool

import (
	"strings"
	"testing"
)

const nodeService = `service: nodesvc
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    GREETING: hello
functions:
  cjsAsync:
    handler: handlers/cjs.asyncHandler
  cjsCallback:
    handler: handlers/cjs.callbackHandler
  esm:
    handler: handlers/esm.handler
  typeModule:
    handler: modpkg/index.handler
  throws:
    handler: handlers/cjs.throws
  rejectsString:
    handler: handlers/cjs.rejectsString
  initError:
    handler: handlers/broken.handler
  missingExport:
    handler: handlers/cjs.nope
  nested:
    handler: handlers/cjs.nested.deep
  typescript:
    handler: src/app.handler
`

var nodeFiles = map[string]string{
	"handlers/cjs.js": `
exports.asyncHandler = async (event, context) => {
  console.log('got', event.say);
  return {
    said: event.say,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    arn: context.invokedFunctionArn,
    memory: context.memoryLimitInMB,
    logGroup: context.logGroupName,
    logStream: context.logStreamName,
    remaining: context.getRemainingTimeInMillis(),
    waits: context.callbackWaitsForEmptyEventLoop,
    greeting: process.env.GREETING,
  };
};
exports.callbackHandler = (event, context, callback) => {
  setTimeout(() => callback(null, { said: event.say, style: 'callback' }), 5);
};
exports.throws = async () => { throw new TypeError('bad input'); };
exports.rejectsString = () => Promise.reject('plain string');
exports.nested = { deep: async (event) => ({ said: event.say, style: 'nested' }) };
`,
	"handlers/esm.mjs": `
export const handler = async (event) => ({ said: event.say, style: 'esm' });
`,
	"modpkg/package.json": `{"type":"module"}`,
	"modpkg/index.js": `
export async function handler(event) { return { said: event.say, style: 'type-module' }; }
`,
	"src/app.ts": "export const handler = async (): Promise<string> => 'ts';\n",
	"handlers/broken.js": `
throw new Error('cannot start');
`,
}

func TestNodeHandlers(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	log := &syncBuffer{}
	p, _ := startPool(t, nodeService, nodeFiles, Options{Log: log})

	res := invoke(t, p, "cjsAsync", `{"say":"hi"}`)
	if res.FunctionError != "" {
		t.Fatalf("unexpected error %s", res.Payload)
	}
	got := decode(t, res.Payload)
	want := map[string]any{
		"said": "hi", "requestId": res.RequestID, "functionName": "nodesvc-dev-cjsAsync",
		"functionVersion": "$LATEST", "arn": "arn:aws:lambda:us-east-1:000000000000:function:nodesvc-dev-cjsAsync",
		"memory": "1024", "logGroup": "/aws/lambda/nodesvc-dev-cjsAsync", "waits": true, "greeting": "hello",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if r, _ := got["remaining"].(float64); r <= 0 || r > 6000 {
		t.Errorf("getRemainingTimeInMillis = %v, want within the 6 s timeout", got["remaining"])
	}
	if s, _ := got["logStream"].(string); !strings.Contains(s, "[$LATEST]") {
		t.Errorf("logStreamName = %q", s)
	}
	if !contains(string(res.Logs), "\t"+res.RequestID+"\tINFO\tgot hi") {
		t.Errorf("Result.Logs lacks the console line: %q", res.Logs)
	}

	for _, tc := range []struct{ fn, style string }{
		{"cjsCallback", "callback"}, {"esm", "esm"}, {"typeModule", "type-module"}, {"nested", "nested"},
	} {
		res := invoke(t, p, tc.fn, `{"say":"yo"}`)
		got := decode(t, res.Payload)
		if res.FunctionError != "" || got["said"] != "yo" || got["style"] != tc.style {
			t.Errorf("%s: %s (error %q)", tc.fn, res.Payload, res.FunctionError)
		}
	}

	logs := log.String()
	for _, want := range []string{
		"[cjsAsync] START RequestId: " + res.RequestID + " Version: $LATEST",
		"[cjsAsync] END RequestId: " + res.RequestID,
		"[cjsAsync] REPORT RequestId: " + res.RequestID + "\tDuration: ",
		"Memory Size: 1024 MB\tMax Memory Used: ",
		"Init Duration: ",
	} {
		if !contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestNodeErrors(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	p, _ := startPool(t, nodeService, nodeFiles, Options{})

	res := invoke(t, p, "throws", `{}`)
	doc := decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || doc["errorType"] != "TypeError" || doc["errorMessage"] != "bad input" {
		t.Errorf("thrown error: %q %s", res.FunctionError, res.Payload)
	}
	if trace, _ := doc["stackTrace"].([]any); len(trace) == 0 || !strings.Contains(trace[0].(string), "TypeError: bad input") {
		t.Errorf("stackTrace = %v", doc["stackTrace"])
	}

	res = invoke(t, p, "rejectsString", `{}`)
	doc = decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || doc["errorType"] != "string" || doc["errorMessage"] != "plain string" {
		t.Errorf("rejected string: %s", res.Payload)
	}

	res = invoke(t, p, "initError", `{}`)
	doc = decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || doc["errorType"] != "Error" || doc["errorMessage"] != "cannot start" {
		t.Errorf("init error: %s", res.Payload)
	}

	res = invoke(t, p, "missingExport", `{}`)
	doc = decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || doc["errorType"] != "Runtime.HandlerNotFound" {
		t.Errorf("missing export: %s", res.Payload)
	}

	res = invoke(t, p, "typescript", `{}`)
	doc = decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || doc["errorType"] != "Runtime.ImportModuleError" ||
		!strings.Contains(doc["errorMessage"].(string), "src/app.ts is TypeScript: compile it to JavaScript first") {
		t.Errorf("typescript handler: %s", res.Payload)
	}

	// The instance survives a handled failure and keeps serving.
	res = invoke(t, p, "cjsAsync", `{"say":"after"}`)
	if got := decode(t, res.Payload); got["said"] != "after" {
		t.Errorf("after errors: %s", res.Payload)
	}
}
