package packaging

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// handlerFiles returns the files that can hold a function's handler, for
// runtimes whose handler names a source file (Node.js, Python, Ruby), as
// their Lambda runtimes resolve it; ok is false for other runtimes (Java,
// .NET, Go, provided) whose handler is not a file in the zip we can check.
func handlerFiles(runtime, handler string) (files []string, ok bool) {
	dir, base := path.Split(handler)
	switch {
	case strings.HasPrefix(runtime, "nodejs"):
		// The Node.js runtime splits "dir/file.export.path" at the first dot
		// of the last segment and requires dir/file like `require` does.
		mod := dir + strings.SplitN(base, ".", 2)[0]
		for _, ext := range []string{"", ".js", ".mjs", ".cjs", ".json", ".node",
			// TypeScript sources count: bundler plugins (esbuild, webpack,
			// serverless-plugin-typescript) compile them at package time.
			".ts", ".mts", ".cts"} {
			files = append(files, mod+ext)
		}
		for _, idx := range []string{"/index.js", "/index.mjs", "/index.cjs", "/index.ts", "/package.json"} {
			files = append(files, mod+idx)
		}
		return files, true
	case strings.HasPrefix(runtime, "python"):
		// Python splits at the last dot: "dir/pkg.mod.func" imports
		// module pkg.mod from dir.
		i := strings.LastIndex(base, ".")
		if i < 0 {
			return nil, false
		}
		mod := dir + strings.ReplaceAll(base[:i], ".", "/")
		return []string{mod + ".py", mod + ".pyc", mod + "/__init__.py"}, true
	case strings.HasPrefix(runtime, "ruby"):
		// Ruby: "dir/file.Module::Class.method" loads dir/file.rb.
		return []string{dir + strings.SplitN(base, ".", 2)[0] + ".rb"}, true
	}
	return nil, false
}

// checkHandlers reports functions whose handler file is missing (an
// error: the function could never start) or left out of its zip by
// package patterns (a warning: a build plugin may add it).
func (p *planner) checkHandlers() {
	for _, f := range p.svc.Functions {
		if f.Image != nil || f.Handler == "" {
			continue
		}
		var entries []zipEntry
		switch {
		case p.fnJobs[f.Key] != nil:
			entries = p.fnJobs[f.Key].Entries
		case p.serviceJob != nil && contains(p.useService, f.Key):
			entries = p.serviceJob.Entries
		default:
			continue // prebuilt artifact, disabled, or nothing packaged
		}
		candidates, ok := handlerFiles(f.Runtime, f.Handler)
		if !ok {
			continue
		}
		p.checkHandler(f, candidates, entries)
	}
}

func (p *planner) checkHandler(f *service.Function, candidates []string, entries []zipEntry) {
	node := f.Raw.Get("handler")
	pos := posOf(node, f.Raw)
	keyPath := "functions." + f.Key + ".handler"
	var onDisk []string
	for _, c := range candidates {
		if strings.HasPrefix(path.Clean(c), "../") {
			continue
		}
		if info, err := os.Stat(filepath.Join(p.svc.Dir, filepath.FromSlash(c))); err == nil && !info.IsDir() {
			onDisk = append(onDisk, path.Clean(c))
		}
	}
	if len(onDisk) == 0 {
		p.ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: pos, Path: keyPath, Width: len(f.Handler),
			Summary: fmt.Sprintf("function %q: handler file for %q not found", f.Key, f.Handler),
			Detail:  fmt.Sprintf("Looked for %s in %s (runtime %s).", strings.Join(shortList(candidates), ", "), p.svc.Dir, f.Runtime)})
		return
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name] = true
	}
	for _, c := range onDisk {
		if names[c] {
			return
		}
	}
	p.ds.Append(diag.Diagnostic{Severity: diag.Warning, Pos: pos, Path: keyPath, Width: len(f.Handler),
		Summary: fmt.Sprintf("function %q: handler file %s is excluded by the package patterns", f.Key, onDisk[0]),
		Detail:  "The deployed function will fail to start unless a plugin adds the file; check package.patterns."})
}

// shortList keeps a diagnostic readable: the first few candidates only.
func shortList(c []string) []string {
	if len(c) > 4 {
		return append(append([]string(nil), c[:4]...), "…")
	}
	return c
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
