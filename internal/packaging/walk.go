package packaging

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// treeFile is one regular file found under a walked directory.
type treeFile struct {
	// Rel is the slash-separated path below the walked directory; it is the
	// name patterns are matched against and the zip entry name.
	Rel string
	// Abs is the path to read. Through a symlink it still names the link,
	// so reading follows it exactly as serverless v3 (globby follow:true) does.
	Abs string
	// EscapeLink is the walked-relative path of the symlink through which
	// this file leaves the walked directory ("" for files inside it).
	EscapeLink string
	// EscapeTarget is where that link points (resolved).
	EscapeTarget string
	// Broken is set for a symlink whose target does not exist.
	Broken bool
}

// tree is the result of walking a directory once. Every artifact built from
// the same directory selects from this list instead of walking again.
type tree struct {
	root  string
	files []treeFile // sorted by Rel
	byRel map[string]int
}

// walkTree lists every file below root, following symlinks as v3 does.
// A file reached through a link whose target lies outside boundary is
// marked as escaping. Directories whose real path is already being walked
// (symlink loops) are skipped; skip (absolute) names a directory left out
// entirely, such as the output directory when it lies inside the service.
func walkTree(root, boundary string, skip []string) (*tree, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	realBoundary, err := filepath.EvalSymlinks(boundary)
	if err != nil {
		return nil, err
	}
	w := &walker{root: root, realBoundary: realBoundary, skip: map[string]bool{}}
	for _, s := range skip {
		if s != "" {
			w.skip[filepath.Clean(s)] = true
		}
	}
	if err := w.dir(root, realRoot, "", "", "", map[string]bool{realRoot: true}); err != nil {
		return nil, err
	}
	t := &tree{root: root, files: w.files}
	t.index()
	return t, nil
}

func (t *tree) index() {
	sort.Slice(t.files, func(i, j int) bool { return t.files[i].Rel < t.files[j].Rel })
	t.byRel = make(map[string]int, len(t.files))
	for i, f := range t.files {
		t.byRel[f.Rel] = i
	}
}

// has reports whether rel names a walked file.
func (t *tree) has(rel string) bool {
	_, ok := t.byRel[rel]
	return ok
}

type walker struct {
	root, realBoundary string
	skip               map[string]bool
	files              []treeFile
}

// dir walks abs (shown as rel, really at real). escLink/escTarget carry the
// escaping symlink through which this directory was reached, if any; active
// holds the real paths of the directories on the current descent, so a link
// back to one of them (a loop) is not followed again.
func (w *walker) dir(abs, real, rel, escLink, escTarget string, active map[string]bool) error {
	entries, err := os.ReadDir(abs)
	if err != nil {
		if rel == "" {
			return err
		}
		// An unreadable subdirectory is skipped, as globby (silent:true) does.
		return nil
	}
	for _, e := range entries {
		childAbs := filepath.Join(abs, e.Name())
		childRel := e.Name()
		if rel != "" {
			childRel = rel + "/" + e.Name()
		}
		if w.skip[childAbs] {
			continue
		}
		typ := e.Type()
		switch {
		case typ.IsDir():
			// A plain subdirectory of a real path is itself a real path.
			childReal := filepath.Join(real, e.Name())
			active[childReal] = true
			err := w.dir(childAbs, childReal, childRel, escLink, escTarget, active)
			delete(active, childReal)
			if err != nil {
				return err
			}
		case typ&fs.ModeSymlink != 0:
			if err := w.link(childAbs, childRel, escLink, escTarget, active); err != nil {
				return err
			}
		case typ.IsRegular():
			w.files = append(w.files, treeFile{Rel: childRel, Abs: childAbs, EscapeLink: escLink, EscapeTarget: escTarget})
		}
		// Sockets, devices and pipes are not packageable content.
	}
	return nil
}

func (w *walker) link(abs, rel, escLink, escTarget string, active map[string]bool) error {
	target, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.files = append(w.files, treeFile{Rel: rel, Abs: abs, Broken: true})
			return nil
		}
		// A link loop (ELOOP) or unreadable target: nothing to package.
		return nil
	}
	info, err := os.Stat(target)
	if err != nil {
		return nil
	}
	if escLink == "" && !within(w.realBoundary, target) {
		escLink, escTarget = rel, target
	}
	if info.IsDir() {
		if active[target] {
			return nil
		}
		active[target] = true
		defer delete(active, target)
		return w.dir(abs, target, rel, escLink, escTarget, active)
	}
	if info.Mode().IsRegular() {
		w.files = append(w.files, treeFile{Rel: rel, Abs: abs, EscapeLink: escLink, EscapeTarget: escTarget})
	}
	return nil
}

// within reports whether path is root or lies below it.
func within(root, path string) bool {
	if path == root {
		return true
	}
	return strings.HasPrefix(path, strings.TrimSuffix(root, string(filepath.Separator))+string(filepath.Separator))
}
