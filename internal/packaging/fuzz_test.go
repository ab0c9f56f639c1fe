package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDevDependencyGlobs feeds arbitrary package.json content to the
// dependency pruning: it must never panic and may only ever exclude paths
// inside a node_modules folder.
func FuzzDevDependencyGlobs(f *testing.F) {
	f.Add(`{"dependencies":{"a":"1"},"devDependencies":{"b":"1"}}`, `{"dependencies":{"b":"1"},"bin":"x"}`, `{"bin":{"b":"cli.js"}}`)
	f.Add(`{"devDependencies":{"../../etc":"1","@s/b":"1"}}`, `{`, `{"bin":7}`)
	f.Add(`[]`, `null`, `{"peerDependencies":{"a":"1"},"optionalDependencies":{"b":"2"}}`)
	f.Fuzz(func(t *testing.T, root, a, b string) {
		dir := t.TempDir()
		for rel, body := range map[string]string{
			"package.json":                               root,
			"node_modules/a/package.json":                a,
			"node_modules/b/package.json":                b,
			"node_modules/@s/b/package.json":             b,
			"node_modules/a/node_modules/b/package.json": b,
		} {
			full := filepath.Join(dir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tr, err := walkTree(dir, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range devDependencyGlobs(tr) {
			if !strings.HasPrefix(g, "node_modules/") || strings.Contains(g, "..") {
				t.Fatalf("glob %q outside node_modules", g)
			}
		}
	})
}

// FuzzHandlerFiles checks handler parsing never panics and always offers
// a file for the runtimes whose handlers are files.
func FuzzHandlerFiles(f *testing.F) {
	f.Add("nodejs20.x", "src/app.handler")
	f.Add("python3.12", "a/b.c.d")
	f.Add("ruby3.3", "lib/x.M::K.m")
	f.Add("python3.12", "noDot")
	f.Fuzz(func(t *testing.T, runtime, handler string) {
		files, ok := handlerFiles(runtime, handler)
		if ok && len(files) == 0 {
			t.Fatalf("runtime %q handler %q: no candidate files", runtime, handler)
		}
	})
}
