package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/diag"
)

func mustParse(t *testing.T, src string) *Node {
	t.Helper()
	n, ds := Parse("serverless.yml", []byte(src), nil)
	if ds.HasErrors() {
		t.Fatalf("parse %q: %v", src, ds.Err())
	}
	return n
}

func toJSON(t *testing.T, n *Node) string {
	t.Helper()
	b, err := n.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestShortTags(t *testing.T) {
	tests := []struct{ in, want string }{
		{"v: !Ref Bucket", `{"v":{"Ref":"Bucket"}}`},
		{"v: !Condition IsProd", `{"v":{"Condition":"IsProd"}}`},
		{"v: !Base64 hello", `{"v":{"Fn::Base64":"hello"}}`},
		{"v: !GetAZs us-east-1", `{"v":{"Fn::GetAZs":"us-east-1"}}`},
		{"v: !ImportValue shared-vpc", `{"v":{"Fn::ImportValue":"shared-vpc"}}`},
		{"v: !Sub 'arn:${AWS::Partition}:s3:::b'", `{"v":{"Fn::Sub":"arn:${AWS::Partition}:s3:::b"}}`},
		{"v: !GetAtt Bucket.Arn", `{"v":{"Fn::GetAtt":["Bucket","Arn"]}}`},
		{"v: !GetAtt a.b.c", `{"v":{"Fn::GetAtt":["a","b.c"]}}`},
		{"v: !GetAtt [Bucket, Arn]", `{"v":{"Fn::GetAtt":["Bucket","Arn"]}}`},
		{"v: !Join ['', [a, !Ref B]]", `{"v":{"Fn::Join":["",["a",{"Ref":"B"}]]}}`},
		{"v: !Split [',', !ImportValue list]", `{"v":{"Fn::Split":[",",{"Fn::ImportValue":"list"}]}}`},
		{"v: !Select [0, !GetAZs '']", `{"v":{"Fn::Select":[0,{"Fn::GetAZs":""}]}}`},
		{"v: !FindInMap [M, !Ref AWS::Region, k]", `{"v":{"Fn::FindInMap":["M",{"Ref":"AWS::Region"},"k"]}}`},
		{"v: !Cidr [10.0.0.0/16, 6, 5]", `{"v":{"Fn::Cidr":["10.0.0.0/16",6,5]}}`},
		{"v: !If [C, a, !Ref AWS::NoValue]", `{"v":{"Fn::If":["C","a",{"Ref":"AWS::NoValue"}]}}`},
		{"v: !Equals [!Ref Stage, prod]", `{"v":{"Fn::Equals":[{"Ref":"Stage"},"prod"]}}`},
		{"v: !Not [!Condition A]", `{"v":{"Fn::Not":[{"Condition":"A"}]}}`},
		{"v: !And [!Condition A, !Condition B]", `{"v":{"Fn::And":[{"Condition":"A"},{"Condition":"B"}]}}`},
		{"v: !Or [!Condition A, !Condition B]", `{"v":{"Fn::Or":[{"Condition":"A"},{"Condition":"B"}]}}`},
		{"v: !Sub\n  - '${A}-x'\n  - A: !Ref B", `{"v":{"Fn::Sub":["${A}-x",{"A":{"Ref":"B"}}]}}`},
		{"v: !Base64\n  Fn::Sub: x", `{"v":{"Fn::Base64":{"Fn::Sub":"x"}}}`},
		{"v: !Ref", `{"v":{"Ref":""}}`},
		{"v: !GetAtt Bucket", `{"v":{"Fn::GetAtt":["Bucket",""]}}`},
		{"v: !Ref 123", `{"v":{"Ref":"123"}}`},
	}
	for _, tc := range tests {
		if got := toJSON(t, mustParse(t, tc.in)); got != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestScalars(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a: 1\nb: 1.5\nc: true\nd: ~\ne: null\nf: ''\ng: 'true'\nh: 0x10\ni: 1e3\nj: 2.0", `{"a":1,"b":1.5,"c":true,"d":null,"e":null,"f":"","g":"true","h":16,"i":1000,"j":2}`},
		{"v: 2001-12-14", `{"v":"2001-12-14T00:00:00.000Z"}`},
		{"v: 012\nw: -012\nx: 0o12\ny: 1_000\nz: 0b11", `{"v":12,"w":-12,"x":10,"y":"1_000","z":3}`},
		{"v: '012'", `{"v":"012"}`},
		{"v: yes", `{"v":"yes"}`},
		{"v: nodejs18.x", `{"v":"nodejs18.x"}`},
		{"v: |\n  line1\n  line2\n", `{"v":"line1\nline2\n"}`},
		{"v: >-\n  folded\n  text\n", `{"v":"folded text"}`},
		{"v: !!str 123", `{"v":"123"}`},
	}
	for _, tc := range tests {
		if got := toJSON(t, mustParse(t, tc.in)); got != tc.want {
			t.Errorf("%q\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestMergeKeysAnchorsAliases(t *testing.T) {
	tests := []struct{ in, want string }{
		{"base: &b {x: 1, y: 2}\nv:\n  <<: *b\n  y: 3", `{"base":{"x":1,"y":2},"v":{"y":3,"x":1}}`},
		{"a: &a {x: 1}\nb: &b {x: 2, z: 2}\nv:\n  <<: [*a, *b]", `{"a":{"x":1},"b":{"x":2,"z":2},"v":{"x":1,"z":2}}`},
		{"list: &l [1, 2]\nv: *l", `{"list":[1,2],"v":[1,2]}`},
		{"s: &s hello\nv: [*s, *s]", `{"s":"hello","v":["hello","hello"]}`},
		{"r: &r !Ref Thing\nv: *r", `{"r":{"Ref":"Thing"},"v":{"Ref":"Thing"}}`},
	}
	for _, tc := range tests {
		if got := toJSON(t, mustParse(t, tc.in)); got != tc.want {
			t.Errorf("%q\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	// An alias is a copy: changing it must not change the anchored value.
	n := mustParse(t, "a: &a {x: 1}\nb: *a")
	n.Get("b").Set("x", NewInt(2, diag.Pos{}))
	if got := toJSON(t, n); got != `{"a":{"x":1},"b":{"x":2}}` {
		t.Errorf("alias shares storage with its anchor: %s", got)
	}
}

func TestJSONInput(t *testing.T) {
	src := "{\n  \"service\": \"svc\",\n  \"provider\": {\"name\": \"aws\", \"memorySize\": 512},\n  \"list\": [1, \"two\", null, true]\n}"
	n, ds := Parse("serverless.json", []byte(src), nil)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if got := toJSON(t, n); got != `{"service":"svc","provider":{"name":"aws","memorySize":512},"list":[1,"two",null,true]}` {
		t.Errorf("got %s", got)
	}
	p := n.Pair("provider")
	if p.KeyPos != (diag.Pos{File: "serverless.json", Line: 3, Col: 3}) {
		t.Errorf("provider key at %v", p.KeyPos)
	}
	if pos := n.Lookup("provider", "memorySize").Pos; pos.Line != 3 || pos.Col != 45 {
		t.Errorf("memorySize value at %v", pos)
	}
}

func TestJSONIsStrict(t *testing.T) {
	tests := []struct{ in, want string }{
		{"{\n  \"a\": 1,\n}", "serverless.json:3:1: invalid JSON: invalid character '}' looking for beginning of object key string"},
		{"service: x\n", "serverless.json:1:1: invalid JSON: invalid character 's' looking for beginning of value"},
		{"{\"a\": 1 // note\n}", "serverless.json:1:9: invalid JSON: invalid character '/' after object key:value pair"},
		{"{\"a\": [1, 2", "serverless.json:1:12: invalid JSON: unexpected end of JSON input"},
	}
	for _, tc := range tests {
		_, ds := Parse("serverless.json", []byte(tc.in), nil)
		if len(ds) != 1 || ds[0].Message() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.in, ds, tc.want)
		}
	}
	// JSON.parse keeps the last of repeated keys, at the first one's place.
	n, ds := Parse("serverless.json", []byte(`{"a": 1, "b": 2, "a": 3}`), nil)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if got := toJSON(t, n); got != `{"a":3,"b":2}` {
		t.Errorf("repeated key: %s", got)
	}
}

func TestPositions(t *testing.T) {
	src := "service: svc\nprovider:\n  name: aws\nfunctions:\n  hello:\n    handler: h.hello\n    events:\n      - http:\n          path: /x\n"
	n := mustParse(t, src)
	fn := n.Get("functions").Pair("hello")
	if fn.KeyPos != (diag.Pos{File: "serverless.yml", Line: 5, Col: 3}) {
		t.Errorf("hello key at %v", fn.KeyPos)
	}
	if pos := n.Lookup("functions", "hello", "handler").Pos; pos.Line != 6 || pos.Col != 14 {
		t.Errorf("handler value at %v", pos)
	}
	ev := n.Lookup("functions", "hello", "events", "0")
	if ev.Pos.Line != 8 || ev.Pos.Col != 9 {
		t.Errorf("event at %v", ev.Pos)
	}
	if pos := ev.Pair("http").KeyPos; pos.Line != 8 || pos.Col != 9 {
		t.Errorf("http key at %v", pos)
	}
	if pos := n.Lookup("functions", "hello", "events", "0", "http", "path").Pos; pos.Line != 9 || pos.Col != 17 {
		t.Errorf("path value at %v", pos)
	}
	q := mustParse(t, "a: plain\nb: 'single'\nc: \"double\"\nd: '1'\ne: 1\n")
	for key, want := range map[string]bool{"a": false, "b": true, "c": true, "d": true, "e": false} {
		if got := q.Get(key).Quoted; got != want {
			t.Errorf("%s: Quoted = %v, want %v", key, got, want)
		}
	}
	// Keys keep source order.
	if got := strings.Join(n.Keys(), ","); got != "service,provider,functions" {
		t.Errorf("keys %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // Message() of each diagnostic
	}{
		{"bad indentation", "service: svc\n  provider: aws\n", []string{"serverless.yml:2:3: invalid YAML: mapping values are not allowed in this context"}},
		{"unclosed quote", "service: 'svc\nprovider: aws\n", []string{"serverless.yml:3:1: invalid YAML: found unexpected end of stream"}},
		{"tab indentation", "service: svc\nprovider:\n\tname: aws\n", []string{"serverless.yml:3:1: invalid YAML: found character that cannot start any token"}},
		{"unknown tag", "service: svc\nv: !Foo bar\n", []string{"serverless.yml:2:4: v: unknown tag !Foo"}},
		{"duplicate key", "service: a\nprovider:\n  name: aws\nservice: b\n", []string{`serverless.yml:4:1: service: duplicated mapping key "service"`}},
		{"nested duplicate key", "provider:\n  name: aws\n  name: gcp\n", []string{`serverless.yml:3:3: provider.name: duplicated mapping key "name"`}},
		{"merge of a scalar", "a: 1\nv:\n  <<: *x\n", []string{"serverless.yml:3:7: invalid YAML: unknown anchor 'x' referenced"}},
		{"merge of a non-map", "s: &s hello\nv:\n  <<: *s\n", []string{"serverless.yml:3:7: v: a merge key (<<) needs a mapping or a list of mappings, not a string"}},
		{"unknown tag in a list", "v:\n  - a\n  - !Sub x\n  - !Reff y\n", []string{"serverless.yml:4:5: v[2]: unknown tag !Reff"}},
		{"two documents", "a: 1\n---\nb: 2\n", []string{"serverless.yml:2:1: expected a single document in the file, but found more"}},
		{"map as key", "? {a: 1}\n: v\n", []string{"serverless.yml:1:3: a mapping key must be a plain value, not a mapping"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := Parse("serverless.yml", []byte(tc.in), nil)
			var got []string
			for _, d := range ds {
				got = append(got, d.Message())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if !ds.HasErrors() {
				t.Errorf("expected errors")
			}
		})
	}
}

func TestUnknownTagSuggestion(t *testing.T) {
	_, ds := Parse("serverless.yml", []byte("v: !GetAttr A.B\nw: !Whatever x\n"), nil)
	if len(ds) != 2 || ds[0].Detail != "did you mean !GetAtt?" || ds[0].Width != len("!GetAttr") {
		t.Fatalf("got %+v", ds)
	}
	if !strings.HasPrefix(ds[1].Detail, "Known tags: !And, !Base64") {
		t.Errorf("no list of known tags: %q", ds[1].Detail)
	}
}

func TestTopLevelShapes(t *testing.T) {
	for in, kind := range map[string]Kind{"": Null, "# only a comment\n": Null, "---\na: 1\n": Map, "a: 1\n...\n": Map, "- a\n- b\n": Seq, "just text": String, "{}": Map} {
		n, ds := Parse("serverless.yml", []byte(in), nil)
		if ds.HasErrors() {
			t.Errorf("%q: %v", in, ds.Err())
			continue
		}
		if n.Kind != kind {
			t.Errorf("%q: kind %v, want %v", in, n.Kind, kind)
		}
	}
}

func TestFindServiceFile(t *testing.T) {
	dir := t.TempDir()
	if _, ds := FindServiceFile(dir, ""); !ds.HasErrors() || !strings.Contains(ds[0].Summary, "no service file") {
		t.Errorf("empty dir: %v", ds)
	}
	os.WriteFile(filepath.Join(dir, "serverless.ts"), []byte("export {}"), 0o644)
	if _, ds := FindServiceFile(dir, ""); !ds.HasErrors() || !strings.Contains(ds[0].Summary, "serverless.ts") {
		t.Errorf("ts only: %v", ds)
	}
	os.WriteFile(filepath.Join(dir, "serverless.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(dir, "serverless.yaml"), []byte("a: 1"), 0o644)
	if p, ds := FindServiceFile(dir, ""); ds.HasErrors() || filepath.Base(p) != "serverless.yaml" {
		t.Errorf("yaml preferred over json: %s %v", p, ds)
	}
	if _, ds := FindServiceFile(dir, "missing.yml"); !ds.HasErrors() || !strings.Contains(ds[0].Summary, "missing.yml") {
		t.Errorf("missing --config: %v", ds)
	}
	if p, ds := FindServiceFile(dir, "serverless.json"); ds.HasErrors() || filepath.Base(p) != "serverless.json" {
		t.Errorf("explicit: %s %v", p, ds)
	}
}

func TestDeepNestingIsAnErrorNotACrash(t *testing.T) {
	src := strings.Repeat("[", 3000) + strings.Repeat("]", 3000)
	_, ds := Parse("serverless.yml", []byte("v: "+src), nil)
	if !ds.HasErrors() {
		t.Fatal("expected an error for 3000 levels of nesting")
	}
}

// numeric folds Int and Float: JSON, like JavaScript, has one number type.
func numeric(k Kind) Kind {
	if k == Int {
		return Float
	}
	return k
}

func TestAliasExpansionIsBounded(t *testing.T) {
	src := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		src += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = name
	}
	_, ds := Parse("serverless.yml", []byte(src), nil)
	if !ds.HasErrors() || !strings.Contains(ds[0].Summary, "too many values") {
		t.Fatalf("expected the alias bomb to be refused, got %v", ds)
	}
}

// FuzzParse checks that no input makes the loader panic, and that what it
// accepts survives a JSON round trip with the same shape.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../../shared/corpus/public/*/serverless.yml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{"", "a: !GetAtt x.y.z", "<<: *a", "a: &a [*a]", "{\"a\": [1, 2]}", "? [a]\n: b", "a: !Sub\n  - x\n  - {}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, ds := Parse("fuzz.yml", data, diag.NewSources())
		if ds.HasErrors() {
			for _, d := range ds {
				if d.Summary == "" {
					t.Fatalf("diagnostic without a summary: %+v", d)
				}
			}
			return
		}
		if n == nil {
			t.Fatal("nil tree without errors")
		}
		js, err := n.MarshalJSON()
		if err != nil {
			return // e.g. invalid UTF-8 in a key cannot be JSON
		}
		back, ds := Parse("fuzz.json", js, nil)
		if ds.HasErrors() {
			t.Fatalf("JSON output does not parse back: %s\n%v", js, ds.Err())
		}
		if numeric(back.Kind) != numeric(n.Kind) {
			t.Fatalf("round trip changed kind %v → %v", n.Kind, back.Kind)
		}
	})
}

// TestCorpusParsesCleanly guards against loader changes (duplicate keys,
// number forms, documents) rejecting real services serverless v3 reads.
func TestCorpusParsesCleanly(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/corpus/public/*/serverless.yml")
	if len(files) == 0 {
		t.Skip("corpus not present")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, ds := Parse(f, data, nil); len(ds) > 0 {
			t.Errorf("%s: %v", f, ds)
		}
	}
}
