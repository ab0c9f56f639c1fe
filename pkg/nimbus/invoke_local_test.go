package nimbus

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEventFromData(t *testing.T) {
	for _, tc := range []struct {
		data string
		raw  bool
		want string
	}{
		{`{"a":1}`, false, `{"a":1}`},
		{` [1, 2] `, false, `[1, 2]`},
		{`42`, false, `42`},
		{`hello world`, false, `"hello world"`},
		{`{"a":1}`, true, `"{\"a\":1}"`},
		{`{broken`, false, `"{broken"`},
	} {
		if got := string(EventFromData(tc.data, tc.raw)); got != tc.want {
			t.Errorf("EventFromData(%q, %v) = %s, want %s", tc.data, tc.raw, got, tc.want)
		}
	}
}

func TestEventFromFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "e.json"), []byte("  {\"b\": [1, 2]}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "e.yml"), []byte("b:\n  - 1\n  - two\nc: {d: true}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{nope"), 0o644)
	if got, err := EventFromFile(dir, "e.json"); err != nil || string(got) != `{"b": [1, 2]}` {
		t.Errorf("json: %s %v", got, err)
	}
	if got, err := EventFromFile(dir, filepath.Join(dir, "e.yml")); err != nil || string(got) != `{"b":[1,"two"],"c":{"d":true}}` {
		t.Errorf("yaml: %s %v", got, err)
	}
	if _, err := EventFromFile(dir, "bad.json"); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("bad json: %v", err)
	}
	if _, err := EventFromFile(dir, "missing.json"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing: %v", err)
	}
}

func TestPrettyJSON(t *testing.T) {
	got := string(PrettyJSON([]byte(`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"z\":1,\"a\":2}"}`)))
	want := "{\n    \"statusCode\": 200,\n    \"headers\": {\n        \"Content-Type\": \"application/json\"\n    },\n    \"body\": {\n        \"z\": 1,\n        \"a\": 2\n    }\n}"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Bodies under other content types stay strings; non-JSON passes through.
	if got := string(PrettyJSON([]byte(`{"headers":{"Content-Type":"text/plain"},"body":"{}"}`))); !strings.Contains(got, `"body": "{}"`) {
		t.Errorf("text body expanded: %s", got)
	}
	if got := string(PrettyJSON([]byte("not json"))); got != "not json" {
		t.Errorf("non-JSON: %q", got)
	}
}

func TestInvokeLocal(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "serverless.yml"), []byte(`service: sdk
provider:
  name: aws
  runtime: nodejs20.x
functions:
  hi:
    handler: h.hi
    environment:
      FROM_YML: yml
      UNKNOWN: {"Fn::GetAtt": [Thing, Arn]}
  slow:
    handler: h.slow
    timeout: 1
`), 0o644)
	os.WriteFile(filepath.Join(dir, "h.js"), []byte(`
exports.hi = async (event, context) => ({ event, local: process.env.IS_LOCAL, env: process.env.OVERRIDE, yml: process.env.FROM_YML, cc: context.clientContext });
exports.slow = () => new Promise((r) => setTimeout(r, 30000));
`), 0o644)
	p, err := Load(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	res, err := p.InvokeLocal(context.Background(), InvokeLocalOptions{
		Function: "hi", Event: []byte(`{"x":1}`), ClientContext: `{"custom":{"k":"v"}}`,
		Env: map[string]string{"OVERRIDE": "cli"}, Log: &logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event":{"x":1},"local":"true","env":"cli","yml":"yml","cc":{"custom":{"k":"v"}}}`
	if res.Failed() || string(res.Payload) != want {
		t.Errorf("payload %s, want %s", res.Payload, want)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Path != "functions.hi.environment.UNKNOWN" {
		t.Errorf("warnings %+v", res.Warnings)
	}
	if !strings.Contains(logs.String(), "START RequestId: "+res.RequestID) {
		t.Errorf("logs: %s", logs.String())
	}

	res, err = p.InvokeLocal(context.Background(), InvokeLocalOptions{Function: "slow"})
	if err != nil || !res.TimedOut || !res.Failed() || !strings.Contains(string(res.Payload), "Task timed out after 1.00 seconds") {
		t.Errorf("timeout: %+v %v", res, err)
	}

	if _, err := p.InvokeLocal(context.Background(), InvokeLocalOptions{Function: "nope"}); err == nil ||
		!strings.Contains(err.Error(), `Function "nope" doesn't exist in this Service`) {
		t.Errorf("unknown: %v", err)
	}
}

func FuzzPrettyJSON(f *testing.F) {
	f.Add([]byte(`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"a\":1}"}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"body":"x"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		out := PrettyJSON(payload)
		if json.Valid(payload) && !json.Valid(out) {
			t.Fatalf("valid input %q became invalid output %q", payload, out)
		}
	})
}
