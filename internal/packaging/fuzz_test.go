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

// FuzzSelectionShortcutsAgree checks selectFiles' shortcuts (globby tasks
// built once, trailing literal rules by map lookup) against evaluating
// every rule for every file.
func FuzzSelectionShortcutsAgree(f *testing.F) {
	f.Add("!src/**\nsrc/a.js", "node_modules/x/**\nnode_modules/.bin/x", "src/a.js\nsrc/b.js\nnode_modules/x/i.js\nnode_modules/.bin/x")
	f.Add("!node_modules\nnode_modules/y/*.js", "node_modules/y/**", "node_modules/y/a.js\nnode_modules/z/b.js")
	f.Add("", "a/**", "a\na/b")
	f.Fuzz(func(t *testing.T, includes, dev, files string) {
		tr := &tree{}
		seen := map[string]bool{}
		for _, p := range strings.Split(files, "\n") {
			if p != "" && !seen[p] {
				seen[p] = true
				tr.files = append(tr.files, treeFile{Rel: p})
			}
		}
		tr.index()
		var inc []rawPattern
		for _, p := range strings.Split(includes, "\n") {
			if p != "" {
				inc = append(inc, rawPattern{Text: p})
			}
		}
		var devGlobs []string
		for _, g := range strings.Split(dev, "\n") {
			if g != "" {
				devGlobs = append(devGlobs, g)
			}
		}
		rules := rulesFor(builtin(defaultExcludes), inc, devGlobs)
		got := selectFiles(tr, rules)
		var want []int
		for i, f := range tr.files {
			if listedByGlobby(f.Rel, rules) && included(f.Rel, rules) {
				want = append(want, i)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("shortcut selected %v, full evaluation %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("shortcut selected %v, full evaluation %v", got, want)
			}
		}
	})
}
