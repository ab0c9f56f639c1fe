// Package watch reports file changes under a service folder in debounced
// batches, skipping folders that never hold function code (.serverless,
// .nimbus, node_modules, .git), so the pool can hot-reload functions.
package watch

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce groups the burst of events one save produces.
const DefaultDebounce = 100 * time.Millisecond

// Ignored reports whether a folder name is never watched.
func Ignored(name string) bool {
	switch name {
	case ".serverless", ".nimbus", "node_modules", ".git", "__pycache__", ".venv", ".idea", ".vscode":
		return true
	}
	return false
}

// Options configure Run.
type Options struct {
	// Debounce is how long Run waits for quiet before reporting a batch.
	Debounce time.Duration
	// OnChange receives each batch of changed absolute paths, sorted.
	OnChange func(paths []string)
	// OnError receives watcher errors (nil: ignored).
	OnError func(error)
}

// Watcher watches one directory tree. Start it with New; it runs until
// its context ends.
type Watcher struct {
	root string
	fsw  *fsnotify.Watcher
	opts Options
}

// New starts watching root and its subfolders (new ones included). Events
// are delivered once Run is called.
func New(root string, opts Options) (*Watcher, error) {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &Watcher{root: root, fsw: fsw, opts: opts}
	if err := w.addTree(root); err != nil {
		fsw.Close()
		return nil, err
	}
	return w, nil
}

// Run delivers batches to OnChange until ctx ends, then closes the watcher.
func (w *Watcher) Run(ctx context.Context) error {
	defer w.fsw.Close()
	pending := map[string]struct{}{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return nil
			}
			if w.skip(ev.Name) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					w.addTree(ev.Name)
				}
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			pending[ev.Name] = struct{}{}
			timer.Reset(w.opts.Debounce)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return nil
			}
			if w.opts.OnError != nil {
				w.opts.OnError(err)
			}
		case <-timer.C:
			if len(pending) == 0 {
				continue
			}
			batch := make([]string, 0, len(pending))
			for p := range pending {
				batch = append(batch, p)
			}
			sort.Strings(batch)
			pending = map[string]struct{}{}
			if w.opts.OnChange != nil {
				w.opts.OnChange(batch)
			}
		}
	}
}

// skip drops events inside ignored folders and editor scratch files.
func (w *Watcher) skip(path string) bool {
	rel, err := filepath.Rel(w.root, path)
	if err != nil {
		return true
	}
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if Ignored(part) {
			return true
		}
	}
	base := filepath.Base(path)
	return strings.HasSuffix(base, "~") || strings.HasSuffix(base, ".swp") || strings.HasPrefix(base, ".#")
}

func (w *Watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if path != dir && Ignored(d.Name()) {
			return filepath.SkipDir
		}
		return w.fsw.Add(path)
	})
}
