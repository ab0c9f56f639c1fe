package aws

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/lift"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/schema"
	"github.com/nimbusfw/nimbus/internal/service"
	"github.com/nimbusfw/nimbus/internal/variables"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

// TestGolden compiles every testdata/golden/<case>/serverless.yml and compares
// the template with template.json beside it. Run with -update to rewrite
// them after an intended change, then read the diff.
//
// Artifacts are fixed fake names so the golden files do not depend on zips;
// function version hashes are computed over an absent artifact.
func TestGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/golden/*")
	for _, dir := range dirs {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			tmpl := compileGoldenCase(t, dir)
			got, err := tmpl.JSON()
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dir, "template.json")
			if *update {
				if err := os.WriteFile(want, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			var a, b any
			json.Unmarshal(got, &a)
			json.Unmarshal(exp, &b)
			ga, _ := json.MarshalIndent(a, "", "  ")
			gb, _ := json.MarshalIndent(b, "", "  ")
			if string(ga) != string(gb) {
				t.Errorf("template differs from %s (rerun with -update and review the diff):\n%s", want, lineDiff(string(gb), string(ga)))
			}
		})
	}
}

// compileGoldenCase loads, resolves and compiles one golden case.
func compileGoldenCase(t *testing.T, dir string) interface{ JSON() ([]byte, error) } {
	t.Helper()
	src := diag.NewSources()
	root, ds := config.ParseFile(filepath.Join(dir, "serverless.yml"), "serverless.yml", src)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	opts := map[string]string{"stage": "dev", "region": "us-east-1"}
	var constructs *lift.Lift
	var extra map[string]variables.ExternalSource
	if lift.Enabled(root) {
		constructs = lift.New(root)
		extra = map[string]variables.ExternalSource{"construct": constructs.Source}
	}
	root, ds = variables.Resolve(context.Background(), root, variables.Options{
		Dir: dir, ConfigFile: "serverless.yml", CLIOptions: opts,
		Env: func(string) (string, bool) { return "", false }, Sources: src,
		ExtraSources: extra,
	})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if constructs != nil {
		// Lift cases are compared with v3's whole output, which went
		// through the schema's coercions first, as Load does.
		if ds := schema.Validate(root); ds.HasErrors() {
			t.Fatal(ds.Err())
		}
		if _, ds := constructs.Expand(root, "dev"); ds.HasErrors() {
			t.Fatal(ds.Err())
		}
		constructs.AddResources(root)
	}
	svc := service.New(root, dir, filepath.Join(dir, "serverless.yml"), opts)
	arts := packaging.Result{Functions: map[string]string{}, Layers: map[string]string{}}
	tmpl, ds := Compile(Input{
		Service: svc, Artifacts: arts,
		ArtifactDirectoryName: "serverless/" + svc.Name + "/dev/1700000000000-2023-11-14T22:13:20.000Z",
		InstanceID:            "1700000000000",
	})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return tmpl
}

// lineDiff shows the lines of want and got that differ, for a readable failure.
func lineDiff(want, got string) string {
	wl, gl := splitLines(want), splitLines(got)
	out := ""
	n := len(wl)
	if len(gl) > n {
		n = len(gl)
	}
	shown := 0
	for i := 0; i < n && shown < 40; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			out += "- " + w + "\n+ " + g + "\n"
			shown++
		}
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
