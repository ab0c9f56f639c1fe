package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// The differential test runs serverless v3's own validator (its schema,
// ajv settings and error trimming, through testdata/v3oracle.js) and this
// package over the same configs, and compares where each finds problems:
// every corpus service as written, plus deterministic mutations of them
// (misspelt keys, wrong types, removed keys).

const slsDir = "../../tools/node_modules/serverless"

// requireServerlessV3 returns node and the absolute serverless v3 folder
// the oracle tests run, skipping the test when either is missing.
func requireServerlessV3(t *testing.T) (node, slsAbs string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	slsAbs, _ = filepath.Abs(slsDir)
	if _, err := os.Stat(slsAbs); err != nil {
		t.Skip("serverless v3 not installed in tools/node_modules")
	}
	return node, slsAbs
}

// v3Result is v3's verdict on one config.
type v3Result struct {
	Errors  []string
	Coerced json.RawMessage
}

func v3Validate(t *testing.T, configs [][]byte) []v3Result {
	t.Helper()
	node, abs := requireServerlessV3(t)
	input := filepath.Join(t.TempDir(), "configs.jsonl")
	if err := os.WriteFile(input, append(bytes.Join(configs, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "testdata/v3oracle.js", abs, input)
	cmd.Env = oracleEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("v3 oracle: %v\n%s", err, stderr.String())
	}
	var res []v3Result
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r v3Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("v3 oracle output %q: %v", line, err)
		}
		res = append(res, r)
	}
	if len(res) != len(configs) {
		t.Fatalf("v3 oracle answered %d of %d configs", len(res), len(configs))
	}
	return res
}

// oracleEnv keeps ajv's compiled validator between runs (compiling v3's
// schema is most of the oracle's start-up time).
func oracleEnv() []string {
	return append(os.Environ(), "SLS_SCHEMA_CACHE_BASE_DIR="+filepath.Join(os.TempDir(), "nimbus-sls3-ajv-cache"),
		"SLS_TELEMETRY_DISABLED=1")
}

var v3PathRE = regexp.MustCompile(`^at (root|'[^']*'): (.*)$`)
var indexRE = regexp.MustCompile(`\[(\d+)\]`)
var unrecognizedRE = regexp.MustCompile(`^unrecognized property '(.*)'$`)

// v3Places turns v3's messages into "path" keys; an unrecognized property
// is keyed by the property itself, as this package reports it.
func v3Places(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		sm := v3PathRE.FindStringSubmatch(m)
		if sm == nil {
			out = append(out, "?"+m)
			continue
		}
		p := strings.Trim(sm[1], "'")
		if sm[1] == "root" {
			p = ""
		}
		if um := unrecognizedRE.FindStringSubmatch(sm[2]); um != nil {
			if p != "" {
				p += "."
			}
			p += um[1]
		}
		if nm := regexp.MustCompile(`^name '(.*)' must be alphanumeric$`).FindStringSubmatch(sm[2]); nm != nil {
			p += "." + nm[1]
		}
		out = append(out, p)
	}
	return uniqueSorted(out)
}

func ourPlaces(root *config.Node) []string {
	v := &validator{apply: true} // on a copy: coercions shape later checks, as in ajv
	var out []string
	for _, is := range v.check(schemaView(root.Clone()), serviceSchema, nil, valueAnchor(root)) {
		out = append(out, indexRE.ReplaceAllString(is.path.String(), ".$1"))
	}
	return uniqueSorted(out)
}

func uniqueSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// samePlaces reports whether both found problems at the same places, where
// a place also matches its ancestors and descendants: when a value fits
// none of several accepted forms, v3 and Nimbus may blame it at different
// depths (v3 often reports every alternative's complaint).
func samePlaces(got, exp []string) bool {
	related := func(a, b string) bool {
		return a == b || strings.HasPrefix(a, b+".") || strings.HasPrefix(b, a+".")
	}
	covered := func(xs, ys []string) bool {
		for _, x := range xs {
			ok := false
			for _, y := range ys {
				if related(x, y) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}
	if !covered(got, exp) {
		return false
	}
	// v3 also lists what each rejected alternative of an anyOf disliked;
	// such a place is covered when v3 reports an ancestor we cover.
	for _, e := range exp {
		ok := covered([]string{e}, got)
		for _, a := range exp {
			if !ok && strings.HasPrefix(e, a+".") && covered([]string{a}, got) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// sameCoercion validates a copy of root (which coerces in place) and
// compares it, nulls dropped as v3 drops them, with v3's coerced config.
// quiet drops the logging of a comparison that is only counted.
type quiet struct{ testing.TB }

func (quiet) Logf(string, ...any) {}

func sameCoercion(t testing.TB, root *config.Node, v3 json.RawMessage) bool {
	c := root.Clone()
	Validate(c)
	ours, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if json.Unmarshal(ours, &a) != nil || json.Unmarshal(v3, &b) != nil {
		return false
	}
	if where := firstDifference(dropNulls(a), dropNulls(b), ""); where != "" {
		t.Logf("coercion differs at %s", where)
		return false
	}
	return true
}

// firstDifference names the first place two JSON values differ ("" when
// equal), with both values.
func firstDifference(a, b any, path string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			if _, dup := x[k]; !dup {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if d := firstDifference(x[k], y[k], path+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			if d := firstDifference(x[i], y[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if reflect.DeepEqual(a, b) {
		return ""
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return fmt.Sprintf("%s: nimbus %s, v3 %s", path, ja, jb)
}

func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				x[k] = dropNulls(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = dropNulls(e)
		}
	}
	return v
}

// mutate returns a copy of root with one deterministic change.
func mutate(root *config.Node, r *rand.Rand) *config.Node {
	c := root.Clone()
	var maps []*config.Node
	var scalars []*config.Node
	config.Walk(c, nil, func(n *config.Node, path config.Path) bool {
		if len(path) > 0 && (path[0] == "custom" || path[0] == "resources") {
			return false // free-form sections: nothing to compare
		}
		switch {
		case n.Kind == config.Map && len(n.Pairs) > 0:
			maps = append(maps, n)
		case n.IsScalar():
			scalars = append(scalars, n)
		}
		return true
	})
	pos := diag.Pos{}
	switch r.Intn(4) {
	case 0: // misspell a key
		if len(maps) > 0 {
			m := maps[r.Intn(len(maps))]
			p := &m.Pairs[r.Intn(len(m.Pairs))]
			if len(p.Key) > 2 {
				i := r.Intn(len(p.Key) - 1)
				p.Key = p.Key[:i] + p.Key[i+1:]
			}
		}
	case 1: // a scalar becomes a map
		if len(scalars) > 0 {
			n := scalars[r.Intn(len(scalars))]
			n.Kind, n.Value, n.Pairs = config.Map, nil, []config.Pair{{Key: "k", Value: config.NewString("v", pos)}}
		}
	case 2: // a scalar becomes a word
		if len(scalars) > 0 {
			*scalars[r.Intn(len(scalars))] = *config.NewString("zzz", pos)
		}
	case 3: // drop a key
		if len(maps) > 0 {
			m := maps[r.Intn(len(maps))]
			i := r.Intn(len(m.Pairs))
			m.Pairs = append(m.Pairs[:i], m.Pairs[i+1:]...)
		}
	}
	return c
}

func TestAgreesWithServerlessV3Validator(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serverless v3 in node")
	}
	t.Parallel()
	files, _ := filepath.Glob("../../../shared/corpus/public/*/serverless.yml")
	if len(files) == 0 {
		t.Skip("corpus not present")
	}
	type sample struct {
		name string
		root *config.Node
	}
	var samples []sample
	r := rand.New(rand.NewSource(1))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		root, ds := config.Parse("serverless.yml", data, nil)
		if ds.HasErrors() || root.Kind != config.Map {
			continue
		}
		name := filepath.Base(filepath.Dir(f))
		samples = append(samples, sample{name, root})
		for i := 0; i < 6; i++ {
			samples = append(samples, sample{fmt.Sprintf("%s~%d", name, i), mutate(root, r)})
		}
	}
	configs := make([][]byte, len(samples))
	for i, s := range samples {
		b, err := s.root.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		configs[i] = b
	}
	want := v3Validate(t, configs)
	agree, originals, originalsAgree, flagged, exact := 0, 0, 0, 0, 0
	coercedSame, valid, flaggedCoercedSame := 0, 0, 0
	for i, s := range samples {
		got, exp := ourPlaces(s.root), v3Places(want[i].Errors)
		if len(exp) == 0 {
			// Where v3 accepts the config, the values it coerced must
			// come out of Validate the same.
			valid++
			if sameCoercion(t, s.root, want[i].Coerced) {
				coercedSame++
			} else {
				t.Errorf("%s: coerced differently from serverless v3", s.name)
			}
		} else if sameCoercion(quiet{t}, s.root, want[i].Coerced) {
			flaggedCoercedSame++
		}
		same := samePlaces(got, exp)
		if len(exp) > 0 {
			flagged++
		}
		if strings.Join(got, "|") == strings.Join(exp, "|") {
			exact++
		}
		if !strings.Contains(s.name, "~") {
			originals++
			if same {
				originalsAgree++
			} else {
				t.Errorf("%s: problems at %q, serverless v3 finds them at %q", s.name, got, exp)
			}
		}
		if same {
			agree++
		} else if testing.Verbose() {
			t.Logf("%s: nimbus %q, v3 %q (%q)", s.name, got, exp, want[i].Errors)
		}
	}
	t.Logf("same problem locations as serverless v3: %d/%d corpus services, %d/%d with mutations (%d of which v3 flags; %d identical path sets)", originalsAgree, originals, agree, len(samples), flagged, exact)
	t.Logf("same coerced values as serverless v3 in %d/%d configs it accepts, %d/%d of those it flags", coercedSame, valid, flaggedCoercedSame, flagged)
	if float64(agree) < 0.97*float64(len(samples)) {
		t.Errorf("agreement with serverless v3 fell below 97%%: %d/%d", agree, len(samples))
	}
}

// TestAgreesWithServerlessV3OnGeneratedConfigs validates configs generated
// from v3's own schema (most with one random mutation) with both
// validators: it reaches corners of the schema no corpus service uses.
func TestAgreesWithServerlessV3OnGeneratedConfigs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serverless v3 in node")
	}
	t.Parallel()
	node, abs := requireServerlessV3(t)
	// NIMBUS_ORACLE_COUNT and NIMBUS_ORACLE_SEED explore further by hand.
	count, seed := os.Getenv("NIMBUS_ORACLE_COUNT"), os.Getenv("NIMBUS_ORACLE_SEED")
	if count == "" {
		count = "1000"
	}
	if seed == "" {
		seed = "7"
	}
	cmd := exec.Command(node, "testdata/v3generate.js", abs, count, seed)
	cmd.Env = oracleEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("v3 generator: %v\n%s", err, stderr.String())
	}
	agree, flagged, total, exact, valid, coercedSame, flaggedCoercedSame := 0, 0, 0, 0, 0, 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var rec struct {
			Config  json.RawMessage
			Errors  []string
			Coerced json.RawMessage
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		root, ds := config.Parse("generated.json", rec.Config, nil)
		if ds.HasErrors() {
			t.Fatalf("generated config does not parse: %v", ds.Err())
		}
		total++
		got, exp := ourPlaces(root), v3Places(rec.Errors)
		if len(exp) > 0 {
			flagged++
			if sameCoercion(quiet{t}, root, rec.Coerced) {
				flaggedCoercedSame++
			}
		} else {
			valid++
			if sameCoercion(t, root, rec.Coerced) {
				coercedSame++
			} else {
				t.Errorf("coerced differently from serverless v3:\n%s\nv3: %s", rec.Config, rec.Coerced)
			}
		}
		if strings.Join(got, "|") == strings.Join(exp, "|") {
			exact++
		}
		if samePlaces(got, exp) {
			agree++
		} else if testing.Verbose() {
			t.Logf("nimbus %q, v3 %q (%q)\n%s", got, exp, rec.Errors, rec.Config)
		}
	}
	t.Logf("same problem locations as serverless v3 on %d/%d generated configs (%d of which v3 flags; %d identical path sets)", agree, total, flagged, exact)
	t.Logf("same coerced values as serverless v3 in %d/%d generated configs it accepts, %d/%d of those it flags", coercedSame, valid, flaggedCoercedSame, flagged)
	if float64(agree) < 0.97*float64(total) {
		t.Errorf("agreement with serverless v3 fell below 97%%: %d/%d", agree, total)
	}
}
