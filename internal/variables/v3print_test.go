package variables

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// v3PrintHeader is what testdata/v3print/gen.sh puts above every case.
const v3PrintHeader = "service: v3case\nprovider:\n  name: aws\n  runtime: nodejs18.x\n"

var v3ErrorLine = regexp.MustCompile(`^\s*- (?:Cannot resolve variable|Variable syntax error) at "([^"]+)": (.*?),?$`)

// dottedPath prints a path the way v3 does: list indexes as keys.
func dottedPath(p string) string {
	return strings.NewReplacer("[", ".", "]", "").Replace(p)
}

// TestResolveMatchesV3Print resolves each testdata/v3print case and compares
// with what serverless v3's `sls print` made of it (recorded by gen.sh): the
// same resolved custom section, or an error at every property where v3
// stopped, with v3's reason. Nimbus may report more errors than v3, which
// stops at the first resolution phase that fails.
func TestResolveMatchesV3Print(t *testing.T) {
	cases, _ := filepath.Glob("testdata/v3print/*.yml")
	if len(cases) < 10 {
		t.Fatalf("only %d cases", len(cases))
	}
	env := map[string]string{"SET_VAR": "set", "EMPTY_VAR": "", "SELF_REF": "a${env:SELF_REF}"}
	for _, file := range cases {
		name := strings.TrimSuffix(filepath.Base(file), ".yml")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				Config map[string]any `json:"config"`
				Error  string         `json:"error"`
			}
			raw, err := os.ReadFile(strings.TrimSuffix(file, ".yml") + ".v3.json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			extra, _ := filepath.Glob("testdata/v3print/files.d/*")
			for _, f := range extra {
				data, _ := os.ReadFile(f)
				os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644)
			}
			src := diag.NewSources()
			root, ds := config.Parse("serverless.yml", []byte(v3PrintHeader+string(body)), src)
			if ds.HasErrors() {
				t.Fatal(ds.Err())
			}
			got, ds := Resolve(context.Background(), root, Options{
				Dir: dir, ConfigFile: "serverless.yml", Sources: src, Env: envMap(env), AWS: &fakeAWS{},
				CLIOptions: map[string]string{"stage": "dev", "region": "us-east-1"},
				Params:     map[string]string{"cli": "fromCli"},
			})
			if want.Error == "" {
				if ds.HasErrors() {
					t.Fatalf("v3 resolves this, we fail:\n%v", ds.Err())
				}
				var gotCustom any
				data, _ := got.Get("custom").MarshalJSON()
				json.Unmarshal(data, &gotCustom)
				if !reflect.DeepEqual(gotCustom, want.Config["custom"]) {
					t.Errorf("custom:\n got  %s\n want %s", data, mustJSON(want.Config["custom"]))
				}
				return
			}
			errs := ds.Errors()
			if len(errs) == 0 {
				t.Fatalf("v3 fails with %q, we resolve it", want.Error)
			}
			matched := 0
			for _, line := range strings.Split(want.Error, "\n") {
				if src, ok := strings.CutPrefix(line, "Unrecognized configuration variable sources: "); ok {
					matched++
					if !strings.Contains(errs.Err().Error(), "Unrecognized configuration variable source "+src) {
						t.Errorf("v3: %s; we report:\n%v", line, errs.Err())
					}
					continue
				}
				m := v3ErrorLine.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				matched++
				found := false
				for _, d := range errs {
					if dottedPath(d.Path) == m[1] && strings.Contains(d.Summary, m[2]) {
						found = true
					}
				}
				if !found {
					t.Errorf("v3 reports at %s: %q; we report:\n%v", m[1], m[2], errs.Err())
				}
			}
			if matched == 0 {
				t.Fatalf("no v3 error line understood in %q", want.Error)
			}
		})
	}
}
