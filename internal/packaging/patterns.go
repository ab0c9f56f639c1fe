package packaging

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// defaultExcludes are the paths serverless v3 always leaves out of an
// artifact (package-service.js defaultExcludes). Note that they are
// anchored: ".DS_Store" excludes only the top-level file.
var defaultExcludes = []string{
	".git/**",
	".gitignore",
	".DS_Store",
	"npm-debug.log",
	"yarn-*.log",
	".serverless/**",
	".serverless_plugins/**",
}

// rawPattern is one pattern as written, before v3's negation rules, with
// where it came from so a problem can point at it.
type rawPattern struct {
	Text string
	Pos  diag.Pos
	Path string // key path in serverless.yml; "" for built-in patterns
}

// rule is one step of the ordered selection: files matching Glob are
// included (or excluded when Exclude is set); the last matching rule wins.
type rule struct {
	Glob    string // normalised: no leading "!" or "./"
	Exclude bool
	Src     rawPattern
	// prefix is the glob's literal start: a path without it cannot match,
	// which skips most glob evaluations when many zips are selected.
	prefix string
	// fromInclude marks rules from include/patterns lists: v3 also hands
	// those to globby.
	fromInclude bool
	// pruneGlobs are, for include negations, the brace-expanded
	// alternatives fast-glob also applies to directories while walking,
	// skipping everything below a match: those ending in "/**" or whose
	// last segment has no glob syntax ("!node_modules", "!**/test"), per
	// fast-glob's isAffectDepthOfReadingPattern.
	pruneGlobs []string
}

func (r rule) matches(rel string) bool {
	if !strings.HasPrefix(rel, r.prefix) {
		return false
	}
	ok, _ := doublestar.Match(r.Glob, rel)
	return ok
}

// ignores reports whether a globby negation keeps rel out of a task's
// listing: it matches the file, or prunes a directory the task walks
// through (one below the task's base directory; walk says whether the
// task walks at all, which a static pattern does not).
func (r rule) ignores(rel, base string, walk bool) bool {
	if r.matches(rel) {
		return true
	}
	if !walk || len(r.pruneGlobs) == 0 {
		return false
	}
	for p := rel; ; {
		i := strings.LastIndexByte(p, '/')
		if i < 0 || i <= len(base) {
			return false
		}
		p = p[:i]
		for _, g := range r.pruneGlobs {
			if ok, _ := doublestar.Match(g, p); ok {
				return true
			}
		}
	}
}

// globBase is the static directory a dynamic glob starts walking from
// (glob-parent): "node_modules/pkg" for "node_modules/pkg/*.js".
func globBase(glob string) string {
	segs := strings.Split(glob, "/")
	for i, seg := range segs {
		if !isStaticGlob(seg) {
			return strings.Join(segs[:i], "/")
		}
	}
	return path.Dir(glob)
}

// expandBraces expands comma alternatives as fast-glob does before
// matching: "{a,b}/x" → "a/x", "b/x". Nested braces are expanded from the
// first one outwards; a brace without a comma is kept as written.
func expandBraces(glob string) []string {
	open := -1
	depth := 0
	var commas []int
	for i := 0; i < len(glob); i++ {
		switch glob[i] {
		case '\\':
			i++
		case '{':
			if depth == 0 {
				open = i
				commas = nil
			}
			depth++
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		case '}':
			if depth == 0 {
				continue
			}
			depth--
			if depth == 0 {
				if len(commas) == 0 {
					rest := expandBraces(glob[i+1:])
					out := make([]string, len(rest))
					for k, r := range rest {
						out[k] = glob[:i+1] + r
					}
					return out
				}
				var out []string
				start := open + 1
				for _, c := range append(commas, i) {
					for _, alt := range expandBraces(glob[:open] + glob[start:c] + glob[i+1:]) {
						out = append(out, alt)
					}
					start = c + 1
				}
				return out
			}
		}
	}
	return []string{glob}
}

// Glob syntax as fast-glob's isDynamicPattern detects it.
var (
	globSymbols     = regexp.MustCompile(`[*?]|^!`)
	globClass       = regexp.MustCompile(`\[[^\[]*]`)
	globGroup       = regexp.MustCompile(`(?:^|[^!*+?@])\([^(]*\|[^|]*\)`)
	globExtension   = regexp.MustCompile(`[!*+?@]\([^(]*\)`)
	braceSeparators = regexp.MustCompile(`,|\.\.`)
)

// isStaticGlob reports whether a pattern has no glob syntax at all.
func isStaticGlob(p string) bool {
	if p == "" {
		return true
	}
	if strings.Contains(p, "\\") || globSymbols.MatchString(p) || globClass.MatchString(p) ||
		globGroup.MatchString(p) || globExtension.MatchString(p) {
		return false
	}
	if open := strings.Index(p, "{"); open >= 0 {
		if end := strings.Index(p[open+1:], "}"); end >= 0 && braceSeparators.MatchString(p[open:open+1+end]) {
			return false
		}
	}
	return true
}

// union appends the patterns of each list whose text is not already
// present, keeping the first occurrence, as lodash's _.union does in v3.
func union(lists ...[]rawPattern) []rawPattern {
	seen := map[string]bool{}
	var out []rawPattern
	for _, l := range lists {
		for _, p := range l {
			if seen[p.Text] {
				continue
			}
			seen[p.Text] = true
			out = append(out, p)
		}
	}
	return out
}

// rulesFor orders patterns exactly as v3's resolveFilePathsFromPatterns:
// every exclude (negated: "x" becomes "!x", "!x" becomes "x"), then every
// include as written, then the dev-dependency excludes, so those win over
// user includes. A user exclude equal to a dev-dependency glob moves to the
// end with them, because v3 skips it in the first pass.
func rulesFor(excludes, includes []rawPattern, devGlobs []string) []rule {
	devSet := map[string]bool{}
	for _, g := range devGlobs {
		devSet[g] = true
	}
	all := union(excludes, builtin(devGlobs))
	var rules []rule
	for _, p := range all {
		if devSet[p.Text] {
			continue
		}
		rules = append(rules, newRule(p, true))
	}
	for _, p := range includes {
		r := newRule(p, false)
		r.fromInclude = true
		if r.Exclude {
			for _, alt := range expandBraces(r.Glob) {
				if strings.HasSuffix(alt, "/**") || isStaticGlob(path.Base(alt)) {
					r.pruneGlobs = append(r.pruneGlobs, alt)
				}
			}
		}
		rules = append(rules, r)
	}
	for _, g := range uniqueStrings(devGlobs) {
		rules = append(rules, newRule(rawPattern{Text: g}, true))
	}
	return rules
}

// newRule reads one pattern; negate says it came from an exclude list.
func newRule(p rawPattern, negate bool) rule {
	text := p.Text
	exclude := negate
	if strings.HasPrefix(text, "!") {
		text = text[1:]
		exclude = !exclude
	}
	glob := normaliseGlob(text)
	return rule{Glob: glob, Exclude: exclude, Src: p, prefix: literalPrefix(glob)}
}

// literalPrefix is the part of a glob before its first special character.
func literalPrefix(glob string) string {
	if i := strings.IndexAny(glob, "*?[{\\"); i >= 0 {
		return glob[:i]
	}
	return glob
}

// normaliseGlob drops leading "./" as micromatch does, so "./bin/**"
// matches "bin/x".
func normaliseGlob(g string) string {
	for strings.HasPrefix(g, "./") {
		g = g[2:]
	}
	return g
}

// selectFiles applies rules to the walked files the way v3's
// resolveFilePathsFromPatterns does: a file must first be listed by
// globby(["**", ...includes]), then the last matching rule decides, a file
// no rule matches staying included.
func selectFiles(t *tree, rules []rule) []int {
	var out []int
	for i, f := range t.files {
		if listedByGlobby(f.Rel, rules) && included(f.Rel, rules) {
			out = append(out, i)
		}
	}
	return out
}

// listedByGlobby reports whether globby lists rel for the pattern list
// ["**", ...includes]. Globby runs one task per positive pattern, ignoring
// the negative patterns that follow it; fast-glob applies an ignore to
// some of them to directories and skips those whole, so "!node_modules"
// drops every file below node_modules, unlike the per-file pass that
// follows (where it matches only a file named node_modules).
func listedByGlobby(rel string, rules []rule) bool {
	first := len(rules)
	for i, r := range rules {
		if r.fromInclude {
			first = i
			break
		}
	}
	includes := rules[first:]
	ignoredAfter := func(i int, base string, walk bool) bool { // by a negation at index > i
		for _, r := range includes[i+1:] {
			if r.fromInclude && r.Exclude && r.ignores(rel, base, walk) {
				return true
			}
		}
		return false
	}
	if !ignoredAfter(-1, "", true) { // the "**" task
		return true
	}
	for i, r := range includes {
		if !r.fromInclude || r.Exclude || !r.matches(rel) {
			continue
		}
		// A static pattern is looked up directly, without walking.
		if walk := !isStaticGlob(r.Glob); !ignoredAfter(i, globBase(r.Glob), walk) {
			return true
		}
	}
	return false
}

func included(rel string, rules []rule) bool {
	for i := len(rules) - 1; i >= 0; i-- {
		if rules[i].matches(rel) {
			return !rules[i].Exclude
		}
	}
	return true
}

// checkRules reports patterns that cannot work: invalid globs, and
// includes reaching outside the packaged directory. v3 would add such files
// under "../" names, which unzip outside the function's code directory.
func checkRules(rules []rule, ds *diag.Diagnostics) {
	for _, r := range rules {
		if r.Src.Path == "" {
			continue
		}
		if !doublestar.ValidatePattern(r.Glob) {
			ds.Errorf(r.Src.Pos, r.Src.Path, "invalid package pattern %q", r.Src.Text)
			continue
		}
		if !r.Exclude && escapes(r.Glob) {
			ds.Append(diag.Diagnostic{
				Severity: diag.Error,
				Pos:      r.Src.Pos,
				Path:     r.Src.Path,
				Width:    len(r.Src.Text),
				Summary:  fmt.Sprintf("package pattern %q reaches outside the service directory", r.Src.Text),
				Detail:   "Files outside the service directory would be stored under \"../\" names, which Lambda cannot unpack below its code directory. Copy or link them into the service directory (links must stay inside it) and match them there.",
			})
		}
	}
}

// escapes reports whether a glob names paths above or outside its root.
func escapes(glob string) bool {
	if strings.HasPrefix(glob, "/") || glob == ".." || strings.HasPrefix(glob, "../") {
		return true
	}
	return strings.Contains(glob, "/../") || strings.HasSuffix(glob, "/..")
}

// patternsAt reads a list of patterns from a package block key such as
// "patterns", remembering each one's position and key path.
func patternsAt(pkg *config.Node, key, prefix string) []rawPattern {
	list := pkg.Get(key)
	if list == nil {
		return nil
	}
	var out []rawPattern
	for i, it := range list.Items {
		s, ok := it.Str()
		if !ok {
			continue
		}
		out = append(out, rawPattern{Text: s, Pos: it.Pos, Path: fmt.Sprintf("%s.%s[%d]", prefix, key, i)})
	}
	return out
}

func builtin(texts []string) []rawPattern {
	out := make([]rawPattern, len(texts))
	for i, t := range texts {
		out[i] = rawPattern{Text: t}
	}
	return out
}

func uniqueStrings(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
