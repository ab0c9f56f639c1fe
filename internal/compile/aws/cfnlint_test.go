package aws_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// lintFinding is one cfn-lint result (its --format json shape).
type lintFinding struct {
	Filename string
	Level    string
	Message  string
	Rule     struct{ Id string }
	Location struct{ Path []any }
}

// runtimeDeprecationRules flag the runtime the user chose once AWS
// deprecates it; they depend on today's date, not on compilation.
var runtimeDeprecationRules = map[string]bool{"E2531": true, "E2533": true}

// TestCorpusCfnLint runs cfn-lint over every compiled corpus template and
// fails on errors (E-codes) Nimbus introduced: an error that cfn-lint also
// reports, at the same path, on serverless v3's template for that service
// comes from the user's own config and is only logged.
func TestCorpusCfnLint(t *testing.T) {
	if _, err := exec.LookPath("cfn-lint"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is required when CI=true")
		}
		t.Skip("cfn-lint not on PATH")
	}
	run := packageCorpus(t)
	byFile := map[string]string{}
	var files []string
	for i, svc := range run.services {
		if got := run.results[i].got; got != nil {
			f := filepath.Join(got.dir, "cloudformation-template-update-stack.json")
			files = append(files, f)
			byFile[f] = svc.name
		}
	}
	if len(files) == 0 {
		t.Fatal("no compiled templates")
	}
	ours := lintErrors(t, files)
	var v3Files []string
	for f := range ours {
		v3Files = append(v3Files, filepath.Join(run.root, "public", byFile[f], "expected", "sls3", "cloudformation-template-update-stack.json"))
	}
	v3 := lintErrors(t, v3Files)
	v3Keys := map[string]bool{}
	for f, fs := range v3 {
		svc := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(f))))
		for _, x := range fs {
			v3Keys[svc+" "+lintKey(x)] = true
		}
	}
	introduced := 0
	for f, fs := range ours {
		for _, x := range fs {
			if v3Keys[byFile[f]+" "+lintKey(x)] {
				t.Logf("%s: %s %s (v3's template has it too)", byFile[f], x.Rule.Id, x.Message)
				continue
			}
			introduced++
			t.Errorf("%s: cfn-lint %s at %s: %s", byFile[f], x.Rule.Id, lintPath(x), x.Message)
		}
	}
	fmt.Printf("cfn-lint: %d templates, %d errors introduced by Nimbus\n", len(files), introduced)
}

// lintErrors runs cfn-lint on files (two processes in parallel) and
// returns the E-level findings per file, minus runtime deprecations.
func lintErrors(t *testing.T, files []string) map[string][]lintFinding {
	out := map[string][]lintFinding{}
	if len(files) == 0 {
		return out
	}
	chunks := [][]string{files[:len(files)/2], files[len(files)/2:]}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, chunk := range chunks {
		if len(chunk) == 0 {
			continue
		}
		wg.Add(1)
		go func(chunk []string) {
			defer wg.Done()
			cmd := exec.Command("cfn-lint", append([]string{"--format", "json", "--"}, chunk...)...)
			data, err := cmd.Output()
			if err != nil && len(data) == 0 {
				mu.Lock()
				t.Errorf("cfn-lint: %v", err)
				mu.Unlock()
				return
			}
			var fs []lintFinding
			if err := json.Unmarshal(data, &fs); err != nil {
				mu.Lock()
				t.Errorf("cfn-lint output: %v", err)
				mu.Unlock()
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, x := range fs {
				if x.Level == "Error" && !runtimeDeprecationRules[x.Rule.Id] {
					out[x.Filename] = append(out[x.Filename], x)
				}
			}
		}(chunk)
	}
	wg.Wait()
	return out
}

func lintPath(x lintFinding) string {
	parts := make([]string, len(x.Location.Path))
	for i, p := range x.Location.Path {
		parts[i] = fmt.Sprint(p)
	}
	return strings.Join(parts, "/")
}

func lintKey(x lintFinding) string { return x.Rule.Id + " " + normString(lintPath(x)) }
