package variables

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// v3Case is one string and what serverless v3's parser made of it, as
// recorded by testdata/gen-parse-v3.js from the installed serverless@3.
type v3Case struct {
	Input  string          `json:"input"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

func loadV3Cases(t testing.TB) []v3Case {
	data, err := os.ReadFile("testdata/parse-v3.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []v3Case
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// v3Shape renders our parse result in the shape of v3's parser output, so
// the two can be compared field by field.
func v3Shape(vars []*varRef) any {
	if vars == nil {
		return nil
	}
	out := make([]any, len(vars))
	for i, v := range vars {
		m := map[string]any{}
		if !v.whole {
			m["start"], m["end"] = v.start, v.end
		}
		if v.escaped {
			m["value"] = v.escapeText
		} else {
			var srcs []any
			for _, s := range v.sources {
				if s.typ == "" {
					srcs = append(srcs, map[string]any{"value": s.literal})
					continue
				}
				sm := map[string]any{"type": s.typ}
				if s.hasParams {
					params := []any{}
					for _, p := range s.params {
						if p == nil {
							params = append(params, map[string]any{"value": nil})
						} else {
							params = append(params, partShape(p))
						}
					}
					sm["params"] = params
				}
				if s.address != nil {
					sm["address"] = partShape(s.address)
				}
				srcs = append(srcs, sm)
			}
			m["sources"] = srcs
		}
		out[i] = m
	}
	return out
}

func partShape(p *part) any {
	m := map[string]any{"value": p.value}
	if p.vars != nil {
		m["variables"] = v3Shape(p.vars)
	}
	return m
}

func normalizeJSON(t *testing.T, v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestParseMatchesV3 runs our parser over every recorded string (hand-made
// edge cases and every "${" string of the public corpus) and requires the
// same variables, sources, params, addresses and offsets as serverless v3,
// or an error where v3 throws one.
func TestParseMatchesV3(t *testing.T) {
	cases := loadV3Cases(t)
	if len(cases) < 200 {
		t.Fatalf("only %d recorded cases", len(cases))
	}
	for _, c := range cases {
		got, err := parseVariables(c.Input)
		if c.Error != "" {
			if err == nil {
				t.Errorf("%q: v3 fails with %q, we parse %s", c.Input, c.Error, mustJSON(v3Shape(got)))
				continue
			}
			// The kind of error ("Invalid variable type", "Missing variable
			// closing bracket", …) must agree; offsets are checked too.
			if wantKind, gotKind := errorKind(c.Error), errorKind(err.Error()); wantKind != gotKind {
				t.Errorf("%q: error %q, v3 says %q", c.Input, err, c.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: unexpected error %v", c.Input, err)
			continue
		}
		var want any
		if err := json.Unmarshal(c.Result, &want); err != nil {
			t.Fatal(err)
		}
		if gotN := normalizeJSON(t, v3Shape(got)); !reflect.DeepEqual(gotN, want) {
			t.Errorf("%q:\n got  %s\n want %s", c.Input, mustJSON(gotN), c.Result)
		}
	}
}

// errorKind is the message up to the quoted input, where JS and Go quoting
// differ: "Invalid variable type at index 2".
func errorKind(msg string) string {
	if i := strings.Index(msg, " in "); i > 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, ": "); i > 0 {
		msg = msg[:i]
	}
	return msg
}

func mustJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

// TestParseMatchesV3OnGeneratedStrings compares our parser with v3's own on
// thousands of generated strings built from variable syntax fragments, by
// running v3's parser in one node process. It skips without node or the
// installed serverless.
func TestParseMatchesV3OnGeneratedStrings(t *testing.T) {
	if testing.Short() {
		t.Skip("needs node")
	}
	node, err := exec.LookPath("node")
	sls, _ := filepath.Abs("../../tools/node_modules/serverless")
	if _, serr := os.Stat(sls); err != nil || serr != nil {
		t.Skip("node or tools/node_modules/serverless not available")
	}
	fragments := []string{"${", "}", "$", "\\", ":", "(", ")", ",", " ", "'", `"`, ".", "-", "env", "self", "opt",
		"file", "a", "B", "1", "0x1", "AWS::Region", "${env:A}", "${self:x.y}", "true", "null", "{", "$${", "\\${", "::", "x y",
		"${env:", "${file(", "${self:", ", ", "'q'", `"d\"q"`, "bogus", "${ssm(raw):", "1.5e3", "-"}
	rng := rand.New(rand.NewPCG(7, 11))
	inputs := make([]string, 20000)
	for i := range inputs {
		var b strings.Builder
		for n := 1 + rng.IntN(9); n > 0; n-- {
			b.WriteString(fragments[rng.IntN(len(fragments))])
		}
		inputs[i] = b.String()
	}
	in, _ := json.Marshal(inputs)
	cmd := exec.Command(node, "testdata/parse-v3-stdin.js", sls)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var want []struct {
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	mismatches, withVars, withErrors := 0, 0, 0
	for i, s := range inputs {
		got, perr := parseVariables(s)
		w := want[i]
		if w.Error != "" {
			withErrors++
		} else if string(w.Result) != "null" {
			withVars++
		}
		switch {
		case w.Error != "" && perr == nil:
			t.Errorf("%q: v3 fails with %q, we parse %s", s, w.Error, mustJSON(v3Shape(got)))
		case w.Error == "" && perr != nil:
			t.Errorf("%q: v3 parses %s, we fail with %v", s, w.Result, perr)
		case w.Error != "":
			if errorKind(w.Error) == errorKind(perr.Error()) {
				continue
			}
			t.Errorf("%q: error %q, v3 says %q", s, perr, w.Error)
		default:
			var wantV any
			json.Unmarshal(w.Result, &wantV)
			if gotV := normalizeJSON(t, v3Shape(got)); !reflect.DeepEqual(gotV, wantV) {
				t.Errorf("%q:\n got  %s\n want %s", s, mustJSON(gotV), w.Result)
			} else {
				continue
			}
		}
		if mismatches++; mismatches > 20 {
			t.Fatal("too many mismatches")
		}
	}
	t.Logf("%d generated strings (%d with variables, %d syntax errors): %d differ from v3", len(inputs), withVars, withErrors, mismatches)
}
