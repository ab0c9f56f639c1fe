package packaging

import (
	"encoding/json"
	"os"
	"path"
	"sort"
	"strings"
)

// packageJSON holds the package.json fields dependency pruning reads.
type packageJSON struct {
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	Bin                  json.RawMessage   `json:"bin"`
}

// devDependencyGlobs returns the exclude globs serverless v3 derives from
// `npm ls --dev` minus `npm ls --prod` (zip-service.js
// excludeNodeDevDependencies), computed from the installed node_modules
// tree instead of running npm: for every package.json outside node_modules,
// the installed packages reachable only through devDependencies are
// excluded ("<path>/**"), along with their .bin entries (named as v3 names
// them, scoped packages included).
func devDependencyGlobs(t *tree) []string {
	var projects []string
	for _, f := range t.files {
		if path.Base(f.Rel) == "package.json" && !strings.Contains(f.Rel, "node_modules") {
			projects = append(projects, f.Rel)
		}
	}
	var devOnly []string
	for _, p := range projects {
		devOnly = append(devOnly, devOnlyPackages(t, path.Dir(p))...)
	}
	devOnly = uniqueStrings(devOnly)
	sort.Strings(devOnly)
	var globs []string
	for _, item := range devOnly {
		pkg, ok := readPackageJSON(t, item+"/package.json")
		if !ok {
			continue // v3 skips a package whose package.json cannot be read
		}
		globs = append(globs, item+"/**")
		i := strings.LastIndex(item, "/") + 1
		modulePath, moduleName := item[:i], item[i:]
		for _, exe := range binNames(pkg.Bin, moduleName) {
			globs = append(globs, modulePath+".bin/"+exe)
		}
	}
	return globs
}

// binNames lists the executables a package links into .bin: the keys of
// an object "bin", or the package's own (unscoped) name for a string one.
func binNames(raw json.RawMessage, moduleName string) []string {
	if len(raw) == 0 {
		return nil
	}
	var asString string
	if json.Unmarshal(raw, &asString) == nil {
		return []string{moduleName}
	}
	var asMap map[string]any
	if json.Unmarshal(raw, &asMap) == nil {
		names := make([]string, 0, len(asMap))
		for k := range asMap {
			names = append(names, k)
		}
		sort.Strings(names)
		return names
	}
	return nil
}

// devOnlyPackages walks the installed tree of the project in dir (a
// tree-relative folder, "." for the root) the way npm resolves modules:
// a dependency of the package at P is P/node_modules/<name>, else the same
// name in each enclosing node_modules up to the project's own. It returns
// the installed package folders reachable from devDependencies but not from
// dependencies, optionalDependencies or peerDependencies.
func devOnlyPackages(t *tree, dir string) []string {
	if dir == "." {
		dir = ""
	}
	root, ok := readPackageJSON(t, join(dir, "package.json"))
	if !ok {
		return nil
	}
	cache := map[string]*packageJSON{}
	load := func(pkgDir string) *packageJSON {
		if p, ok := cache[pkgDir]; ok {
			return p
		}
		p, _ := readPackageJSON(t, pkgDir+"/package.json")
		cache[pkgDir] = p
		return p
	}
	resolve := func(from, name string) string {
		for {
			cand := join(from, "node_modules/"+name)
			if t.has(cand + "/package.json") {
				return cand
			}
			if from == dir {
				return ""
			}
			i := strings.LastIndex(from, "/node_modules/")
			if i < 0 || i < len(dir) {
				from = dir
			} else {
				from = from[:i]
			}
		}
	}
	reach := func(start []string) map[string]bool {
		seen := map[string]bool{}
		queue := append([]string(nil), start...)
		for len(queue) > 0 {
			pkgDir := queue[0]
			queue = queue[1:]
			if seen[pkgDir] {
				continue
			}
			seen[pkgDir] = true
			p := load(pkgDir)
			if p == nil {
				continue
			}
			for _, name := range prodDeps(p) {
				if d := resolve(pkgDir, name); d != "" && !seen[d] {
					queue = append(queue, d)
				}
			}
		}
		return seen
	}
	var prodStart, devStart []string
	for _, name := range prodDeps(root) {
		if d := resolve(dir, name); d != "" {
			prodStart = append(prodStart, d)
		}
	}
	for _, name := range sortedKeys(root.DevDependencies) {
		if d := resolve(dir, name); d != "" {
			devStart = append(devStart, d)
		}
	}
	prod := reach(prodStart)
	dev := reach(devStart)
	var out []string
	for d := range dev {
		if !prod[d] {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

func prodDeps(p *packageJSON) []string {
	names := sortedKeys(p.Dependencies)
	names = append(names, sortedKeys(p.OptionalDependencies)...)
	names = append(names, sortedKeys(p.PeerDependencies)...)
	return uniqueStrings(names)
}

func readPackageJSON(t *tree, rel string) (*packageJSON, bool) {
	i, ok := t.byRel[rel]
	if !ok {
		return nil, false
	}
	data, err := os.ReadFile(t.files[i].Abs)
	if err != nil {
		return nil, false
	}
	var p packageJSON
	if json.Unmarshal(data, &p) != nil {
		return nil, false
	}
	return &p, true
}

func join(dir, rel string) string {
	if dir == "" {
		return rel
	}
	return dir + "/" + rel
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
