package nimbus

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nimbusfw/nimbus/internal/diag"
)

var updateBroken = flag.Bool("update", false, "rewrite the golden files of testdata/broken")

// TestBrokenConfigs loads each testdata/broken/<case>.txtar service through
// Load and compares everything the user would be shown (diag.Render of the
// errors and warnings) with <case>.golden.
//
// The archive's comment holds options, one per line:
//
//	config: other.yml     (--config)
//	env: NAME=value       (the only environment variables visible)
//	opt: name=value       (--name value, for ${opt:name})
//	stage: prod           (--stage)
//	dir: sub              (load from this subfolder of the archive)
func TestBrokenConfigs(t *testing.T) {
	cases, err := filepath.Glob("testdata/broken/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 25 {
		t.Fatalf("only %d broken configs in testdata/broken", len(cases))
	}
	for _, file := range cases {
		// loadBroken changes the working directory; keep paths absolute.
		file, _ = filepath.Abs(file)
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			got := loadBroken(t, file)
			golden := strings.TrimSuffix(file, ".txtar") + ".golden"
			if *updateBroken {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("rendered diagnostics differ from %s\n--- got ---\n%s--- want ---\n%s", golden, got, want)
			}
		})
	}
}

func loadBroken(t *testing.T, file string) string {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range ar.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		// A file named "empty" in the archive stands for a zero-byte file;
		// txtar always ends a file with a newline otherwise.
		data := f.Data
		if strings.HasSuffix(f.Name, ".empty") {
			p, data = strings.TrimSuffix(p, ".empty"), nil
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{}
	opts := Options{CLIOptions: map[string]string{}}
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		key, val, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		switch key {
		case "config":
			opts.Config = val
		case "env":
			k, v, _ := strings.Cut(val, "=")
			env[k] = v
		case "opt":
			k, v, _ := strings.Cut(val, "=")
			opts.CLIOptions[k] = v
		case "stage":
			opts.Stage = val
		case "dir":
			dir = filepath.Join(dir, val)
		}
	}
	opts.Env = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	// Diagnostics name files relative to the working directory, so the
	// golden text does not depend on where the temp dir is.
	t.Chdir(dir)
	opts.Dir = "."

	p, err := Load(context.Background(), opts)
	var ds diag.Diagnostics
	var de *diag.DiagError
	switch {
	case err == nil:
	case errors.As(err, &de):
		ds = append(ds, de.Diags...)
	default:
		t.Fatalf("Load returned an error without diagnostics: %v", err)
	}
	var src *diag.Sources
	if p != nil {
		ds = append(ds, p.Warnings...)
		src = p.Sources
	}
	ds.Sort()
	var b bytes.Buffer
	if err == nil {
		b.WriteString("(loaded)\n")
	}
	diag.Render(&b, ds, src)
	return strings.ReplaceAll(b.String(), dir, "$WORK")
}

// TestCorpusV3RejectionsFailToLoad takes the corpus services serverless v3
// refused for a reason of the config itself (not a missing plugin, the
// network, or a packaging step such as a Docker build) and checks that
// Load refuses them too.
func TestCorpusV3RejectionsFailToLoad(t *testing.T) {
	const corpus = "../../../shared/corpus"
	data, err := os.ReadFile(filepath.Join(corpus, "results", "sls3.tsv"))
	if err != nil {
		t.Skip("corpus not present")
	}
	// v3's reason → what Nimbus must say for the same service.
	loadTime := map[string]string{
		`does not satisfy the "frameworkVersion"`: `does not satisfy "frameworkVersion"`,
		`Object notation for "service"`:           `object notation for "service" is not supported`,
		"Cannot resolve serverless.yml":           "Cannot resolve variable",
	}
	checked := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 4 || f[1] != "fail" {
			continue
		}
		want := ""
		for v3, ours := range loadTime {
			if strings.Contains(f[3], v3) {
				want = ours
			}
		}
		if want == "" {
			continue
		}
		name, reason := f[0], f[3]
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			yml, err := os.ReadFile(filepath.Join(corpus, "public", name, "serverless.yml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "serverless.yml"), yml, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("bash", filepath.Join(corpus, "stub-handlers.sh"), dir).CombinedOutput(); err != nil {
				t.Fatalf("stub-handlers.sh: %v\n%s", err, out)
			}
			env := map[string]string{"AWS_REGION": "us-east-1"}
			// As the corpus was run: sls package --stage dev --region us-east-1.
			_, err = Load(context.Background(), Options{Dir: dir, Stage: "dev", Region: "us-east-1",
				Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
			if err == nil {
				t.Fatalf("Load accepted a service serverless v3 rejects with: %s", reason)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("v3 said %q; Nimbus says %q, want it to mention %q", reason, err, want)
			}
			t.Logf("v3: %s\nnimbus: %s", reason, strings.ReplaceAll(err.Error(), dir, "$WORK"))
		})
		checked++
	}
	if checked == 0 {
		t.Fatal("no load-time rejection found in results/sls3.tsv")
	}
}
