package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

func parse(t testing.TB, yml string) *config.Node {
	t.Helper()
	root, ds := config.Parse("serverless.yml", []byte(yml), nil)
	if ds.HasErrors() {
		t.Fatalf("parse: %v", ds.Err())
	}
	return root
}

// lines shows diagnostics as "Severity line:col path: summary [detail]".
func lines(ds diag.Diagnostics) []string {
	var out []string
	for _, d := range ds {
		s := d.Severity.String() + " " + strings.TrimPrefix(d.Message(), "serverless.yml:")
		if d.Detail != "" {
			s += " [" + d.Detail + "]"
		}
		out = append(out, s)
	}
	return out
}

const base = "service: svc\nprovider:\n  name: aws\n  runtime: nodejs18.x\n"

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		yml  string
		want []string
	}{
		{"valid minimal", base + "functions:\n  hello:\n    handler: h.hello\n", nil},
		{"unknown function key with suggestion", base + "functions:\n  hello:\n    handler: h.hello\n    handlr: x\n", []string{
			"Warning 8:5: functions.hello.handlr: unrecognized property 'handlr' [did you mean 'handler'?]",
		}},
		{"unknown top-level key", base + "custm:\n  a: 1\nfoo: bar\n", []string{
			"Warning 5:1: custm: unrecognized property 'custm' [did you mean 'custom'?]",
			"Warning 7:1: foo: unrecognized property 'foo' [Settings of your own belong under 'custom'.]",
		}},
		{"error mode makes schema problems errors", "configValidationMode: error\n" + base + "foo: bar\n", []string{
			"Error 6:1: foo: unrecognized property 'foo' [Settings of your own belong under 'custom'.]",
		}},
		{"off mode reports nothing from the schema", "configValidationMode: off\n" + base + "foo: bar\n", nil},
		{"bad runtime with suggestion", "service: svc\nprovider:\n  name: aws\n  runtime: nodejs18\n", []string{
			"Warning 4:12: provider.runtime: must be equal to one of the allowed values [" + joinAny(Runtimes) + "] [did you mean 'nodejs18.x'?]",
		}},
		{"wrong type", base + "  memorySize: lots\n", []string{
			"Warning 5:15: provider.memorySize: must be integer",
		}},
		{"numeric string is coerced like ajv", base + "  memorySize: '512'\n  timeout: 901\n", []string{
			"Warning 6:12: provider.timeout: must be <= 900",
		}},
		{"missing handler is an error in every mode", "configValidationMode: off\n" + base + "functions:\n  hello:\n    runtime: nodejs18.x\n", []string{
			`Error 7:3: functions.hello: either "handler" or "image" needs to be set on function "hello"`,
		}},
		{"bad event shape", base + "functions:\n  hello:\n    handler: h.hello\n    events:\n      - http:\n          path: /x\n", []string{
			"Warning 9:9: functions.hello.events[0].http: must have required property 'method'",
		}},
		{"unknown event type", base + "functions:\n  hello:\n    handler: h.hello\n    events:\n      - htp: GET /\n", []string{
			"Warning 9:9: functions.hello.events[0].htp: unsupported function event 'htp' [did you mean 'http'?]",
		}},
		{"event settings not indented", base + "functions:\n  hello:\n    handler: h.hello\n    events:\n      - http:\n        path: /x\n        method: get\n", []string{
			"Warning 9:9: functions.hello.events[0]: an event must have exactly one key, the event type; found 'http', 'path', 'method' [Indent the event's settings under 'http:'.]",
		}},
		{"event type without settings", base + "functions:\n  hello:\n    handler: h.hello\n    events:\n      - alexaSkill\n", []string{
			"Warning 9:9: functions.hello.events[0]: an event must be a mapping of one event type to its settings [Write it as '- alexaSkill: …' with the event's settings.]",
		}},
		{"list-form functions and resources are merged", base + "functions:\n  - a:\n      handler: h.a\n  - ~\n  - b:\n      handler: h.b\n    a:\n      timeout: 0\nresources:\n  - Resources:\n      Q: {Type: AWS::SQS::Queue}\n  - Outputs: {}\n", []string{
			"Warning 12:16: functions.a.timeout: must be >= 1",
		}},
		{"non-mapping item in a functions list", base + "functions:\n  - a:\n      handler: h.a\n  - oops\n", []string{
			"Error 8:5: functions[1]: non-object value specified in functions list: oops [Each item of a functions list must be a mapping; the items are merged into one.]",
		}},
		{"functions must be a mapping", base + "functions: hello\n", []string{
			`Error 5:12: functions: unexpected "functions" configuration: expected a mapping of function names to their settings, got a string`,
		}},
		{"a function must be a mapping; a null one is ignored", base + "functions:\n  a: h.a\n  b:\n", []string{
			`Error 6:6: functions.a: unexpected "a" function configuration: expected a mapping, got a string [A function is a mapping with at least "handler" (or "image").]`,
			`Warning 7:3: functions.b: function "b" has no settings and is ignored`,
		}},
		{"string shorthand events are valid", base + "functions:\n  hello:\n    handler: h.hello\n    events:\n      - http: GET /x\n      - sqs: arn:aws:sqs:us-east-1:123456789012:q\n      - schedule: rate(5 minutes)\n", nil},
		{"schedule pattern", base + "functions:\n  hello:\n    handler: h.hello\n    events:\n      - schedule: rate(5 minute)\n", []string{
			`Warning 9:19: functions.hello.events[0].schedule: must match pattern "` + schedulePattern + `" [` + scheduleHint + `]`,
		}},
		{"http shorthand pattern", base + "functions:\n  hello:\n    handler: h.hello\n    events:\n      - http: GET hello\n", []string{
			`Warning 9:15: functions.hello.events[0].http: value 'GET hello' does not satisfy pattern /^(?:\*|(GET|POST|PUT|PATCH|OPTIONS|HEAD|DELETE|ANY) (\/\S*))$/i`,
		}},
		{"arn or intrinsic function", base + "  iam:\n    role:\n      statements:\n        - Effect: Allow\n          Action: s3:GetObject\n          Resource: {'Fn::GetAtt': [Bucket, Arn]}\n        - Effect: Allow\n          Action: [sqs:*]\n          Resource: !Ref Queue\n", nil},
		{"iam statement needs Action", base + "  iam:\n    role:\n      statements:\n        - Effect: Allow\n          Resource: '*'\n", []string{
			"Warning 8:11: provider.iam.role.statements[0]: must have one of the properties 'Action', 'NotAction'",
		}},
		{"bad function name without handler keeps both problems", base + "functions:\n  hello world:\n    runtime: nodejs18.x\n", []string{
			`Error 6:3: functions.hello world: either "handler" or "image" needs to be set on function "hello world"`,
			"Warning 6:3: functions.hello world: function name 'hello world' must be alphanumeric [Function names may contain only letters, digits, '-' and '_'.]",
		}},
		{"bad function name", base + "functions:\n  hello world:\n    handler: h.hello\n", []string{
			"Warning 6:3: functions.hello world: function name 'hello world' must be alphanumeric [Function names may contain only letters, digits, '-' and '_'.]",
		}},
		{"environment values", base + "  environment:\n    A: x\n    B: !Ref Thing\n    C: ''\n    1BAD: x\n", []string{
			"Warning 9:5: provider.environment.1BAD: unrecognized property '1BAD'",
		}},
		{"tracing enum or boolean", base + "  tracing:\n    lambda: Actve\n", []string{
			"Warning 6:13: provider.tracing.lambda: must be equal to one of the allowed values [Active, PassThrough] [did you mean 'Active'?]",
		}},
		{"null values are ignored like v3", base + "  memorySize:\nfunctions:\n  hello:\n    handler: h.hello\n    timeout: ~\n", nil},
		{"case-insensitive enum", base + "functions:\n  hello:\n    handler: h.hello\n    events:\n      - http:\n          path: /\n          method: get\n          integration: lambda-proxy\n", nil},
		{"object service", "service:\n  name: svc\nprovider:\n  name: aws\n", []string{
			`Error 1:1: service: object notation for "service" is not supported [Write "service: svc" instead.]`,
		}},
		{"missing service and provider", "functions: {}\n", []string{
			`Error 1:1: "service" property is missing [Name the service at the top of the file, e.g. "service: my-service".]`,
			`Error 1:1: "provider" property is missing [Add "provider:" with "name: aws" and a runtime.]`,
		}},
		{"provider without name", "service: svc\nprovider:\n  runtime: nodejs18.x\n", []string{
			`Error 2:1: provider: "provider.name" property is missing [Add "name: aws" under provider.]`,
		}},
		{"provider as a string", "service: svc\nprovider: aws\n", nil},
		{"other provider", "service: svc\nprovider:\n  name: google\n", []string{
			`Error 3:9: provider.name: provider "google" is not supported: Nimbus deploys to aws only`,
		}},
		{"frameworkVersion excludes 3.40.0", "service: svc\nframeworkVersion: '>=1.6.0 <2.1.0'\nprovider:\n  name: aws\n", []string{
			`Error 2:19: frameworkVersion: the Serverless version Nimbus implements (3.40.0) does not satisfy "frameworkVersion" (>=1.6.0 <2.1.0) [Nimbus behaves as serverless v3. Change the range to include 3.40.0, e.g. "frameworkVersion: '3'".]`,
		}},
		{"unquoted frameworkVersion is skipped with a warning, as v3 does", "service: svc\nframeworkVersion: 3\nprovider:\n  name: aws\n", []string{
			`Warning 2:19: frameworkVersion: "frameworkVersion" is not a valid semver version range; version validation is skipped [3 is a number, not a string; quote it: frameworkVersion: '3'. Use a range such as "3" or ">=3.0.0 <4.0.0".]`,
		}},
		{"frameworkVersion accepted", "service: svc\nframeworkVersion: '3'\nprovider:\n  name: aws\n", nil},
		{"invalid frameworkVersion warns", "service: svc\nframeworkVersion: 'three'\nprovider:\n  name: aws\n", []string{
			`Warning 2:19: frameworkVersion: "frameworkVersion" is not a valid semver version range; version validation is skipped [invalid version "three". Use a range such as "3" or ">=3.0.0 <4.0.0".]`,
		}},
		{"resources need Type", base + "resources:\n  Resources:\n    Queue:\n      Properties: {}\n", []string{
			"Warning 7:5: resources.Resources.Queue: must have required property 'Type'",
		}},
		{"tags reject aws: prefix", base + "  tags:\n    aws:owner: me\n    team: x\n", []string{
			"Warning 6:5: provider.tags.aws:owner: unrecognized property 'aws:owner'",
		}},
		{"several problems sorted by position", base + "  memorySize: 1\nfunctions:\n  hello:\n    handler: h\n    timeout: 0\n    runtime: go\n", []string{
			"Warning 5:15: provider.memorySize: must be >= 128",
			"Warning 9:14: functions.hello.timeout: must be >= 1",
			"Warning 10:14: functions.hello.runtime: must be equal to one of the allowed values [" + joinAny(Runtimes) + "]",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := lines(Validate(parse(t, tc.yml)))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func joinAny(vs []any) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.(string)
	}
	return strings.Join(s, ", ")
}

func TestCoercionIsApplied(t *testing.T) {
	root := parse(t, base+"  memorySize: '512'\n  iam:\n    role:\n      statements:\n        - Effect: Allow\n          Action: s3:GetObject\n          Resource: '*'\n")
	if ds := Validate(root); len(ds) != 0 {
		t.Fatalf("unexpected diagnostics: %v", lines(ds))
	}
	if n := root.Lookup("provider", "memorySize"); n.Kind != config.Int || n.Value.(int64) != 512 {
		t.Errorf("memorySize = %#v, want integer 512", n)
	}
	if n := root.Lookup("provider", "iam", "role", "statements", "0", "Action"); n.Kind != config.Seq || len(n.Items) != 1 {
		t.Errorf("Action = %#v, want a one-item list", n)
	}
}

func TestWidthCoversOffendingToken(t *testing.T) {
	ds := Validate(parse(t, base+"functions:\n  hello:\n    handler: h\n    handlr: x\n"))
	if len(ds) != 1 || ds[0].Width != len("handlr") {
		t.Fatalf("want one diagnostic of width 6, got %+v", ds)
	}
}

func TestSemverRanges(t *testing.T) {
	tests := []struct {
		rng  string
		want bool
	}{
		{"3", true}, {"3.x", true}, {"^3.0.0", true}, {"^3.38.0", true}, {"~3.40.0", true}, {"~3.39", false},
		{">=3.0.0 <4.0.0", true}, {">=1.6.0 <2.1.0", false}, {"^2.0.0", false}, {"2 || 3", true},
		{"*", true}, {"", true}, {">3.40.0", false}, {">=3.40.0", true}, {"<=3.40", true}, {"<3.40", false},
		{"3.0.0 - 3.40.0", true}, {"1 - 2", false}, {"1 - 3", true}, {"=3.40.0", true}, {"v3.40.0", true},
		{">= 3.0.0", true}, {"^3.41.0-beta.1", false}, {">=3.40.0-rc.1", true}, {"~>3.40", true}, {"1.x || >=3.1 <3.41", true},
	}
	v, _ := parseVersion(FrameworkVersion)
	for _, tc := range tests {
		r, err := parseRange(tc.rng)
		if err != nil {
			t.Errorf("%q: %v", tc.rng, err)
			continue
		}
		if got := r.satisfies(v); got != tc.want {
			t.Errorf("3.40.0 satisfies %q = %v, want %v", tc.rng, got, tc.want)
		}
	}
	for _, bad := range []string{"three", "3.0.0.0", ">=1.2.3.4", "^^3"} {
		if _, err := parseRange(bad); err == nil {
			t.Errorf("%q: expected an invalid range", bad)
		}
	}
	pre, _ := parseVersion("3.41.0-beta.2")
	for rng, want := range map[string]bool{"^3.0.0": false, ">=3.41.0-beta.1": true, "^3.41.0-beta.3": false} {
		r, _ := parseRange(rng)
		if got := r.satisfies(pre); got != want {
			t.Errorf("3.41.0-beta.2 satisfies %q = %v, want %v", rng, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"handlr", "handler", 1}, {"hnadler", "handler", 1}, {"", "abc", 3}, {"runtime", "runtime", 0}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestCorpusServicesV3PackagesAreValid checks that the services serverless
// v3 packaged without complaint raise no schema error in error mode once
// their variables are out of the way: those with ${…} left unresolved are
// skipped, since resolution is not this package's job.
func TestCorpusServicesV3PackagesAreValid(t *testing.T) {
	dirs, _ := filepath.Glob("../../../shared/corpus/public/*/expected/sls3")
	if len(dirs) == 0 {
		t.Skip("corpus not present")
	}
	checked := 0
	for _, d := range dirs {
		svc := filepath.Dir(filepath.Dir(d))
		data, err := os.ReadFile(filepath.Join(svc, "serverless.yml"))
		if err != nil || strings.Contains(string(data), "${") {
			continue
		}
		root, ds := config.Parse("serverless.yml", data, nil)
		if ds.HasErrors() {
			t.Errorf("%s: %v", svc, ds.Err())
			continue
		}
		checked++
		for _, d := range Validate(root) {
			if d.Severity == diag.Error {
				t.Errorf("%s: %s", filepath.Base(svc), d.Message())
			}
		}
	}
	t.Logf("checked %d services without variables", checked)
}

func BenchmarkValidateCorpus(b *testing.B) {
	files, _ := filepath.Glob("../../../shared/corpus/public/*/serverless.yml")
	var roots [][]byte
	for _, f := range files {
		data, _ := os.ReadFile(f)
		roots = append(roots, data)
	}
	if len(roots) == 0 {
		b.Skip("corpus not present")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data := roots[i%len(roots)]
		root, _ := config.Parse("serverless.yml", data, nil)
		if root != nil {
			Validate(root)
		}
	}
}

func BenchmarkValidateOnly(b *testing.B) {
	files, _ := filepath.Glob("../../../shared/corpus/public/*/serverless.yml")
	var roots []*config.Node
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if root, ds := config.Parse("serverless.yml", data, nil); !ds.HasErrors() {
			roots = append(roots, root)
		}
	}
	if len(roots) == 0 {
		b.Skip("corpus not present")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Validate(roots[i%len(roots)])
	}
}

// FuzzValidate checks that no parsed input makes validation panic, and
// that every problem it reports points into the file.
func FuzzValidate(f *testing.F) {
	files, _ := filepath.Glob("../../../shared/corpus/public/*/serverless.yml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(base + "functions:\n  a:\n    handler: h\n    events:\n      - http: {path: /, method: get}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root, ds := config.Parse("serverless.yml", data, nil)
		if ds.HasErrors() {
			return
		}
		for _, d := range Validate(root) {
			if d.Summary == "" {
				t.Fatalf("diagnostic without summary: %+v", d)
			}
			if root.Kind == config.Map && len(root.Pairs) > 0 && !d.Pos.Known() {
				t.Fatalf("diagnostic without a position: %+v", d)
			}
		}
	})
}
