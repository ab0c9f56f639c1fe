package watch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// collect runs a watcher on dir and returns a channel of batches.
func collect(t *testing.T, dir string) <-chan []string {
	t.Helper()
	batches := make(chan []string, 16)
	w, err := New(dir, Options{Debounce: 30 * time.Millisecond, OnChange: func(p []string) { batches <- p }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go w.Run(ctx)
	return batches
}

func next(t *testing.T, batches <-chan []string) []string {
	t.Helper()
	select {
	case b := <-batches:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported")
		return nil
	}
}

func mustWrite(t *testing.T, path, body string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReportsChangesAndSkipsIgnoredFolders(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"src", "node_modules/pkg", ".serverless", ".nimbus/gobuild", ".git"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	batches := collect(t, dir)

	// Writes in ignored folders first: if they were reported they would
	// arrive in the batch with the real change below.
	mustWrite(t, filepath.Join(dir, "node_modules/pkg/index.js"), "x")
	mustWrite(t, filepath.Join(dir, ".serverless/state.json"), "x")
	mustWrite(t, filepath.Join(dir, ".nimbus/gobuild/bin"), "x")
	mustWrite(t, filepath.Join(dir, ".git/index"), "x")
	mustWrite(t, filepath.Join(dir, "src/handler.js"), "v2")
	got := next(t, batches)
	if !slices.Equal(got, []string{filepath.Join(dir, "src/handler.js")}) {
		t.Errorf("batch = %v", got)
	}
}

func TestNewFoldersAreWatched(t *testing.T) {
	dir := t.TempDir()
	batches := collect(t, dir)
	os.MkdirAll(filepath.Join(dir, "lib", "deep"), 0o755)
	next(t, batches) // the new folder itself
	file := filepath.Join(dir, "lib", "deep", "x.py")
	deadline := time.Now().Add(5 * time.Second)
	for {
		// The folder may be added just after the first write; rewrite
		// until the watcher reports the file.
		mustWrite(t, file, "print(1)")
		select {
		case b := <-batches:
			if slices.Contains(b, file) {
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("change in a new folder never reported")
		}
	}
}

func TestIgnored(t *testing.T) {
	for name, want := range map[string]bool{"node_modules": true, ".serverless": true, ".nimbus": true, ".git": true, "src": false, "lib": false} {
		if Ignored(name) != want {
			t.Errorf("Ignored(%s) = %v", name, !want)
		}
	}
}
