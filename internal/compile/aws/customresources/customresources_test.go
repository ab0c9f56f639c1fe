package customresources

import (
	"archive/zip"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// handlerPaths are the Handler values the compiled template gives each
// custom-resource Lambda ("<file>.handler").
var handlerPaths = []string{
	"s3/handler.js",
	"cognito-user-pool/handler.js",
	"event-bridge/handler.js",
	"api-gateway-cloud-watch-role/handler.js",
}

func TestZipIsDeterministicAndHoldsEveryHandler(t *testing.T) {
	a, err := Zip()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Zip()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of custom-resources.zip differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
		if f.Mode().Perm() != 0o644 || !f.Modified.Equal(zipEpoch) {
			t.Errorf("%s: mode %v, time %v; want 0644 at the zip epoch", f.Name, f.Mode(), f.Modified)
		}
	}
	for _, h := range handlerPaths {
		if !names[h] {
			t.Errorf("zip lacks %s (has %v)", h, Files())
		}
	}
}

// node runs a script against the handler sources and returns its stdout.
func node(t *testing.T, script string) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	cmd := exec.Command("node", "-e", script)
	cmd.Dir = filepath.Join("node")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestHandlersParse(t *testing.T) {
	var files []string
	for _, f := range Files() {
		if strings.HasSuffix(f, ".js") {
			files = append(files, f)
		}
	}
	list, _ := json.Marshal(files)
	// Compiling each file as a function body catches syntax errors without
	// loading the AWS SDK the handlers import.
	out := node(t, `
const fs = require('fs');
const bad = [];
for (const f of `+string(list)+`) {
  try { new Function('require', 'module', 'exports', fs.readFileSync(f, 'utf8')); }
  catch (e) { bad.push(f + ': ' + e.message); }
}
console.log(JSON.stringify(bad));`)
	if out != "[]" {
		t.Errorf("handlers with syntax errors: %s", out)
	}
}

func TestS3NotificationsKeepOtherSubscribers(t *testing.T) {
	out := node(t, `
const n = require('./s3/notifications');
const current = {
  TopicConfigurations: [{Id: 'topic', TopicArn: 'arn:t', Events: ['s3:ObjectRemoved:*']}],
  LambdaFunctionConfigurations: [
    {Id: 'svc-dev-first-0123', LambdaFunctionArn: 'arn:old', Events: ['s3:ObjectCreated:*']},
    {Id: 'someone-else-abcd', LambdaFunctionArn: 'arn:other', Events: ['s3:ObjectCreated:*']},
  ],
};
const next = n.withFunction(current, 'svc-dev-first', 'arn:new', [
  {Event: 's3:ObjectCreated:*', Rules: [{Prefix: 'uploads/'}, {Suffix: '.csv'}]},
]);
console.log(JSON.stringify({next, removed: n.withoutFunction(next, 'svc-dev-first'),
  target: n.permissionTarget('my.bucket:name*')}));`)
	var got struct {
		Next struct {
			TopicConfigurations          []map[string]any
			LambdaFunctionConfigurations []struct {
				ID                string `json:"Id"`
				LambdaFunctionArn string
				Filter            *struct {
					Key struct {
						FilterRules []struct{ Name, Value string }
					}
				}
			}
		}
		Removed struct {
			LambdaFunctionConfigurations []struct {
				ID string `json:"Id"`
			}
		}
		Target string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	confs := got.Next.LambdaFunctionConfigurations
	if len(got.Next.TopicConfigurations) != 1 || len(confs) != 2 {
		t.Fatalf("want the topic and two lambda configurations, got %s", out)
	}
	if confs[0].ID != "someone-else-abcd" || confs[1].LambdaFunctionArn != "arn:new" {
		t.Errorf("the function's old entry must be replaced and others kept: %s", out)
	}
	// The md5 is over JSON.stringify of the bucket config, as v3's handler
	// computes it, so entries made by v3 and by Nimbus replace each other.
	sum := md5.Sum([]byte(`{"Event":"s3:ObjectCreated:*","Rules":[{"Prefix":"uploads/"},{"Suffix":".csv"}]}`))
	if want := "svc-dev-first-" + hex.EncodeToString(sum[:]); confs[1].ID != want {
		t.Errorf("configuration id = %q, want %q", confs[1].ID, want)
	}
	rules := confs[1].Filter.Key.FilterRules
	if len(rules) != 2 || rules[0].Name != "prefix" || rules[1].Value != ".csv" {
		t.Errorf("filter rules: %+v", rules)
	}
	if len(got.Removed.LambdaFunctionConfigurations) != 1 {
		t.Errorf("delete must leave only the other subscriber: %s", out)
	}
	if got.Target != "mybucketname" {
		t.Errorf("permission target = %q, want dots, colons and stars dropped", got.Target)
	}
}

func TestCognitoTriggersReplaceOnlyTheFunction(t *testing.T) {
	out := node(t, `
const tr = require('./cognito-user-pool/triggers');
const cfg = {PreSignUp: 'arn:fn', PostConfirmation: 'arn:other',
  CustomSMSSender: {LambdaArn: 'arn:fn', LambdaVersion: 'V1_0'}, KMSKeyID: 'k1'};
const removed = tr.withoutFunction(cfg, 'arn:fn');
const added = tr.withFunction(cfg, 'arn:fn', [{Trigger: 'PreTokenGeneration'},
  {Trigger: 'CustomEmailSender', LambdaVersion: 'V1_0', KMSKeyID: 'k2'}]);
const req = tr.updateRequest({Id: 'pool-1', Name: 'n', Arn: 'a', MfaConfiguration: 'OFF',
  Policies: {PasswordPolicy: {MinimumLength: 8}},
  AdminCreateUserConfig: {AllowAdminCreateUserOnly: true, UnusedAccountValidityDays: 7}}, added);
console.log(JSON.stringify({removed, added, req}));`)
	var got struct {
		Removed map[string]any
		Added   map[string]any
		Req     map[string]any
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.Removed) != 1 || got.Removed["PostConfirmation"] != "arn:other" {
		t.Errorf("removing must keep only other functions' triggers and drop the orphaned KMS key: %v", got.Removed)
	}
	if got.Added["PreTokenGeneration"] != "arn:fn" || got.Added["KMSKeyID"] != "k2" || got.Added["PreSignUp"] != nil {
		t.Errorf("adding: %v", got.Added)
	}
	if got.Req["UserPoolId"] != "pool-1" || got.Req["Name"] != nil || got.Req["Arn"] != nil || got.Req["MfaConfiguration"] != "OFF" {
		t.Errorf("update request must carry settable fields only: %v", got.Req)
	}
	pp := got.Req["Policies"].(map[string]any)["PasswordPolicy"].(map[string]any)
	if pp["TemporaryPasswordValidityDays"] != float64(7) {
		t.Errorf("UnusedAccountValidityDays must move to TemporaryPasswordValidityDays: %v", got.Req)
	}
}

func TestEventBridgeNamesMatchCompiledTemplate(t *testing.T) {
	out := node(t, `
const r = require('./event-bridge/rules');
const long = 'svc-dev-a-function-with-a-really-long-name-to-force-hashing-1-rule-1';
console.log(JSON.stringify({
  bus: r.busName('arn:aws:events:us-east-1:1:event-bus/other'),
  short: r.targetId('svc-dev-f-rule-1'),
  long: r.targetId(long),
  arn: r.ruleArn({partition: 'aws', region: 'us-east-1', accountId: '1'}, {RuleName: 'r', EventBus: 'b'}),
  target: r.target('arn:fn', {RuleName: 'r', Input: {k: 'v'}}),
}));`)
	var got struct {
		Bus, Short, Long, Arn string
		Target                map[string]any
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Bus != "other" || got.Short != "svc-dev-f-rule-1-target" || got.Arn != "arn:aws:events:us-east-1:1:rule/b/r" {
		t.Errorf("names: %+v", got)
	}
	if len(got.Long) > 64 || !strings.HasSuffix(got.Long, "-target") {
		t.Errorf("long target id %q must be cut to 64 with the -target suffix", got.Long)
	}
	if got.Target["Input"] != `{"k":"v"}` || got.Target["Id"] != "r-target" {
		t.Errorf("target: %v", got.Target)
	}
}

// TestHandlersLoadAsTheLambdaNodeRuntimeDoes imports every handler file the
// way Lambda's Node runtime interface client does (a dynamic import, then
// the exported name) and checks the two things a nodejs24.x function needs
// from them: our code requires only modules the runtime provides (Node
// built-ins and the AWS SDK for JavaScript v3 clients; never the v2
// "aws-sdk", which the runtimes since nodejs18.x do not carry), and each
// handler is async and takes at most (event, context), since nodejs24.x
// fails at init on callback-style handlers.
func TestHandlersLoadAsTheLambdaNodeRuntimeDoes(t *testing.T) {
	modules := sdkModules(t)
	var handlers []string
	for _, p := range handlerPaths {
		handlers = append(handlers, strings.TrimSuffix(p, ".js")+".handler")
	}
	list, _ := json.Marshal(handlers)
	cmd := exec.Command("node", "-e", `
const Module = require('module');
const path = require('path');
const { pathToFileURL } = require('url');
const root = process.cwd() + path.sep;
const requested = new Set();
const load = Module._load;
Module._load = function (request, parent) {
  // Only what our files ask for: the SDK's own dependencies come with it.
  const from = parent && parent.filename;
  if (from && from.startsWith(root) && !from.includes(path.sep + 'node_modules' + path.sep)) requested.add(request);
  return load.apply(this, arguments);
};
(async () => {
  const handlers = {};
  for (const h of `+string(list)+`) {
    const dot = h.lastIndexOf('.');
    const mod = await import(pathToFileURL(path.resolve(h.slice(0, dot) + '.js')).href);
    const fn = mod[h.slice(dot + 1)] ?? (mod.default && mod.default[h.slice(dot + 1)]);
    handlers[h] = { type: typeof fn, kind: fn && fn.constructor.name, args: fn && fn.length };
  }
  console.log(JSON.stringify({ handlers, requested: [...requested].sort() }));
})().catch((e) => { console.error(e); process.exit(1); });`)
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s%s", err, out, stderr.String())
	}
	var got struct {
		Handlers map[string]struct {
			Type, Kind string
			Args       int
		}
		Requested []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, h := range handlers {
		fn, ok := got.Handlers[h]
		if !ok || fn.Type != "function" {
			t.Errorf("%s: the runtime would find no handler function (%+v)", h, fn)
			continue
		}
		if fn.Kind != "AsyncFunction" || fn.Args > 2 {
			t.Errorf("%s is a %s of %d parameters; nodejs24.x needs an async (event, context) handler", h, fn.Kind, fn.Args)
		}
	}
	builtins := nodeBuiltins(t)
	sdkClient := regexp.MustCompile(`^@aws-sdk/client-[a-z0-9-]+$`)
	var siblings, clients int
	for _, m := range got.Requested {
		switch {
		case strings.HasPrefix(m, "./") || strings.HasPrefix(m, "../"):
			siblings++
		case sdkClient.MatchString(m):
			clients++
		case builtins[strings.TrimPrefix(m, "node:")]:
		default:
			t.Errorf("a handler requires %q, which the Lambda Node runtime does not provide", m)
		}
	}
	// Without these the hook saw nothing and the check above proved nothing.
	if siblings == 0 || clients == 0 {
		t.Fatalf("the require hook missed the handlers' own imports: %v", got.Requested)
	}
}

// nodeBuiltins is the set of Node's built-in module names.
func nodeBuiltins(t *testing.T) map[string]bool {
	t.Helper()
	var names []string
	if err := json.Unmarshal([]byte(node(t, "console.log(JSON.stringify(require('module').builtinModules))")), &names); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	return set
}
