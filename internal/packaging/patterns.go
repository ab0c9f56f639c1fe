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
	// static says the glob has no glob syntax: it names one path.
	static bool
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
	return rule{Glob: glob, Exclude: exclude, Src: p, prefix: literalPrefix(glob), static: isStaticGlob(glob)}
}

// literalPrefix is the part of a glob before its first special character,
// less the slash of a final "/**", which also matches the folder itself.
func literalPrefix(glob string) string {
	i := strings.IndexAny(glob, "*?[{\\")
	if i < 0 {
		return glob
	}
	if i > 0 && glob[i:] == "**" && glob[i-1] == '/' {
		return glob[:i-1]
	}
	return glob[:i]
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
	head, tail := splitLiteralTail(rules)
	tasks := newGlobbyTasks(rules)
	var out []int
	for i, f := range t.files {
		if !tasks.listed(f.Rel) {
			continue
		}
		if tail.matches(f.Rel) {
			if !tail.exclude {
				out = append(out, i)
			}
			continue
		}
		if included(f.Rel, head) {
			out = append(out, i)
		}
	}
	return out
}

// literalTail is a run of final rules with the same direction whose globs
// are plain paths or "dir/**": the dev-dependency excludes, hundreds in a
// large project. Checked first (they come last, so they win), a map lookup
// per parent directory replaces a glob match per rule.
type literalTail struct {
	exclude bool
	exact   map[string]bool // "path" rules
	under   map[string]bool // "dir/**" rules, by dir
}

func splitLiteralTail(rules []rule) ([]rule, literalTail) {
	tail := literalTail{exact: map[string]bool{}, under: map[string]bool{}}
	i := len(rules)
	for i > 0 {
		r := rules[i-1]
		if r.fromInclude || (i < len(rules) && r.Exclude != tail.exclude) {
			break
		}
		if dir, ok := strings.CutSuffix(r.Glob, "/**"); ok && r.prefix == dir {
			tail.under[dir] = true
		} else if r.static {
			tail.exact[r.Glob] = true
		} else {
			break
		}
		tail.exclude = r.Exclude
		i--
	}
	return rules[:i], tail
}

func (l literalTail) matches(rel string) bool {
	if len(l.exact) == 0 && len(l.under) == 0 {
		return false
	}
	if l.exact[rel] || l.under[rel] { // "dir/**" also matches "dir" itself
		return true
	}
	for p := rel; ; {
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
		if l.under[p] {
			return true
		}
	}
}

// globbyTasks models globby(["**", ...includes]): one task per positive
// pattern, each ignoring the negative patterns that follow it. fast-glob
// applies some of those ignores to directories and skips them whole, so
// "!node_modules" drops every file below node_modules, unlike the per-file
// pass that follows (where it matches only a file named node_modules).
type globbyTasks struct {
	negs []indexedRule // include negations
	pos  []indexedRule // positive includes
}

type indexedRule struct {
	at   int // position among the includes
	r    rule
	base string // where the task starts walking
	walk bool   // false for a static pattern, looked up without walking
}

func newGlobbyTasks(rules []rule) globbyTasks {
	var g globbyTasks
	at := 0
	for _, r := range rules {
		if !r.fromInclude {
			continue
		}
		if r.Exclude {
			g.negs = append(g.negs, indexedRule{at: at, r: r})
		} else {
			g.pos = append(g.pos, indexedRule{at: at, r: r, base: globBase(r.Glob), walk: !r.static})
		}
		at++
	}
	return g
}

// listed reports whether globby lists rel.
func (g globbyTasks) listed(rel string) bool {
	if len(g.negs) == 0 || !g.ignoredAfter(rel, -1, "", true) { // the "**" task
		return true
	}
	for _, p := range g.pos {
		if p.r.matches(rel) && !g.ignoredAfter(rel, p.at, p.base, p.walk) {
			return true
		}
	}
	return false
}

// ignoredAfter reports whether a negation placed after position at keeps
// rel out of a task starting at base.
func (g globbyTasks) ignoredAfter(rel string, at int, base string, walk bool) bool {
	for _, n := range g.negs {
		if n.at > at && n.r.ignores(rel, base, walk) {
			return true
		}
	}
	return false
}

// listedByGlobby is newGlobbyTasks(rules).listed(rel), for one-off checks.
func listedByGlobby(rel string, rules []rule) bool {
	return newGlobbyTasks(rules).listed(rel)
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
