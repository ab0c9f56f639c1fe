package aws_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// TestLiftStateMatchesServerlessV3 packages every testdata/golden/lift-*
// case with nimbus.Package and compares serverless-state.json with
// sls3-state.json, the state serverless 3.40 + serverless-lift 1.37 wrote
// for it, the way TestCorpus compares state: initialServerlessConfig with
// lift's tokens and additions, the functions lift added, its IAM
// statements and resources.
func TestLiftStateMatchesServerlessV3(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/golden/lift-*")
	if len(dirs) == 0 {
		t.Fatal("no lift golden cases")
	}
	for _, dir := range dirs {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			work := t.TempDir()
			data, err := os.ReadFile(filepath.Join(dir, "serverless.yml"))
			if err != nil {
				t.Fatal(err)
			}
			for name, content := range map[string][]byte{"serverless.yml": data, "handler.py": []byte("def placeholder(event, context):\n    return None\n")} {
				if err := os.WriteFile(filepath.Join(work, name), content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			p, err := nimbus.Load(ctx, nimbus.Options{Dir: work, Stage: "dev", Region: "us-east-1",
				Env: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatal(err)
			}
			res, err := nimbus.Package(ctx, p, nimbus.PackageOptions{Now: time.UnixMilli(1700000000000)})
			if err != nil {
				t.Fatal(err)
			}
			var want, got map[string]any
			if err := readJSON(filepath.Join(dir, "sls3-state.json"), &want); err != nil {
				t.Fatal(err)
			}
			if err := readJSON(filepath.Join(res.Dir, nimbus.StateFile), &got); err != nil {
				t.Fatal(err)
			}
			w, g := normalize(stateEssentials(want)), normalize(stateEssentials(got))
			if diffs := diffJSON("state", w, g); len(diffs) > 0 {
				t.Errorf("%d differences from serverless v3 + lift:\n  %s", len(diffs), strings.Join(diffs, "\n  "))
			}
		})
	}
}
