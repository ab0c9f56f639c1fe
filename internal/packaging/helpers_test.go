package packaging

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
	"github.com/nimbusfw/nimbus/internal/variables"
)

// fixtureFile is one file (or symlink, when Link is set) of a test service.
type fixtureFile struct {
	Path string
	Body string
	Mode os.FileMode // 0 means 0644
	Link string      // symlink target, as written into the link
}

// writeFixture materialises files below dir.
func writeFixture(t testing.TB, dir string, files []fixtureFile) {
	t.Helper()
	for _, f := range files {
		full := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.Link != "" {
			if err := os.Symlink(f.Link, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(full, []byte(f.Body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil { // umask-proof
			t.Fatal(err)
		}
	}
}

// newService writes serverless.yml plus files into a fresh directory and
// loads it (no variable resolution: test configs use none).
func newService(t testing.TB, yml string, files ...fixtureFile) *service.Service {
	t.Helper()
	dir := t.TempDir()
	writeFixture(t, dir, append([]fixtureFile{{Path: "serverless.yml", Body: yml}}, files...))
	return loadService(t, dir)
}

// loadService reads and resolves dir's serverless.yml for stage dev in
// us-east-1 with no environment variables, as the corpus was recorded.
func loadService(t testing.TB, dir string) *service.Service {
	t.Helper()
	path, ds := config.FindServiceFile(dir, "")
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	src := diag.NewSources()
	root, ds := config.ParseFile(path, "serverless.yml", src)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	opts := map[string]string{"stage": "dev", "region": "us-east-1"}
	resolved, ds := variables.Resolve(context.Background(), root, variables.Options{
		Dir: dir, ConfigFile: "serverless.yml", CLIOptions: opts, Sources: src,
		Env: func(string) (string, bool) { return "", false }, InstanceID: "1",
		// serverless-lift's ${construct:…} values (queue URLs, bucket
		// names) never decide what is packaged; a placeholder will do.
		ExtraSources: map[string]variables.ExternalSource{
			"construct": func(_ context.Context, _ []*config.Node, address string) (*config.Node, error) {
				return config.NewString("construct-"+address, diag.Pos{}), nil
			},
		},
	})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return service.New(resolved, dir, path, opts)
}

// mustPackage packages into <service>/.serverless and fails on errors.
func mustPackage(t testing.TB, svc *service.Service) Result {
	t.Helper()
	res, ds := Package(context.Background(), svc, ".serverless")
	if ds.HasErrors() {
		t.Fatalf("Package: %v", ds.Err())
	}
	return res
}

// zipNames lists a zip's entry names in stored order.
func zipNames(t testing.TB, path string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

func sorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

func diagSummaries(ds diag.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Message())
		b.WriteByte('\n')
	}
	return b.String()
}

// extras are the files added to every corpus copy, so the file lists
// recorded from serverless v3 exercise its default excludes, dotfiles,
// executable bits, symlinks inside the service and dev-dependency pruning
// (a prod tree, a dev-only tree with nested and scoped packages and .bin
// links, a package shared by both, an extraneous one, and a nested project).
var extras = []fixtureFile{
	{Path: ".git/HEAD", Body: "ref: refs/heads/main\n"},
	{Path: ".gitignore", Body: "node_modules\n"},
	{Path: ".DS_Store", Body: "x"},
	{Path: "docs/.DS_Store", Body: "x"},
	{Path: "docs/notes.md", Body: "notes\n"},
	{Path: "README.md", Body: "readme\n"},
	{Path: ".env", Body: "A=1\n"},
	{Path: ".env.dev", Body: "A=2\n"},
	{Path: "npm-debug.log", Body: "log\n"},
	{Path: "yarn-error.log", Body: "log\n"},
	{Path: "docs/npm-debug.log", Body: "log\n"},
	{Path: "scripts/run.sh", Body: "#!/bin/sh\necho hi\n", Mode: 0o755},
	{Path: "scripts/current.sh", Link: "run.sh"},
	{Path: "package.json", Body: `{"name":"fixture","version":"1.0.0",
  "dependencies":{"left-pad":"1.0.0","shared":"1.0.0"},
  "devDependencies":{"mocha":"1.0.0","@types/node":"1.0.0","@scope/tool":"1.0.0"}}`},
	{Path: "node_modules/left-pad/package.json", Body: `{"name":"left-pad","version":"1.0.0","dependencies":{"shared":"1.0.0"}}`},
	{Path: "node_modules/left-pad/index.js", Body: "module.exports = 1;\n"},
	{Path: "node_modules/shared/package.json", Body: `{"name":"shared","version":"1.0.0"}`},
	{Path: "node_modules/shared/index.js", Body: "module.exports = 2;\n"},
	{Path: "node_modules/mocha/package.json", Body: `{"name":"mocha","version":"1.0.0","dependencies":{"shared":"1.0.0","debug":"1.0.0","ms":"2.0.0"},"bin":{"mocha":"bin/mocha.js","_mocha":"bin/_mocha"}}`},
	{Path: "node_modules/mocha/bin/mocha.js", Body: "#!/usr/bin/env node\n", Mode: 0o755},
	{Path: "node_modules/mocha/bin/_mocha", Body: "#!/usr/bin/env node\n", Mode: 0o755},
	{Path: "node_modules/mocha/index.js", Body: "module.exports = 3;\n"},
	{Path: "node_modules/mocha/node_modules/ms/package.json", Body: `{"name":"ms","version":"2.0.0"}`},
	{Path: "node_modules/mocha/node_modules/ms/index.js", Body: "module.exports = 4;\n"},
	{Path: "node_modules/debug/package.json", Body: `{"name":"debug","version":"1.0.0","dependencies":{"ms":"1.0.0"}}`},
	{Path: "node_modules/debug/index.js", Body: "module.exports = 5;\n"},
	{Path: "node_modules/ms/package.json", Body: `{"name":"ms","version":"1.0.0"}`},
	{Path: "node_modules/ms/index.js", Body: "module.exports = 6;\n"},
	{Path: "node_modules/@types/node/package.json", Body: `{"name":"@types/node","version":"1.0.0"}`},
	{Path: "node_modules/@types/node/index.d.ts", Body: "export {};\n"},
	{Path: "node_modules/@scope/tool/package.json", Body: `{"name":"@scope/tool","version":"1.0.0","bin":"cli.js"}`},
	{Path: "node_modules/@scope/tool/cli.js", Body: "#!/usr/bin/env node\n", Mode: 0o755},
	{Path: "node_modules/extraneous/package.json", Body: `{"name":"extraneous","version":"1.0.0"}`},
	{Path: "node_modules/extraneous/index.js", Body: "module.exports = 7;\n"},
	{Path: "node_modules/.bin/mocha", Link: "../mocha/bin/mocha.js"},
	{Path: "node_modules/.bin/_mocha", Link: "../mocha/bin/_mocha"},
	{Path: "node_modules/.bin/tool", Link: "../@scope/tool/cli.js"},
	{Path: "sub/package.json", Body: `{"name":"sub","version":"1.0.0","dependencies":{"kept":"1.0.0"},"devDependencies":{"devonly":"1.0.0"}}`},
	{Path: "sub/index.js", Body: "module.exports = 8;\n"},
	{Path: "sub/node_modules/kept/package.json", Body: `{"name":"kept","version":"1.0.0"}`},
	{Path: "sub/node_modules/kept/index.js", Body: "module.exports = 9;\n"},
	{Path: "sub/node_modules/devonly/package.json", Body: `{"name":"devonly","version":"1.0.0","bin":{"devonly":"cli.js"}}`},
	{Path: "sub/node_modules/devonly/cli.js", Body: "#!/usr/bin/env node\n", Mode: 0o755},
}
