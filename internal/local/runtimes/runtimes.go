// Package runtimes decides how to start one function instance on this
// machine: which executable, arguments, task root and handler, for the Go /
// custom runtimes (a bootstrap binary, built from source when needed) and
// for Node.js and Python through Runtime API loops embedded in Nimbus.
package runtimes

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nimbusfw/nimbus/internal/local/gobuild"
	"github.com/nimbusfw/nimbus/internal/service"
)

//go:embed bootstrap/node.cjs
var nodeBootstrap []byte

//go:embed bootstrap/python.py
var pythonBootstrap []byte

// Kind is how an instance's code is produced, which decides what a source
// change means for it.
type Kind uint8

const (
	// Interpreted code (Node, Python) is read at instance start.
	Interpreted Kind = iota
	// GoSource is a main package Nimbus builds; changes need a rebuild.
	GoSource
	// Binary is a prebuilt executable the user provides.
	Binary
)

// Launch says how to start an instance of one function.
type Launch struct {
	Runtime string
	Kind    Kind
	// Path and Args form the command line.
	Path string
	Args []string
	// TaskRoot is the working directory and LAMBDA_TASK_ROOT.
	TaskRoot string
	// Handler is exported as _HANDLER.
	Handler string
	// Env holds runtime-specific variables (KEY=VALUE).
	Env []string
	// GoPackage is the main package directory for Kind GoSource.
	GoPackage string
	// CodeRoot is the directory whose changes make instances stale.
	CodeRoot string
	// Notes are things the user should know about this launch (e.g. a
	// layer that is not available locally).
	Notes []string
}

// UnsupportedError reports a runtime Nimbus cannot run locally.
type UnsupportedError struct{ Runtime string }

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("runtime %s is not supported locally (supported: nodejs*, python3.*, provided.al2, provided.al2023, provided, go1.x)", e.Runtime)
}

// Resolver turns functions into Launches, keeping extracted artifacts, the
// embedded bootstraps and Go builds under CacheDir.
type Resolver struct {
	CacheDir string
	Builder  *gobuild.Builder

	once      sync.Once
	bootDir   string
	bootErr   error
	artifacts sync.Mutex

	pythonMu sync.Mutex
	python   map[string]string
}

// NewResolver keeps its files below cacheDir (e.g. <service>/.nimbus).
func NewResolver(cacheDir string) *Resolver {
	return &Resolver{CacheDir: cacheDir, Builder: &gobuild.Builder{CacheDir: filepath.Join(cacheDir, "gobuild")}}
}

// Supported reports whether runtime can run locally.
func Supported(runtime string) bool {
	switch {
	case strings.HasPrefix(runtime, "nodejs"), strings.HasPrefix(runtime, "python3"),
		runtime == "provided", runtime == "provided.al2", runtime == "provided.al2023", runtime == "go1.x":
		return true
	}
	return false
}

// Resolve prepares fn to run: it extracts a prebuilt artifact and builds Go
// sources as needed. Errors are user-facing.
func (r *Resolver) Resolve(ctx context.Context, svc *service.Service, fn *service.Function) (*Launch, error) {
	if fn.Image != nil {
		return nil, fmt.Errorf("function %s is a container image; images are not run locally", fn.Key)
	}
	if !Supported(fn.Runtime) {
		return nil, &UnsupportedError{Runtime: fn.Runtime}
	}
	root := svc.Dir
	if art := firstNonEmpty(fn.Package.Artifact, svc.Package.Artifact); art != "" {
		dir, err := r.extract(resolvePath(svc.Dir, art))
		if err != nil {
			return nil, fmt.Errorf("function %s: package.artifact: %w", fn.Key, err)
		}
		root = dir
	}
	l := &Launch{Runtime: fn.Runtime, TaskRoot: root, Handler: fn.Handler, CodeRoot: root}
	switch {
	case strings.HasPrefix(fn.Runtime, "nodejs"):
		node, err := exec.LookPath("node")
		if err != nil {
			return nil, fmt.Errorf("runtime %s needs `node` on PATH", fn.Runtime)
		}
		boot, err := r.bootstraps()
		if err != nil {
			return nil, err
		}
		l.Kind, l.Path, l.Args = Interpreted, node, []string{filepath.Join(boot, "node.cjs")}
	case strings.HasPrefix(fn.Runtime, "python3"):
		py, err := r.findPython(fn.Runtime)
		if err != nil {
			return nil, err
		}
		boot, err := r.bootstraps()
		if err != nil {
			return nil, err
		}
		l.Kind, l.Path, l.Args = Interpreted, py, []string{"-u", filepath.Join(boot, "python.py")}
		l.Env = []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}
	default:
		if err := r.resolveNative(ctx, fn, l); err != nil {
			return nil, err
		}
	}
	env, notes := layerEnv(svc, fn, os.Getenv("PATH"))
	l.Env = append(l.Env, env...)
	l.Notes = append(l.Notes, notes...)
	return l, nil
}

// resolveNative finds the executable of a go1.x / provided function: a
// prebuilt bootstrap or handler binary, else a Go main package to build.
func (r *Resolver) resolveNative(ctx context.Context, fn *service.Function, l *Launch) error {
	handler := fn.Handler
	var binaries, packages []string
	if strings.HasPrefix(fn.Runtime, "provided") {
		binaries = append(binaries, filepath.Join(l.TaskRoot, "bootstrap"))
	}
	if handler != "" {
		h := resolvePath(l.TaskRoot, handler)
		binaries = append(binaries, h)
		if strings.HasSuffix(h, ".go") {
			packages = append(packages, filepath.Dir(h))
		}
		packages = append(packages, h)
		// Makefiles commonly build bin/NAME from NAME/ or cmd/NAME/.
		base := filepath.Base(h)
		packages = append(packages, filepath.Join(l.TaskRoot, base), filepath.Join(l.TaskRoot, "cmd", base),
			filepath.Join(l.TaskRoot, "functions", base), filepath.Join(l.TaskRoot, "src", base))
	}
	packages = append(packages, l.TaskRoot)
	var unusable error
	for _, b := range binaries {
		if st, err := os.Stat(b); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			if err := checkExecutable(b); err != nil {
				// A binary built for another platform: a Go source
				// package below may still be built for this one.
				if unusable == nil {
					unusable = fmt.Errorf("function %s: %s: %w", fn.Key, relAll(l.TaskRoot, []string{b})[0], err)
				}
				continue
			}
			l.Kind, l.Path = Binary, b
			return nil
		}
	}
	for _, p := range packages {
		if gobuild.IsMainPackage(p) {
			bin, err := r.Builder.Build(ctx, p)
			if err != nil {
				return err
			}
			l.Kind, l.Path, l.GoPackage = GoSource, bin, p
			if mod := gobuild.ModuleRoot(p); mod != "" {
				l.CodeRoot = mod
			} else {
				l.CodeRoot = p
			}
			return nil
		}
	}
	if unusable != nil {
		return unusable
	}
	return fmt.Errorf("function %s (%s): no executable %s and no Go main package to build it from",
		fn.Key, fn.Runtime, strings.Join(relAll(l.TaskRoot, binaries), " or "))
}

// Rebuild builds l's Go package again and, on success, points l at the new
// binary. On failure l keeps the old binary.
func (r *Resolver) Rebuild(ctx context.Context, l *Launch) (string, error) {
	if l.Kind != GoSource {
		return l.Path, nil
	}
	return r.Builder.Build(ctx, l.GoPackage)
}

// bootstraps writes the embedded runtime loops once per content version.
func (r *Resolver) bootstraps() (string, error) {
	r.once.Do(func() {
		h := sha256.New()
		h.Write(nodeBootstrap)
		h.Write(pythonBootstrap)
		dir := filepath.Join(r.CacheDir, "runtimes", hex.EncodeToString(h.Sum(nil))[:12])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			r.bootErr = err
			return
		}
		for name, data := range map[string][]byte{"node.cjs": nodeBootstrap, "python.py": pythonBootstrap} {
			if err := writeFileAtomic(filepath.Join(dir, name), data); err != nil {
				r.bootErr = err
				return
			}
		}
		r.bootDir = dir
	})
	return r.bootDir, r.bootErr
}

func writeFileAtomic(path string, data []byte) error {
	if cur, err := os.ReadFile(path); err == nil && string(cur) == string(data) {
		return nil
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// findPython prefers the exact minor version (python3.12), else python3,
// taking the first that actually starts: version managers such as pyenv
// put shims on PATH for versions that are not installed. It returns the
// interpreter itself rather than the shim.
func (r *Resolver) findPython(runtime string) (string, error) {
	r.pythonMu.Lock()
	defer r.pythonMu.Unlock()
	if p, ok := r.python[runtime]; ok {
		return p, nil
	}
	for _, name := range []string{runtime, "python3"} {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		// The probe also names the real interpreter behind a shim, so
		// instances start without the shim's own start-up cost.
		out, err := exec.Command(p, "-c", "import sys; print(sys.executable)").Output()
		if err != nil {
			continue
		}
		if real := strings.TrimSpace(string(out)); real != "" {
			if st, err := os.Stat(real); err == nil && st.Mode().IsRegular() {
				p = real
			}
		}
		if r.python == nil {
			r.python = map[string]string{}
		}
		r.python[runtime] = p
		return p, nil
	}
	return "", fmt.Errorf("runtime %s needs a working `%s` or `python3` on PATH", runtime, runtime)
}

// extract unzips a prebuilt artifact once per content hash.
func (r *Resolver) extract(zipPath string) (string, error) {
	r.artifacts.Lock()
	defer r.artifacts.Unlock()
	f, err := os.Open(zipPath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	dir := filepath.Join(r.CacheDir, "artifacts", hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return "", err
	}
	defer zr.Close()
	os.RemoveAll(dir)
	for _, zf := range zr.File {
		target := filepath.Join(dir, filepath.FromSlash(zf.Name))
		if !strings.HasPrefix(target, dir+string(filepath.Separator)) {
			return "", fmt.Errorf("%s: entry %q escapes the archive", zipPath, zf.Name)
		}
		if zf.FileInfo().IsDir() {
			os.MkdirAll(target, 0o755)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return "", err
		}
		if err := unzipFile(zf, target); err != nil {
			return "", err
		}
	}
	return dir, os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
}

func unzipFile(zf *zip.File, target string) error {
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	mode := zf.Mode().Perm()
	if mode == 0 {
		mode = 0o644
	}
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func relAll(dir string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		if r, err := filepath.Rel(dir, p); err == nil {
			out[i] = r
		} else {
			out[i] = p
		}
	}
	return out
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
