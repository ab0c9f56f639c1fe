package variables

import (
	"encoding/json"
	"os"
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
