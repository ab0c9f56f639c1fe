package nimbus

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
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
