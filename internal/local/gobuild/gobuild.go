// Package gobuild compiles a Go main package into a Lambda bootstrap binary
// with the local go toolchain, caching the result by a hash of the module's
// sources so unchanged handlers start without a rebuild.
package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// BuildError is a failed `go build`; Output holds the compiler's messages.
type BuildError struct {
	Package string
	Output  string
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("go build %s failed:\n%s", e.Package, strings.TrimRight(e.Output, "\n"))
}

// IsMainPackage reports whether dir holds Go files of package main.
func IsMainPackage(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		head := make([]byte, 4096)
		n, _ := io.ReadFull(f, head)
		f.Close()
		if packageClause(head[:n]) == "main" {
			return true
		}
	}
	return false
}

// packageClause finds the package name, skipping comments and build tags.
func packageClause(src []byte) string {
	inBlock := false
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if inBlock {
			if i := strings.Index(line, "*/"); i >= 0 {
				line = strings.TrimSpace(line[i+2:])
				inBlock = false
			} else {
				continue
			}
		}
		if strings.HasPrefix(line, "/*") {
			end := strings.Index(line[2:], "*/")
			if end < 0 {
				inBlock = true
				continue
			}
			line = strings.TrimSpace(line[2+end+2:])
		}
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "package "); ok {
			return strings.Fields(rest)[0]
		}
		return ""
	}
	return ""
}

// ModuleRoot is the nearest directory at or above dir holding go.mod, or ""
// when dir is not inside a module.
func ModuleRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// SourceHash hashes what can change the binary built from pkgDir: the
// files of pkgDir and of every package of the same module it imports,
// transitively, plus go.mod, go.sum and go.work. Following imports instead
// of hashing the whole module keeps this cheap in large repositories.
func SourceHash(pkgDir string) (string, error) {
	root := ModuleRoot(pkgDir)
	modPath := ""
	if root != "" {
		modPath = modulePath(filepath.Join(root, "go.mod"))
	} else {
		root = pkgDir
	}
	h := sha256.New()
	rel, _ := filepath.Rel(root, pkgDir)
	fmt.Fprintf(h, "pkg %s\n", rel)
	for _, name := range []string{"go.mod", "go.sum", "go.work"} {
		if data, err := os.ReadFile(filepath.Join(root, name)); err == nil {
			fmt.Fprintf(h, "file %s %d\n", name, len(data))
			h.Write(data)
		}
	}
	seen := map[string]bool{pkgDir: true}
	queue := []string{pkgDir}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			path := filepath.Join(dir, e.Name())
			data, err := os.ReadFile(path)
			if err != nil {
				return "", err
			}
			r, _ := filepath.Rel(root, path)
			fmt.Fprintf(h, "file %s %d\n", r, len(data))
			h.Write(data)
			if !strings.HasSuffix(e.Name(), ".go") || modPath == "" {
				continue
			}
			for _, imp := range imports(data) {
				if imp != modPath && !strings.HasPrefix(imp, modPath+"/") {
					continue
				}
				dep := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(imp, modPath)))
				if !seen[dep] {
					seen[dep] = true
					queue = append(queue, dep)
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// imports lists a Go file's import paths; unparsable files list none (the
// build will report them).
func imports(src []byte) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.ImportsOnly)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(f.Imports))
	for _, imp := range f.Imports {
		if p, err := strconv.Unquote(imp.Path.Value); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// modulePath reads the module directive of a go.mod file.
func modulePath(goMod string) string {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// Builder builds and caches binaries under CacheDir.
type Builder struct {
	CacheDir string
	// Go is the go command (default "go" from PATH).
	Go string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// Build returns the path of a binary built from the main package in pkgDir,
// building it only when no binary for the current sources is cached.
func (b *Builder) Build(ctx context.Context, pkgDir string) (string, error) {
	pkgDir, err := filepath.Abs(pkgDir)
	if err != nil {
		return "", err
	}
	key, err := SourceHash(pkgDir)
	if err != nil {
		return "", fmt.Errorf("hashing Go sources of %s: %w", pkgDir, err)
	}
	out := filepath.Join(b.CacheDir, key, "bootstrap")
	lock := b.lock(key)
	lock.Lock()
	defer lock.Unlock()
	if st, err := os.Stat(out); err == nil && st.Mode().IsRegular() {
		return out, nil
	}
	goCmd := b.Go
	if goCmd == "" {
		goCmd = "go"
	}
	if _, err := exec.LookPath(goCmd); err != nil {
		return "", errors.New("building the Go handler in " + pkgDir + " needs the go toolchain on PATH")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", tmp, ".")
	cmd.Dir = pkgDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", &BuildError{Package: pkgDir, Output: output.String()}
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, nil
}

func (b *Builder) lock(key string) *sync.Mutex {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locks == nil {
		b.locks = map[string]*sync.Mutex{}
	}
	l := b.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		b.locks[key] = l
	}
	return l
}
