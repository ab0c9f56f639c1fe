package variables

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// genValue returns a random value for custom.k<i>: literals of every type,
// references to the other keys (so chains, cycles, objects and lists flow
// through), fallbacks, nesting and interpolation.
func genValue(rng *rand.Rand, keys int) any {
	k := func() string { return fmt.Sprintf("k%d", rng.IntN(keys)) }
	templates := []func() any{
		func() any { return "plain" },
		func() any { return "text-" + k() },
		func() any { return int64(rng.IntN(10)) * 11 },
		func() any { return map[string]any{"x": "lit", "n": int64(2)} },
		func() any { return []any{"p", "q"} },
		func() any { return int64(rng.IntN(100)) },
		func() any { return rng.IntN(2) == 0 },
		func() any { return []any{"a", int64(1), map[string]any{"x": "${self:custom." + k() + "}"}} },
		func() any { return map[string]any{"x": "y", "r": "${self:custom." + k() + "}"} },
		func() any { return "${self:custom." + k() + "}" },
		func() any { return "pre-${self:custom." + k() + "}-post" },
		func() any { return "${self:custom." + k() + "}${self:custom." + k() + "}" },
		func() any { return "${env:SET_VAR, 'd'}" },
		func() any { return "${env:UNSET_VAR, self:custom." + k() + "}" },
		func() any { return "${env:UNSET_VAR, '" + k() + "'}" },
		func() any { return "${env:UNSET_VAR, 7}" },
		func() any { return "${env:UNSET_VAR, null}" },
		func() any { return "${env:UNSET_VAR}" },
		func() any { return "${opt:stage}-${opt:nope, 'x'}" },
		func() any { return "${self:custom.${opt:which}}" },
		func() any { return "${self:custom.${self:custom." + k() + "}, 'nested-miss'}" },
		func() any { return "${self:custom." + k() + ".x, 'no-x'}" },
		func() any { return "${self:custom." + k() + ".0, 'no-0'}" },
		func() any { return "${strToBool(${self:custom." + k() + ", 'true'})}" },
		func() any { return "${env:REF_VAR}" },
		func() any { return "\\${self:custom." + k() + "}" },
		func() any { return "${sls:stage}" },
		func() any { return "${opt:}" },
	}
	return templates[rng.IntN(len(templates))]()
}

var v3CannotResolveAt = regexp.MustCompile(`(?:Cannot resolve variable|Variable syntax error) at "([^"]+)"`)

// TestResolveMatchesV3OnGeneratedConfigs resolves thousands of generated
// custom sections with our resolver and with serverless v3's own (in one
// node process), and requires the same resolved values, or errors at the
// same properties.
func TestResolveMatchesV3OnGeneratedConfigs(t *testing.T) {
	if testing.Short() {
		t.Skip("needs node")
	}
	node, err := exec.LookPath("node")
	sls, _ := filepath.Abs("../../tools/node_modules/serverless")
	if _, serr := os.Stat(sls); err != nil || serr != nil {
		t.Skip("node or tools/node_modules/serverless not available")
	}
	const n, keys = 1000, 6
	rng := rand.New(rand.NewPCG(3, 5))
	options := map[string]any{"stage": "dev", "which": "k1"}
	type input struct {
		Configuration map[string]any `json:"configuration"`
		Options       map[string]any `json:"options"`
	}
	inputs := make([]input, n)
	for i := range inputs {
		custom := map[string]any{}
		for j := 0; j < keys; j++ {
			custom[fmt.Sprintf("k%d", j)] = genValue(rng, keys)
		}
		inputs[i] = input{Configuration: map[string]any{"service": "gen", "custom": custom}, Options: options}
	}
	in, _ := json.Marshal(inputs)
	if p := os.Getenv("NIMBUS_DUMP_V3GEN"); p != "" {
		os.WriteFile(p, in, 0o644)
	}
	env := map[string]string{"SET_VAR": "set", "REF_VAR": "${self:custom.k0}"}
	cmd := exec.Command(node, "testdata/resolve-v3-stdin.js", sls)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "SET_VAR=set", "REF_VAR=${self:custom.k0}")
	cmd.Env = slicesWithout(cmd.Env, "UNSET_VAR=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var want []struct {
		Config map[string]any `json:"config"`
		Error  string         `json:"error"`
		Crash  bool           `json:"crash"`
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	mismatches, resolved, failed, crashes := 0, 0, 0, 0
	for i, in := range inputs {
		root := config.FromInterface(in.Configuration, diag.Pos{File: "serverless.yml", Line: 1, Col: 1})
		got, ds := Resolve(context.Background(), root, Options{Env: envMap(env), AWS: &fakeAWS{}, InstanceID: "1",
			CLIOptions: map[string]string{"stage": "dev", "which": "k1"}})
		w := want[i]
		if w.Crash {
			crashes++
			continue
		}
		describe := func() string {
			src, _ := json.MarshalIndent(in.Configuration["custom"], "", " ")
			return string(src)
		}
		switch {
		case w.Error == "" && ds.HasErrors():
			t.Errorf("case %d: v3 resolves it, we fail:\n%v\ninput %s", i, ds.Err(), describe())
		case w.Error != "" && !ds.HasErrors():
			t.Errorf("case %d: v3 fails with %s\nwe resolve %s\ninput %s", i, w.Error, jsonOf(t, got), describe())
		case w.Error != "":
			// Which failures get listed differs (v3 lists some dependents,
			// we list root causes once), so the check is that the listed
			// properties failed on both sides: they still hold a variable.
			failed++
			var bad []string
			for _, m := range v3CannotResolveAt.FindAllStringSubmatch(w.Error, -1) {
				if !unresolvedAt(got, m[1]) {
					bad = append(bad, "v3 fails at "+m[1]+" but we resolved it")
				}
			}
			wantTree := config.FromInterface(w.Config, diag.Pos{})
			for _, d := range ds.Errors() {
				if !unresolvedAt(wantTree, dottedPath(d.Path)) {
					bad = append(bad, "we fail at "+dottedPath(d.Path)+" but v3 resolved it")
				}
			}
			if len(bad) == 0 {
				continue
			}
			t.Errorf("case %d: %s\nv3: %s\nwe: %v\ninput %s", i, strings.Join(bad, "; "), firstLines(w.Error), ds.Err(), describe())
		default:
			resolved++
			var gotV any
			json.Unmarshal([]byte(jsonOf(t, got.Get("custom"))), &gotV)
			if reflect.DeepEqual(gotV, w.Config["custom"]) {
				continue
			}
			t.Errorf("case %d:\n got  %s\n want %s\ninput %s", i, jsonOf(t, got.Get("custom")), mustJSON(w.Config["custom"]), describe())
		}
		if mismatches++; mismatches >= 10 {
			t.Fatal("too many mismatches")
		}
	}
	t.Logf("%d generated configs (%d resolve, %d fail in v3, %d crash v3 and are skipped): %d differ", n, resolved, failed, crashes, mismatches)
}

func slicesWithout(env []string, prefix string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

// unresolvedAt says whether the value at a dotted path is missing or still
// holds a variable somewhere inside.
func unresolvedAt(root *config.Node, dotted string) bool {
	n := root.Lookup(strings.Split(dotted, ".")...)
	if n == nil {
		return true
	}
	found := false
	config.Walk(n, nil, func(c *config.Node, _ config.Path) bool {
		if s, ok := c.Str(); ok {
			if vars, err := parseVariables(s); err != nil || hasLiveVariable(vars) {
				found = true
			}
		}
		return !found
	})
	return found
}

func firstLines(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "at ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
