package pool

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/nimbusfw/nimbus/internal/local/runtimes"
	"github.com/nimbusfw/nimbus/internal/local/watch"
)

// Reload tells the pool that files changed (absolute paths). Functions
// whose code those files belong to get fresh instances: invocations in
// flight finish on the old instance, the next one starts on the new code.
// Go handlers are rebuilt first; when the build fails the error goes to the
// log and the old binary keeps serving. It returns the keys of the
// functions it reloaded.
func (p *Pool) Reload(ctx context.Context, changed []string) []string {
	var reloaded []string
	for _, fn := range p.order {
		fn.mu.Lock()
		launch := fn.launch
		fn.mu.Unlock()
		if launch == nil || !affects(launch, changed) {
			continue
		}
		if launch.Kind == runtimes.GoSource {
			if !fn.rebuild(ctx, launch) {
				continue
			}
		} else {
			fn.markStale(nil)
		}
		reloaded = append(reloaded, fn.cfg.Key)
	}
	return reloaded
}

// MarkStale makes the named function start new instances for the next
// invocations, re-resolving its code (and rebuilding Go sources).
func (p *Pool) MarkStale(function string) error {
	p.mu.Lock()
	fn := p.functions[function]
	p.mu.Unlock()
	if fn == nil {
		return &UnknownFunctionError{Function: function, Known: p.Functions()}
	}
	fn.resolveMu.Lock()
	fn.mu.Lock()
	fn.launch = nil
	fn.mu.Unlock()
	fn.resolveMu.Unlock()
	fn.markStale(nil)
	return nil
}

// rebuild builds the Go package again and swaps the binary in on success.
func (f *function) rebuild(ctx context.Context, old *runtimes.Launch) bool {
	f.resolveMu.Lock()
	defer f.resolveMu.Unlock()
	f.p.log.line(f.prefix, "source changed; rebuilding "+old.GoPackage)
	bin, err := f.p.resolver.Rebuild(ctx, old)
	if err != nil {
		for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
			f.p.log.line(f.prefix, line)
		}
		f.p.log.line(f.prefix, "build failed; still serving the previous build")
		return false
	}
	if bin == old.Path {
		return false
	}
	next := *old
	next.Path = bin
	f.markStale(&next)
	return true
}

// affects reports whether a change to any of paths can change what an
// instance of launch runs.
func affects(l *runtimes.Launch, paths []string) bool {
	for _, p := range paths {
		if !within(l.CodeRoot, p) {
			continue
		}
		switch l.Kind {
		case runtimes.GoSource:
			base := filepath.Base(p)
			if strings.HasSuffix(base, ".go") || base == "go.mod" || base == "go.sum" {
				return true
			}
		case runtimes.Binary:
			if p == l.Path || !strings.HasPrefix(filepath.Base(p), ".") {
				return true
			}
		default:
			return true
		}
	}
	return false
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Watch hot-reloads functions while ctx lasts: it watches the service
// folder and calls Reload with every batch of changes. It returns once the
// watcher is set up; `nimbus dev` calls it to enable hot reload.
func (p *Pool) Watch(ctx context.Context) error {
	w, err := watch.New(p.svc.Dir, watch.Options{
		OnChange: func(paths []string) {
			for _, key := range p.Reload(ctx, paths) {
				p.log.line(p.opts.Prefix(key), "code changed; next invocation starts a new instance")
			}
		},
		OnError: func(err error) { p.log.line("[watch] ", err.Error()) },
	})
	if err != nil {
		return err
	}
	go w.Run(ctx)
	return nil
}
