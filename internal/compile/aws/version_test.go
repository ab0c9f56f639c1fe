package aws

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/schema"
	"github.com/nimbusfw/nimbus/internal/service"
	"github.com/nimbusfw/nimbus/internal/variables"
)

// TestMatchesV3WithV3Zips compiles each golden case that has an sls3/
// folder (serverless v3.40.0's `package` output for that serverless.yml:
// its zips and update-stack template) against v3's own zips. With the same
// zip bytes every hash must agree, so only the deployment timestamp is
// normalised: LambdaVersion<hash> IDs, CodeSha256 and everything else must
// be identical to v3's.
//
// To (re)create a case's sls3/ folder: copy its serverless.yml to a scratch
// folder, run the corpus stub-handlers.sh on it, then
// `tools/node_modules/.bin/sls package --stage dev --region us-east-1` with
// fake credentials and SLS_TELEMETRY_DISABLED=1, and copy the zips and
// cloudformation-template-update-stack.json from .serverless/. Services
// with layers need CloudFormation's describeStacks to answer "does not
// exist" (v3 asks for the last layer hash): preload a module with
// NODE_OPTIONS=--require that wraps lib/aws/request.js to throw
// "Stack with id x does not exist" for that call.
func TestMatchesV3WithV3Zips(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/golden/*/sls3")
	if len(dirs) == 0 {
		t.Fatal("no testdata/golden/*/sls3 cases")
	}
	stamp := regexp.MustCompile(`\d{13}-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`)
	for _, v3dir := range dirs {
		dir := filepath.Dir(v3dir)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			svc := loadGoldenService(t, dir)
			zips, _ := filepath.Glob(filepath.Join(v3dir, "*.zip"))
			arts := packaging.Result{Functions: map[string]string{}, Layers: map[string]string{}}
			for _, z := range zips {
				abs, _ := filepath.Abs(z)
				name := strings.TrimSuffix(filepath.Base(z), ".zip")
				if name == svc.Name {
					arts.ServiceArtifact = abs
				}
				for _, f := range svc.Functions {
					if f.Key == name || name == svc.Name {
						arts.Functions[f.Key] = abs
					}
				}
				for _, l := range svc.Layers {
					if l.Key == name {
						arts.Layers[l.Key] = abs
					}
				}
			}
			res, ds := CompileService(Input{Service: svc, Artifacts: arts,
				ArtifactDirectoryName: svc.Provider.DeploymentPrefix + "/" + svc.Name + "/dev/1700000000000-2023-11-14T22:13:20.000Z"})
			if ds.HasErrors() {
				t.Fatal(ds.Err())
			}
			got, _ := res.Template.JSON()
			want, err := os.ReadFile(filepath.Join(v3dir, "cloudformation-template-update-stack.json"))
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			json.Unmarshal([]byte(stamp.ReplaceAllString(string(got), "TS")), &g)
			json.Unmarshal([]byte(stamp.ReplaceAllString(string(want), "TS")), &w)
			if !cfn.Equal(g, w) {
				t.Errorf("differs from serverless v3:\n%s", strings.Join(pathDiff("", w, g), "\n"))
			}
		})
	}
}

func loadGoldenService(t *testing.T, dir string) *service.Service {
	t.Helper()
	src := diag.NewSources()
	root, ds := config.ParseFile(filepath.Join(dir, "serverless.yml"), "serverless.yml", src)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	opts := map[string]string{"stage": "dev", "region": "us-east-1"}
	root, ds = variables.Resolve(context.Background(), root, variables.Options{
		Dir: dir, ConfigFile: "serverless.yml", CLIOptions: opts,
		Env: func(string) (string, bool) { return "", false }, Sources: src,
	})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	// Validation normalises the tree as v3's ajv does (type coercion,
	// list-form resources), so compile sees what it sees in nimbus.Load.
	if ds := schema.Validate(root); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return service.New(root, dir, filepath.Join(dir, "serverless.yml"), opts)
}

// pathDiff lists the JSON paths where got differs from want.
func pathDiff(path string, want, got any) []string {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		keys := map[string]bool{}
		for k := range wm {
			keys[k] = true
		}
		for k := range gm {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			out = append(out, pathDiff(path+"."+k, wm[k], gm[k])...)
		}
		return out
	}
	if cfn.Equal(want, got) {
		return nil
	}
	w, _ := json.Marshal(want)
	g, _ := json.Marshal(got)
	return []string{path + ": want " + string(w) + ", got " + string(g)}
}

func TestLocaleOrder(t *testing.T) {
	// Order produced by ["b","B","a_b","a-b","a1","A","_x","ab"].sort((a,b)=>a.localeCompare(b)) in Node 20.
	keys := []string{"b", "B", "a_b", "a-b", "a1", "A", "_x", "ab"}
	sortLocale(keys)
	want := []string{"_x", "A", "a_b", "a-b", "a1", "ab", "b", "B"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", keys, want)
	}
}
