package cfn

import (
	"encoding/json"
	"testing"
)

// The expected results are what lodash 4's _.merge returns for the same
// inputs (node -e 'console.log(JSON.stringify(_.merge(dst, src)))'), which
// is how serverless v3 applies `resources` to the compiled template.
func TestMergeMatchesLodash(t *testing.T) {
	cases := []struct{ dst, src, want string }{
		{`{"a":{"b":1,"c":[1,2,3]},"d":"x"}`, `{"a":{"c":[9],"e":null},"d":{"f":1}}`,
			`{"a":{"b":1,"c":[9,2,3],"e":null},"d":{"f":1}}`},
		{`{"R":{"X":{"Type":"T","Properties":{"A":1,"B":[{"k":1},{"k":2}]}}}}`, `{"R":{"X":{"Properties":{"B":[{"j":2}],"A":null}}}}`,
			`{"R":{"X":{"Type":"T","Properties":{"A":null,"B":[{"k":1,"j":2},{"k":2}]}}}}`},
		{`{"a":[1,2]}`, `{"a":{"x":1}}`, `{"a":[1,2]}`},
		{`{"a":1}`, `{"a":[1]}`, `{"a":[1]}`},
	}
	for i, c := range cases {
		var dst, src, want any
		json.Unmarshal([]byte(c.dst), &dst)
		json.Unmarshal([]byte(c.src), &src)
		json.Unmarshal([]byte(c.want), &want)
		got := Merge(dst, src)
		if !Equal(got, want) {
			b, _ := json.Marshal(got)
			t.Errorf("case %d: got %s, want %s", i, b, c.want)
		}
	}
}

func TestMergeDoesNotAliasSource(t *testing.T) {
	src := map[string]any{"a": map[string]any{"b": []any{1}}}
	got := Merge(map[string]any{}, src).(map[string]any)
	got["a"].(map[string]any)["b"].([]any)[0] = 2
	if src["a"].(map[string]any)["b"].([]any)[0] != 1 {
		t.Error("Merge result shares structure with its source")
	}
}

func TestStripNulls(t *testing.T) {
	var v any
	json.Unmarshal([]byte(`{"a":null,"b":{"c":null,"d":[null,{"e":null}]},"f":1}`), &v)
	StripNulls(v)
	var want any
	json.Unmarshal([]byte(`{"b":{"d":[null,{}]},"f":1}`), &want)
	if !Equal(v, want) {
		b, _ := json.Marshal(v)
		t.Errorf("got %s", b)
	}
}

func TestEqualTreatsNumbersAlike(t *testing.T) {
	if !Equal(map[string]any{"n": int64(3)}, map[string]any{"n": float64(3)}) {
		t.Error("int64 3 and float64 3 differ")
	}
	if Equal([]any{1}, []any{1, 2}) || Equal("1", int64(1)) {
		t.Error("unequal values compare equal")
	}
}

func TestCloneIsDeep(t *testing.T) {
	tm := New()
	tm.AddResource("A", "T", map[string]any{"L": []any{"x"}})
	c := tm.Clone()
	c.Resource("A")["Properties"].(map[string]any)["L"].([]any)[0] = "y"
	if tm.Resource("A")["Properties"].(map[string]any)["L"].([]any)[0] != "x" {
		t.Error("Clone shares resources with the original")
	}
}

func FuzzMerge(f *testing.F) {
	f.Add(`{"a":{"b":[1,2]}}`, `{"a":{"b":[3],"c":null}}`)
	f.Add(`[1,{"a":2}]`, `{"x":1}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		var dst, src any
		if json.Unmarshal([]byte(a), &dst) != nil || json.Unmarshal([]byte(b), &src) != nil {
			return
		}
		// Merging a value into (a copy of) itself must give it back.
		self := Merge(DeepCopy(src), src)
		if !Equal(self, src) {
			t.Fatalf("Merge(x, x) != x for %s", b)
		}
		Merge(dst, src)
	})
}
