package gobuild

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIsMainPackage(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"cmd/a/main.go":      "// Command a.\n/* block\ncomment */\n//go:build linux\n\npackage main\n\nfunc main() {}\n",
		"lib/lib.go":         "package lib\n",
		"tests/only_test.go": "package main\n",
		"empty/README.md":    "nothing",
		"inline/x.go":        "/* licence */ package main\n",
	})
	for sub, want := range map[string]bool{"cmd/a": true, "lib": false, "tests": false, "empty": false, "missing": false, "inline": true} {
		if got := IsMainPackage(filepath.Join(dir, sub)); got != want {
			t.Errorf("IsMainPackage(%s) = %v, want %v", sub, got, want)
		}
	}
}

func TestSourceHashFollowsModuleImports(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"go.mod":            "module example.com/m\n\ngo 1.22\n",
		"cmd/a/main.go":     "package main\n\nimport _ \"example.com/m/internal/dep\"\n\nfunc main() {}\n",
		"internal/dep/d.go": "package dep\n",
		"other/o.go":        "package other\n",
	})
	pkg := filepath.Join(dir, "cmd/a")
	base, err := SourceHash(pkg)
	if err != nil {
		t.Fatal(err)
	}
	change := func(name, body string) string {
		write(t, dir, map[string]string{name: body})
		h, err := SourceHash(pkg)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := change("other/o.go", "package other\n\nvar X = 1\n"); h != base {
		t.Error("an unimported package changed the hash")
	}
	h1 := change("internal/dep/d.go", "package dep\n\nvar Y = 2\n")
	if h1 == base {
		t.Error("an imported package's change kept the hash")
	}
	if h2 := change("go.mod", "module example.com/m\n\ngo 1.23\n"); h2 == h1 {
		t.Error("a go.mod change kept the hash")
	}
}

func TestBuildCachesAndReportsErrors(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not on PATH")
	}
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"go.mod":  "module example.com/b\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Print(\"v1\") }\n",
	})
	b := &Builder{CacheDir: filepath.Join(dir, ".nimbus", "gobuild")}
	ctx := context.Background()
	bin, err := b.Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin).Output(); err != nil || string(out) != "v1" {
		t.Fatalf("built binary printed %q (%v)", out, err)
	}
	st1, _ := os.Stat(bin)
	again, err := b.Build(ctx, dir)
	if err != nil || again != bin {
		t.Fatalf("second build = %s, %v; want the cached %s", again, err, bin)
	}
	if st2, _ := os.Stat(again); !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("unchanged sources were rebuilt")
	}

	write(t, dir, map[string]string{"main.go": "package main\n\nfunc main() { notDefined() }\n"})
	_, err = b.Build(ctx, dir)
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(be.Output, "undefined: notDefined") {
		t.Fatalf("err = %v, want a BuildError naming the undefined function", err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Error("a failed build removed the previous binary")
	}
}

func FuzzPackageClause(f *testing.F) {
	f.Add([]byte("package main\n"))
	f.Add([]byte("/* a */ package x"))
	f.Add([]byte("//go:build ignore\n\n/*\n*/\npackage   y // c\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		name := packageClause(src)
		if strings.ContainsAny(name, " \t\n") {
			t.Fatalf("package name %q has spaces", name)
		}
	})
}
