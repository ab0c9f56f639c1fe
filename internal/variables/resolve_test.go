package variables

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// resolveYAML parses doc as serverless.yml in dir and resolves it.
func resolveYAML(t testing.TB, doc string, opts Options) (*config.Node, diag.Diagnostics) {
	t.Helper()
	src := diag.NewSources()
	root, ds := config.Parse("serverless.yml", []byte(doc), src)
	if ds.HasErrors() {
		t.Fatalf("parse: %v", ds.Err())
	}
	opts.Sources = src
	if opts.ConfigFile == "" {
		opts.ConfigFile = "serverless.yml"
	}
	return Resolve(context.Background(), root, opts)
}

func jsonOf(t testing.TB, n *config.Node) string {
	t.Helper()
	data, err := n.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// fakeAWS answers the remote sources from maps and counts calls.
type fakeAWS struct {
	mu       sync.Mutex
	account  string
	stacks   map[string]map[string]string // "region/stack" → outputs
	params   map[string]Parameter         // "region/name"
	objects  map[string]string            // "bucket/key"
	calls    int
	inFlight int
	maxSeen  int
	// barrier, when set, holds each call until that many are in flight at
	// once: the test proves the calls run in parallel.
	barrier int
	cond    *sync.Cond
}

func (f *fakeAWS) enter() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.inFlight++
	if f.inFlight > f.maxSeen {
		f.maxSeen = f.inFlight
	}
	if f.barrier == 0 {
		return
	}
	if f.cond == nil {
		f.cond = sync.NewCond(&f.mu)
	}
	if f.maxSeen >= f.barrier {
		f.cond.Broadcast()
		return
	}
	// A safety net so a serial implementation fails instead of hanging.
	timer := time.AfterFunc(5*time.Second, func() { f.mu.Lock(); f.barrier = -1; f.cond.Broadcast(); f.mu.Unlock() })
	defer timer.Stop()
	for f.maxSeen < f.barrier && f.barrier > 0 {
		f.cond.Wait()
	}
}

func (f *fakeAWS) leave() {
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
}

func (f *fakeAWS) AccountID(ctx context.Context, region string) (string, error) {
	f.enter()
	defer f.leave()
	return f.account, nil
}

func (f *fakeAWS) StackOutputs(ctx context.Context, region, stack string) (map[string]string, error) {
	f.enter()
	defer f.leave()
	if o, ok := f.stacks[region+"/"+stack]; ok {
		return o, nil
	}
	return nil, ErrNotFound
}

func (f *fakeAWS) Parameter(ctx context.Context, region, name string, decrypt bool) (Parameter, error) {
	f.enter()
	defer f.leave()
	if p, ok := f.params[region+"/"+name]; ok {
		if p.Type == "SecureString" && !decrypt {
			p.Value = "ENCRYPTED"
		}
		return p, nil
	}
	return Parameter{}, ErrNotFound
}

func (f *fakeAWS) Object(ctx context.Context, region, bucket, key string) ([]byte, error) {
	f.enter()
	defer f.leave()
	if o, ok := f.objects[bucket+"/"+key]; ok {
		return []byte(o), nil
	}
	return nil, ErrNotFound
}

type resolveCase struct {
	name string
	doc  string
	// path → expected JSON of the resolved value there ("" for the root)
	want map[string]string
	// substrings of the error diagnostics, in sorted order
	errs []string
	env  map[string]string
	cli  map[string]string
	par  map[string]string
	// files written to the service folder first
	files map[string]string
	aws   *fakeAWS
}

func runCases(t *testing.T, cases []resolveCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range c.files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			opts := Options{Dir: dir, Env: envMap(c.env), CLIOptions: c.cli, Params: c.par, InstanceID: "1700000000000"}
			opts.AWS = &fakeAWS{} // local cases must never reach AWS
			if c.aws != nil {
				opts.AWS = c.aws
			}
			got, ds := resolveYAML(t, c.doc, opts)
			errs := ds.Errors()
			if len(errs) != len(c.errs) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(c.errs), errs.Err())
			}
			for i, want := range c.errs {
				if msg := errs[i].Message(); !strings.Contains(msg, want) {
					t.Errorf("error %d = %q, want it to contain %q", i, msg, want)
				}
			}
			for path, want := range c.want {
				var keys []string
				if path != "" {
					keys = strings.Split(path, ".")
				}
				n := got.Lookup(keys...)
				if n == nil {
					t.Errorf("%s: missing", path)
					continue
				}
				if g := jsonOf(t, n); g != want {
					t.Errorf("%s = %s, want %s", path, g, want)
				}
			}
		})
	}
}

func TestResolveSyntaxAndTypes(t *testing.T) {
	runCases(t, []resolveCase{
		{name: "plain_strings_stay", doc: "a: hello\nb: 'x $ {y}'", want: map[string]string{"a": `"hello"`, "b": `"x $ {y}"`}},
		{name: "cloudformation_sub_bodies_are_not_variables",
			doc:  "a: arn:aws:s3:::${AWS::AccountId}:${AWS::Region}\nb: {Fn::Sub: '${Foo}-${Bar.Arn}'}\nc: ${foo}",
			want: map[string]string{"a": `"arn:aws:s3:::${AWS::AccountId}:${AWS::Region}"`, "b.Fn::Sub": `"${Foo}-${Bar.Arn}"`, "c": `"${foo}"`}},
		{name: "whole_value_keeps_object_type", doc: "custom: {o: {k: v, n: [1, 2]}}\nx: ${self:custom.o}",
			want: map[string]string{"x": `{"k":"v","n":[1,2]}`}},
		{name: "whole_value_keeps_list_number_bool", doc: "custom: {l: [a], n: 12, f: 1.5, b: true}\nl: ${self:custom.l}\nn: ${self:custom.n}\nf: ${self:custom.f}\nb: ${self:custom.b}",
			want: map[string]string{"l": `["a"]`, "n": `12`, "f": `1.5`, "b": `true`}},
		{name: "interpolation_makes_a_string", doc: "custom: {n: 12, b: false, l: [a, b]}\nx: n=${self:custom.n} b=${self:custom.b} l=${self:custom.l}",
			want: map[string]string{"x": `"n=12 b=false l=a,b"`}},
		{name: "interpolating_an_object_fails", doc: "custom: {o: {k: v}}\nx: pre-${self:custom.o}",
			errs: []string{`x: Cannot resolve variable ${self:custom.o}: String value consist of variable which resolve with non-string value`}},
		{name: "interpolating_null_fails", doc: "x: pre-${env:NOPE, null}",
			errs: []string{"String value consist of variable which resolve with non-string value"}},
		{name: "null_literal_fallback_as_whole_value", doc: "x: ${env:NOPE, null}", want: map[string]string{"x": `null`}},
		{name: "fallback_literals_keep_their_type", doc: "a: ${env:NOPE, 12}\nb: ${env:NOPE, 1.5}\nc: ${env:NOPE, true}\nd: ${env:NOPE, 'text'}\ne: ${env:NOPE, \"dq\"}\nf: ${env:NOPE, -3}",
			want: map[string]string{"a": `12`, "b": `1.5`, "c": `true`, "d": `"text"`, "e": `"dq"`, "f": `-3`}},
		{name: "fallback_to_another_source", doc: "custom: {d: fromSelf}\ny: ${env:NOPE, self:custom.d}",
			want: map[string]string{"y": `"fromSelf"`}},
		{name: "fallback_written_as_nested_variable_is_a_syntax_error_as_in_v3", doc: "x: ${env:NOPE, ${self:custom.d}}",
			errs: []string{`Invalid variable source at index 12`}},
		{name: "fallback_chain_stops_at_first_value", doc: "x: ${env:A, env:B, 'c'}", env: map[string]string{"B": "bee"},
			want: map[string]string{"x": `"bee"`}},
		{name: "first_source_wins_over_fallback", doc: "x: ${env:A, 'c'}", env: map[string]string{"A": "ay"}, want: map[string]string{"x": `"ay"`}},
		{name: "empty_env_value_is_a_value", doc: "x: ${env:A, 'c'}", env: map[string]string{"A": ""}, want: map[string]string{"x": `""`}},
		{name: "nested_variable_in_address", doc: "custom: {dev: {x: devx}, prod: {x: prodx}}\nx: ${self:custom.${opt:stage}.x}",
			cli: map[string]string{"stage": "prod"}, want: map[string]string{"x": `"prodx"`}},
		{name: "nested_variable_with_fallback_in_address", doc: "custom: {dev: {x: devx}}\nx: ${self:custom.${opt:stage, 'dev'}.x}",
			want: map[string]string{"x": `"devx"`}},
		{name: "recursive_reference_chain", doc: "custom: {a: '${self:custom.b}', b: '${self:custom.c}-b', c: c}\nx: ${self:custom.a}",
			want: map[string]string{"x": `"c-b"`, "custom.a": `"c-b"`}},
		{name: "object_with_variables_resolves_inside", doc: "custom: {o: {k: '${opt:stage}'}}\nx: ${self:custom.o}",
			cli: map[string]string{"stage": "qa"}, want: map[string]string{"x": `{"k":"qa"}`}},
		{name: "env_value_holding_a_variable_is_resolved", doc: "custom: {t: tee}\nx: ${env:A}", env: map[string]string{"A": "${self:custom.t}"},
			want: map[string]string{"x": `"tee"`}},
		{name: "dotted_and_bracket_addresses", doc: "custom: {l: [{c: zero}, {c: one}]}\na: ${self:custom.l.1.c}\nb: ${self:custom.l[0].c}\nc: ${self:custom.l.length}",
			want: map[string]string{"a": `"one"`, "b": `"zero"`, "c": `2`}},
		{name: "escaped_variable_stays_literal", doc: "a: \\${opt:stage}\nb: \\\\${opt:stage}", cli: map[string]string{"stage": "dev"},
			want: map[string]string{"a": `"${opt:stage}"`, "b": `"\\dev"`}},
		{name: "double_dollar_is_consumed_as_v3_does", doc: "a: $${opt:stage}", cli: map[string]string{"stage": "dev"},
			want: map[string]string{"a": `"dev"`}},
		{name: "several_variables_in_one_string", doc: "x: ${opt:a}-${opt:b}-${opt:c}", cli: map[string]string{"a": "1", "b": "2", "c": "3"},
			want: map[string]string{"x": `"1-2-3"`}},
		{name: "variables_in_lists", doc: "x: ['${opt:a}', {k: '${opt:a}'}]", cli: map[string]string{"a": "1"},
			want: map[string]string{"x": `["1",{"k":"1"}]`}},
		{name: "syntax_error_is_reported_with_path", doc: "custom:\n  x: ${env:A, bogus}",
			errs: []string{`serverless.yml:2:6: custom.x: variable syntax error: Invalid literal source "bogus"`}},
		{name: "unterminated_variable", doc: "x: ${self:${opt:a}", errs: []string{"Missing variable closing bracket"}},
		{name: "resolved_value_with_bad_syntax", doc: "x: ${env:A}", env: map[string]string{"A": "${env:B, bogus}"},
			errs: []string{`Approached variable syntax error in resolved value`}},
	})
}

func TestResolveErrorsAndCycles(t *testing.T) {
	runCases(t, []resolveCase{
		{name: "missing_env_reports_v3_reason_and_path", doc: "provider:\n  environment:\n    TABLE: ${env:TABLE}\n",
			errs: []string{`serverless.yml:3:12: provider.environment.TABLE: Cannot resolve variable ${env:TABLE}: Value not found at "env" source`}},
		{name: "error_points_inside_a_longer_string", doc: "x: prefix-${env:TABLE}\n",
			errs: []string{`serverless.yml:1:11: x: Cannot resolve variable ${env:TABLE}`}},
		{name: "all_unresolvable_variables_are_reported", doc: "a: ${env:A}\nb: ${self:nope}\nc: ['${opt:c}']",
			errs: []string{`a: Cannot resolve variable ${env:A}: Value not found at "env" source`,
				`b: Cannot resolve variable ${self:nope}: Value not found at "self" source`,
				`c[0]: Cannot resolve variable ${opt:c}: Value not found at "opt" source`}},
		{name: "every_failing_variable_of_one_string_is_reported", doc: "x: ${env:A}-${env:B}\ny: ${self:x}",
			errs: []string{`x: Cannot resolve variable ${env:A}: Value not found at "env" source`, `x: Cannot resolve variable ${env:B}: Value not found at "env" source`}},
		{name: "unknown_source", doc: "x: ${foo:bar}", errs: []string{`x: Unrecognized configuration variable source "foo" in ${foo:bar}`}},
		{name: "unknown_source_does_not_fall_back", doc: "x: ${foo:bar, 'd'}", errs: []string{`Unrecognized configuration variable source "foo"`}},
		{name: "dependents_of_a_failure_report_it_once", doc: "a: ${env:A}\nb: ${self:a}\nc: ${self:b}",
			errs: []string{`a: Cannot resolve variable ${env:A}`}},
		{name: "self_cycle", doc: "custom: {c: '${self:custom.c}'}", errs: []string{`custom.c: Cannot resolve variable ${self:custom.c}: Circular reference. "custom.c" refers to itself`}},
		{name: "two_property_cycle", doc: "custom:\n  a: ${self:custom.b}\n  b: ${self:custom.a}",
			errs: []string{`custom.b: Cannot resolve variable ${self:custom.a}: Circular reference among "custom.b" and "custom.a" properties: custom.a → custom.b → custom.a`}},
		{name: "three_property_cycle", doc: "custom:\n  a: ${self:custom.b}\n  b: ${self:custom.c}\n  c: x-${self:custom.a}",
			errs: []string{`custom.c: Cannot resolve variable ${self:custom.a}: Circular reference among "custom.c" and "custom.b" properties: custom.a → custom.b → custom.c → custom.a`}},
		{name: "whole_document_refers_to_itself", doc: "custom: {w: '${self:}'}",
			errs: []string{`Circular reference. "custom.w" refers to itself`}},
		{name: "parent_object_cycle", doc: "custom:\n  o:\n    k: ${self:custom.o}",
			errs: []string{`Circular reference`}},
		{name: "self_feeding_env_value_stops", doc: "x: ${env:A}", env: map[string]string{"A": "a${env:A}"},
			errs: []string{"Excessive property variables nest depth"}},
		{name: "object_address_is_rejected", doc: "custom: {o: {k: v}}\nx: ${env:${self:custom.o}}", errs: []string{`Non-string address argument in variable "env" source: [object Object]`}},
		{name: "number_address_converts_to_text", doc: "custom: {n: 1}\nx: ${env:${self:custom.n}}", env: map[string]string{"1": "one"}, want: map[string]string{"x": `"one"`}},
		{name: "missing_address", doc: "x: ${env:}", errs: []string{`Missing address argument in variable "env" source`}},
	})
}

func TestResolveLocalSources(t *testing.T) {
	runCases(t, []resolveCase{
		{name: "opt_reads_cli_options", doc: "x: ${opt:stage}\ny: ${opt:custom-flag}", cli: map[string]string{"stage": "qa", "custom-flag": "on"},
			want: map[string]string{"x": `"qa"`, "y": `"on"`}},
		{name: "opt_without_address_is_all_options", doc: "x: ${opt:}", cli: map[string]string{"stage": "qa", "region": "eu-west-1"},
			want: map[string]string{"x": `{"region":"eu-west-1","stage":"qa"}`}},
		{name: "env_reads_the_environment", doc: "x: ${env:HOME_DIR}", env: map[string]string{"HOME_DIR": "/h"}, want: map[string]string{"x": `"/h"`}},
		{name: "sls_stage_prefers_cli", doc: "provider: {stage: prod}\nx: ${sls:stage}", cli: map[string]string{"stage": "qa"}, want: map[string]string{"x": `"qa"`}},
		{name: "sls_stage_from_provider_stage_itself_resolved", doc: "provider: {stage: '${env:STAGE}'}\nx: ${sls:stage}", env: map[string]string{"STAGE": "uat"},
			want: map[string]string{"x": `"uat"`}},
		{name: "sls_stage_defaults_to_dev", doc: "x: ${sls:stage}", want: map[string]string{"x": `"dev"`}},
		{name: "sls_instance_id", doc: "x: ${sls:instanceId}", want: map[string]string{"x": `"1700000000000"`}},
		{name: "sls_unsupported_address", doc: "x: ${sls:nope}", errs: []string{`Unsupported "nope" address argument in variable "sls" source`}},
		{name: "aws_region_from_cli_provider_default", doc: "a: ${aws:region}", want: map[string]string{"a": `"us-east-1"`}},
		{name: "aws_region_from_provider", doc: "provider: {region: eu-west-3}\na: ${aws:region}", want: map[string]string{"a": `"eu-west-3"`}},
		{name: "param_cli_wins", doc: "params: {dev: {k: stage}, default: {k: def}}\nx: ${param:k}", par: map[string]string{"k": "cli"},
			want: map[string]string{"x": `"cli"`}},
		{name: "param_stage_then_default", doc: "params: {dev: {a: stageA}, default: {a: defA, b: defB}}\nx: ${param:a}\ny: ${param:b}",
			want: map[string]string{"x": `"stageA"`, "y": `"defB"`}},
		{name: "param_follows_provider_stage", doc: "provider: {stage: prod}\nparams: {prod: {a: prodA}, default: {a: defA}}\nx: ${param:a}",
			want: map[string]string{"x": `"prodA"`}},
		{name: "param_missing_has_v3_message", doc: "x: ${param:nope}",
			errs: []string{`The param "nope" cannot be resolved from CLI options or stage params`}},
		{name: "str_to_bool", doc: "a: ${strToBool(true)}\nb: ${strToBool(1)}\nc: ${strToBool(${env:B})}", env: map[string]string{"B": " FALSE "},
			want: map[string]string{"a": `true`, "b": `true`, "c": `false`}},
		{name: "str_to_bool_of_literal_0_reads_as_missing_as_in_v3", doc: "a: ${strToBool(0)}", errs: []string{`Missing "strToBool" input`}},
		{name: "str_to_bool_rejects_other_text", doc: "a: ${strToBool(yes)}",
			errs: []string{`Invalid "strToBool" input: Expected either "true", "false", "0", or "1". Received: yes`}},
		{name: "file_yaml_whole_and_sub_key", doc: "a: ${file(./conf.yml)}\nb: ${file(./conf.yml):db.host}\nc: ${file(conf.yml):list.1}",
			files: map[string]string{"conf.yml": "db: {host: h, port: 5432}\nlist: [x, y]\nref: !Ref Foo\n"},
			want:  map[string]string{"a": `{"db":{"host":"h","port":5432},"list":["x","y"],"ref":{"Ref":"Foo"}}`, "b": `"h"`, "c": `"y"`}},
		{name: "file_json", doc: "a: ${file(./c.json):k}", files: map[string]string{"c.json": `{"k": [1, "two"]}`}, want: map[string]string{"a": `[1,"two"]`}},
		{name: "file_text", doc: "a: ${file(./motd.txt)}", files: map[string]string{"motd.txt": "hello\n"}, want: map[string]string{"a": `"hello\n"`}},
		{name: "file_path_from_variable", doc: "a: ${file(./config.${opt:stage}.yml):k}", cli: map[string]string{"stage": "prod"},
			files: map[string]string{"config.prod.yml": "k: prodk\n"}, want: map[string]string{"a": `"prodk"`}},
		{name: "file_content_variables_resolve_against_the_service", doc: "custom: {t: tee}\na: ${file(./c.yml)}",
			files: map[string]string{"c.yml": "k: ${self:custom.t}\nm: ${opt:stage, 'dev'}\n"}, want: map[string]string{"a": `{"k":"tee","m":"dev"}`}},
		{name: "file_missing_is_value_not_found", doc: "a: ${file(./nope.yml)}", errs: []string{`Value not found at "file" source`}},
		{name: "file_missing_falls_back", doc: "a: ${file(./nope.yml), 'd'}", want: map[string]string{"a": `"d"`}},
		{name: "file_unparsable", doc: "a: ${file(./bad.yml)}", files: map[string]string{"bad.yml": "a: [\n"}, errs: []string{`Cannot parse "bad.yml"`}},
		{name: "file_error_inside_points_at_that_file", doc: "a: ${file(./c.yml)}", files: map[string]string{"c.yml": "k: ${env:MISSING}\n"},
			errs: []string{`c.yml:1:4: a.k: Cannot resolve variable ${env:MISSING}`}},
		{name: "file_missing_path", doc: "a: ${file():x}", errs: []string{`Missing path argument in variable "file" source`}},
	})
}

func testAWS() *fakeAWS {
	return &fakeAWS{
		account: "123456789012",
		stacks: map[string]map[string]string{
			"us-east-1/net":  {"VpcId": "vpc-1", "Subnets": "a,b"},
			"eu-west-1/net":  {"VpcId": "vpc-eu"},
			"us-east-1/data": {"Table": "tbl"},
		},
		params: map[string]Parameter{
			"us-east-1//app/name":   {Type: "String", Value: "app"},
			"us-east-1//app/list":   {Type: "StringList", Value: "a,b,c"},
			"us-east-1//app/secret": {Type: "SecureString", Value: "s3cr3t"},
			"us-east-1//app/json":   {Type: "SecureString", Value: `{"user":"u","pass":"p"}`},
			"eu-west-1//app/name":   {Type: "String", Value: "app-eu"},
			"us-east-1//app/ref":    {Type: "String", Value: "${self:custom.fromRef}"},
		},
		objects: map[string]string{"cfg-bucket/dev/settings.txt": "from-s3"},
	}
}

func TestResolveRemoteSources(t *testing.T) {
	runCases(t, []resolveCase{
		{name: "aws_account_id", doc: "a: ${aws:accountId}", aws: testAWS(), want: map[string]string{"a": `"123456789012"`}},
		{name: "cf_output", doc: "a: ${cf:net.VpcId}\nb: vpc=${cf:net.VpcId}", aws: testAWS(), want: map[string]string{"a": `"vpc-1"`, "b": `"vpc=vpc-1"`}},
		{name: "cf_output_in_region", doc: "a: ${cf(eu-west-1):net.VpcId}", aws: testAWS(), want: map[string]string{"a": `"vpc-eu"`}},
		{name: "cf_missing_stack_falls_back", doc: "a: ${cf:nope.X, 'd'}", aws: testAWS(), want: map[string]string{"a": `"d"`}},
		{name: "cf_missing_output", doc: "a: ${cf:net.Nope}", aws: testAWS(), errs: []string{`Value not found at "cf" source`}},
		{name: "cf_bad_address", doc: "a: ${cf:justastack}", aws: testAWS(),
			errs: []string{`Unsupported "justastack" address argument in variable "cf" source. Expected "<stack-name>.<output-id>" format`}},
		{name: "ssm_string", doc: "a: ${ssm:/app/name}", aws: testAWS(), want: map[string]string{"a": `"app"`}},
		{name: "ssm_string_list_is_a_list", doc: "a: ${ssm:/app/list}\nb: ${ssm(raw):/app/list}", aws: testAWS(),
			want: map[string]string{"a": `["a","b","c"]`, "b": `"a,b,c"`}},
		{name: "ssm_secure_string", doc: "a: ${ssm:/app/secret}", aws: testAWS(), want: map[string]string{"a": `"s3cr3t"`}},
		{name: "ssm_secure_json_is_parsed_unless_raw", doc: "a: ${ssm:/app/json}\nb: ${ssm(raw):/app/json}", aws: testAWS(),
			want: map[string]string{"a": `{"user":"u","pass":"p"}`, "b": `"{\"user\":\"u\",\"pass\":\"p\"}"`}},
		{name: "ssm_no_decrypt", doc: "a: ${ssm(noDecrypt):/app/secret}", aws: testAWS(), want: map[string]string{"a": `"ENCRYPTED"`}},
		{name: "ssm_region_param", doc: "a: ${ssm(eu-west-1):/app/name}\nb: ${ssm(eu-west-1, raw):/app/name}", aws: testAWS(),
			want: map[string]string{"a": `"app-eu"`, "b": `"app-eu"`}},
		{name: "ssm_region_follows_provider_region", doc: "provider: {region: eu-west-1}\na: ${ssm:/app/name}", aws: testAWS(),
			want: map[string]string{"a": `"app-eu"`}},
		{name: "ssm_missing_falls_back", doc: "a: ${ssm:/nope, 'd'}", aws: testAWS(), want: map[string]string{"a": `"d"`}},
		{name: "ssm_missing_is_value_not_found", doc: "a: ${ssm:/nope}", aws: testAWS(), errs: []string{`a: Cannot resolve variable ${ssm:/nope}: Value not found at "ssm" source`}},
		{name: "ssm_value_holding_a_variable_is_resolved", doc: "custom: {fromRef: r}\na: ${ssm:/app/ref}", aws: testAWS(), want: map[string]string{"a": `"r"`}},
		{name: "ssm_address_from_another_remote_value", doc: "a: ${ssm:/app/${cf:data.Table}, 'none'}", aws: testAWS(), want: map[string]string{"a": `"none"`}},
		{name: "s3_object", doc: "a: ${s3:cfg-bucket/dev/settings.txt}", aws: testAWS(), want: map[string]string{"a": `"from-s3"`}},
		{name: "s3_missing_falls_back", doc: "a: ${s3:cfg-bucket/nope, 'd'}", aws: testAWS(), want: map[string]string{"a": `"d"`}},
		{name: "s3_bad_address", doc: "a: ${s3:nobucketkey}", aws: testAWS(), errs: []string{`Expected "<bucket-name>/<key>" format`}},
		{name: "self_reference_to_remote_value", doc: "custom: {n: '${ssm:/app/name}'}\na: x-${self:custom.n}", aws: testAWS(),
			want: map[string]string{"a": `"x-app"`}},
	})
}

func TestRemoteLookupsRunInParallelAndAreCached(t *testing.T) {
	fake := testAWS()
	fake.barrier = 3
	doc := "a: ${ssm:/app/name}\nb: ${cf:net.VpcId}\nc: ${s3:cfg-bucket/dev/settings.txt}\nd: ${ssm:/app/name}-${cf:net.VpcId}"
	got, ds := resolveYAML(t, doc, Options{AWS: fake})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if g := jsonOf(t, got); g != `{"a":"app","b":"vpc-1","c":"from-s3","d":"app-vpc-1"}` {
		t.Errorf("resolved %s", g)
	}
	if fake.maxSeen != 3 {
		t.Errorf("at most %d lookups ran at once, want all 3 of the round", fake.maxSeen)
	}
	if fake.calls != 3 {
		t.Errorf("%d AWS calls, want 3 (repeated lookups come from the cache)", fake.calls)
	}
}

func TestSecureStringValuesAreSensitive(t *testing.T) {
	doc := "a: ${ssm:/app/secret}\nb: user:${ssm:/app/secret}@host\nc: ${ssm:/app/json}\nd: ${ssm:/app/name}\ne: ${self:b}"
	got, ds := resolveYAML(t, doc, Options{AWS: testAWS()})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	for path, want := range map[string]bool{"a": true, "b": true, "c": true, "d": false, "e": true} {
		if n := got.Get(path); isSensitive(n) != want {
			t.Errorf("%s sensitive = %v, want %v", path, isSensitive(n), want)
		}
	}
	if !got.Lookup("c", "user").Sensitive {
		t.Error("fields of a parsed SecureString must be sensitive too")
	}
}

func TestResolvedValueKeepsPositionOfItsHolder(t *testing.T) {
	doc := "custom:\n  o: {k: v}\n  n: 5\nx:\n  y: ${self:custom.o}\n  z: ${self:custom.n}\n"
	got, ds := resolveYAML(t, doc, Options{})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	for _, c := range []struct {
		path      []string
		line, col int
	}{{[]string{"x", "y"}, 5, 6}, {[]string{"x", "z"}, 6, 6}, {[]string{"x", "y", "k"}, 2, 10}} {
		n := got.Lookup(c.path...)
		if n.Pos.Line != c.line || n.Pos.Col != c.col || n.Pos.File != "serverless.yml" {
			t.Errorf("%v at %v, want line %d col %d", c.path, n.Pos, c.line, c.col)
		}
	}
}

func TestResolveDoesNotModifyItsInput(t *testing.T) {
	root, _ := config.Parse("serverless.yml", []byte("a: ${opt:x}\n"), nil)
	before := jsonOf(t, root)
	got, ds := Resolve(context.Background(), root, Options{CLIOptions: map[string]string{"x": "1"}})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if jsonOf(t, root) != before || jsonOf(t, got) != `{"a":"1"}` {
		t.Errorf("input now %s, output %s", jsonOf(t, root), jsonOf(t, got))
	}
}

func TestExtraSourcesAddPluginSources(t *testing.T) {
	construct := func(ctx context.Context, params []*config.Node, address string) (*config.Node, error) {
		if address == "queue.url" {
			return config.NewString("https://sqs/queue", diag.Pos{}), nil
		}
		return nil, nil
	}
	got, ds := resolveYAML(t, "a: ${construct:queue.url}\nb: ${construct:other, 'd'}", Options{ExtraSources: map[string]ExternalSource{"construct": construct}})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if g := jsonOf(t, got); g != `{"a":"https://sqs/queue","b":"d"}` {
		t.Errorf("resolved %s", g)
	}
}

func TestEarlyPropertiesCannotUseLateSources(t *testing.T) {
	runCases(t, []resolveCase{
		{name: "stage_through_ssm_is_not_accessible_as_in_v3", doc: "provider:\n  stage: ${self:custom.s}\ncustom:\n  s: ${ssm:/app/name}\n", aws: testAWS(),
			errs: []string{`serverless.yml:2:10: provider.stage: "provider.stage" property is not accessible (configured behind variables which cannot be resolved at this stage)`}},
		{name: "service_from_param_is_not_accessible", doc: "service: ${param:name}\nparams: {default: {name: svc}}",
			errs: []string{`"service" property is not accessible`}},
		{name: "plugins_from_instance_id_is_not_accessible", doc: "plugins: ['${sls:instanceId}']", errs: []string{`"plugins" property is not accessible`}},
		{name: "region_may_use_param", doc: "provider: {region: '${param:r}'}\nparams: {default: {r: eu-west-1}}", want: map[string]string{"provider.region": `"eu-west-1"`}},
		{name: "region_may_not_use_ssm", doc: "provider: {region: '${ssm:/app/name}'}", aws: testAWS(), errs: []string{`"provider.region" property is not accessible`}},
		{name: "unused_fallback_does_not_count", doc: "provider: {stage: '${opt:stage, ssm:/app/name}'}", cli: map[string]string{"stage": "qa"},
			want: map[string]string{"provider.stage": `"qa"`}},
		{name: "other_properties_may_use_every_source", doc: "custom: {s: '${ssm:/app/name}', i: '${sls:instanceId}'}", aws: testAWS(),
			want: map[string]string{"custom.s": `"app"`, "custom.i": `"1700000000000"`}},
	})
}

func TestLongDependencyChainsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("custom:\n")
	for i := 0; i < 1500; i++ {
		fmt.Fprintf(&b, "  k%d: ${self:custom.k%d}\n", i, i+1)
	}
	b.WriteString("  k1500: end\n")
	_, ds := resolveYAML(t, b.String(), Options{})
	if !ds.HasErrors() || !strings.Contains(ds.Err().Error(), "Excessive property dependency depth") {
		t.Fatalf("want a depth error, got %v", ds.Err())
	}
	// A chain within the bound resolves.
	got, ds := resolveYAML(t, "custom:\n  a: ${self:custom.b}\n  b: ${self:custom.c}\n  c: ${self:custom.d}\n  d: end\n", Options{})
	if ds.HasErrors() || jsonOf(t, got.Lookup("custom", "a")) != `"end"` {
		t.Fatalf("chain: %v %s", ds.Err(), jsonOf(t, got))
	}
}

func TestJavaScriptFiles(t *testing.T) {
	files := map[string]string{
		"fn.js":      "module.exports = async ({ options }) => ({ stage: options.stage, nested: { n: 1 } });\n",
		"props.js":   "module.exports.name = 'static';\nmodule.exports.lazy = () => Promise.resolve('lazy-' + 2);\nmodule.exports.list = [1, 'two'];\n",
		"promise.js": "module.exports = Promise.resolve({ k: 'v' });\n",
		"throws.js":  "module.exports = () => { throw new Error('boom'); };\n",
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH")
	}
	runCases(t, []resolveCase{
		{name: "exported_function_gets_options", doc: "a: ${file(./fn.js)}\nb: ${file(./fn.js):nested.n}", files: files, cli: map[string]string{"stage": "qa"},
			want: map[string]string{"a": `{"stage":"qa","nested":{"n":1}}`, "b": `1`}},
		{name: "exported_properties_and_functions", doc: "a: ${file(./props.js):name}\nb: ${file(./props.js):lazy}\nc: ${file(./props.js):list}",
			files: files, want: map[string]string{"a": `"static"`, "b": `"lazy-2"`, "c": `[1,"two"]`}},
		{name: "exported_promise_is_awaited", doc: "a: ${file(./promise.js):k}", files: files, want: map[string]string{"a": `"v"`}},
		{name: "missing_property_falls_back", doc: "a: ${file(./props.js):nope, 'd'}", files: files, want: map[string]string{"a": `"d"`}},
		{name: "missing_js_file_is_value_not_found", doc: "a: ${file(./nope.js)}", files: files, errs: []string{`Value not found at "file" source`}},
		{name: "throwing_function_reports_the_error", doc: "a: ${file(./throws.js)}", files: files,
			errs: []string{`Cannot resolve "throws.js": Returned JS function errored with: Error: boom`}},
	})
}

func TestJavaScriptFilesWithoutNode(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "fn.js"), []byte("module.exports = () => 1;\n"), 0o644)
	_, ds := resolveYAML(t, "a: ${file(./fn.js)}\n", Options{Dir: dir, NodePath: filepath.Join(dir, "no-such-node")})
	if !ds.HasErrors() || !strings.Contains(ds.Err().Error(), "JavaScript variable files need Node.js") {
		t.Fatalf("want a clear error, got %v", ds.Err())
	}
}

func TestMissingValuesExplainThemselves(t *testing.T) {
	_, ds := resolveYAML(t, "custom: {a: 1, b: 2}\nx: ${env:TABLE}\ny: ${self:custom.c}\nz: ${opt:flag}\nw: ${self:nope.deep}\n", Options{})
	want := []string{
		"The environment variable TABLE is not set. Set it, or give a fallback: ${env:TABLE, 'value'}.",
		`custom has no "c" (it has: a, b).`,
		"No --flag option was given.",
		`The service file has no top-level "nope".`,
	}
	if len(ds) != len(want) {
		t.Fatalf("got %v", ds.Err())
	}
	for i, w := range want {
		if !strings.Contains(ds[i].Detail, w) {
			t.Errorf("detail %d = %q, want %q", i, ds[i].Detail, w)
		}
	}
}
