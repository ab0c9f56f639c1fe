package variables

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// addCorpusSeeds seeds a fuzz target with every recorded string: the
// hand-made edge cases and every "${" string of the public corpus.
func addCorpusSeeds(f *testing.F, add func(s string)) {
	for _, c := range loadV3Cases(f) {
		add(c.Input)
	}
}

// FuzzParseVariables checks that the parser never panics and that what it
// returns is consistent: offsets inside the string, in order, not
// overlapping, and each variable ending with its closing brace.
func FuzzParseVariables(f *testing.F) {
	addCorpusSeeds(f, func(s string) { f.Add(s) })
	f.Fuzz(func(t *testing.T, s string) {
		vars, err := parseVariables(s)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		checkVars(t, s, vars)
	})
}

func checkVars(t *testing.T, s string, vars []*varRef) {
	t.Helper()
	last := 0
	for _, v := range vars {
		start, end := v.start, v.end
		if v.whole {
			start, end = 0, len(s)
		}
		if start < last || end > len(s) || start > end {
			t.Fatalf("%q: variable at [%d,%d) after %d", s, start, end, last)
		}
		last = end
		if v.escaped {
			continue
		}
		if len(v.sources) == 0 {
			t.Fatalf("%q: variable without sources", s)
		}
		if s[end-1] != '}' || s[start] != '$' {
			t.Fatalf("%q: variable text %q", s, s[start:end])
		}
		for _, src := range v.sources {
			for _, p := range append(src.params, src.address) {
				if p == nil || p.vars == nil {
					continue
				}
				text, ok := p.value.(string)
				if !ok {
					t.Fatalf("%q: part with variables has value %#v", s, p.value)
				}
				checkVars(t, text, p.vars)
			}
		}
	}
}

// FuzzResolve resolves fuzzed strings placed in a small service next to
// references to them. It must never panic or hang, every error must carry
// a path, and a resolved tree must hold no variable v3 would still resolve
// unless an error says why.
func FuzzResolve(f *testing.F) {
	addCorpusSeeds(f, func(s string) { f.Add(s, "${self:custom.a}") })
	f.Add("${self:custom.b}", "${self:custom.a}")
	f.Add("${file(./conf.yml):k}", "x-${env:HOME, 'h'}")
	f.Add("${ssm:/a}", "${cf:s.o}")
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "conf.yml"), []byte("k: '${self:custom.b}'\nl: [1, 2]\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	fake := testAWS()
	f.Fuzz(func(t *testing.T, a, b string) {
		root := config.NewMap(pos(1))
		custom := config.NewMap(pos(2))
		custom.Set("a", config.NewString(a, pos(3)))
		custom.Set("b", config.NewString(b, pos(4)))
		custom.Set("list", config.NewSeq(pos(5), config.NewString(a, pos(6)), config.NewInt(7, pos(7))))
		root.Set("custom", custom)
		root.Set("x", config.NewString("${self:custom.a}", pos(8)))
		root.Set("y", config.NewString("pre-${self:custom.b}-post", pos(9)))
		got, ds := Resolve(context.Background(), root, Options{
			Dir: dir, ConfigFile: "serverless.yml", AWS: fake, NodePath: filepath.Join(dir, "no-node"),
			Env:        envMap(map[string]string{"HOME": "/home/u", "SELF": "${self:custom.a}"}),
			CLIOptions: map[string]string{"stage": "dev"},
		})
		for _, d := range ds {
			if d.Path == "" || !d.Pos.Known() {
				t.Fatalf("diagnostic without path or position: %s", d.Message())
			}
		}
		if ds.HasErrors() {
			return
		}
		config.Walk(got, nil, func(n *config.Node, _ config.Path) bool {
			if s, ok := n.Str(); ok && strings.Contains(s, "${") {
				if vars, err := parseVariables(s); err == nil && hasLiveVariable(vars) && !fromEscape(a, b) {
					t.Fatalf("resolved tree still holds variable %q", s)
				}
			}
			return true
		})
	})
}

func pos(line int) diag.Pos { return diag.Pos{File: "serverless.yml", Line: line, Col: 1} }

func hasLiveVariable(vars []*varRef) bool {
	for _, v := range vars {
		if !v.escaped {
			return true
		}
	}
	return false
}

// fromEscape says whether inputs contain an escape, whose result may look
// like a variable once resolved (and v3 leaves it so).
func fromEscape(a, b string) bool { return strings.Contains(a+b, `\`) }

// FuzzResolveDocument resolves whole fuzzed YAML documents, seeded with
// the public corpus services. Resolution must not panic or hang, must leave
// its input alone and must give the same result twice.
func FuzzResolveDocument(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join(corpusDir, "public", "*", "serverless.yml"))
	for i, name := range names {
		if i%4 != 0 { // a quarter of the corpus keeps the seed set quick to replay
			continue
		}
		if data, err := os.ReadFile(name); err == nil {
			f.Add(string(data))
		}
	}
	f.Add("custom:\n  a: ${self:custom.b}\n  b: [${self:custom.c}]\n  c: {d: '${opt:stage}'}\nx: ${self:custom}\n")
	f.Add("provider: {stage: '${env:S, \"dev\"}'}\nparams: {dev: {p: '${sls:stage}'}}\nx: ${param:p}\n")
	dir := f.TempDir()
	fake := testAWS()
	f.Fuzz(func(t *testing.T, doc string) {
		root, ds := config.Parse("serverless.yml", []byte(doc), nil)
		if ds.HasErrors() {
			return
		}
		before, _ := root.MarshalJSON()
		opts := Options{Dir: dir, ConfigFile: "serverless.yml", AWS: fake, NodePath: filepath.Join(dir, "no-node"),
			InstanceID: "1", CLIOptions: map[string]string{"stage": "dev", "region": "us-east-1"},
			Env: envMap(map[string]string{"S": "qa"})}
		first, ds1 := Resolve(context.Background(), root, opts)
		second, ds2 := Resolve(context.Background(), root, opts)
		if after, _ := root.MarshalJSON(); string(after) != string(before) {
			t.Fatal("Resolve modified its input")
		}
		a, _ := first.MarshalJSON()
		b, _ := second.MarshalJSON()
		if string(a) != string(b) || len(ds1) != len(ds2) {
			t.Fatalf("two runs differ:\n%s\n%s\n%v\n%v", a, b, ds1.Err(), ds2.Err())
		}
	})
}
