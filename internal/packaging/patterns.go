package packaging

import (
	"fmt"
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
		rules = append(rules, newRule(p, false))
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

// selectFiles applies rules to the walked files: every file starts
// included (v3 globs "**") and the last matching rule decides.
func selectFiles(t *tree, rules []rule) []int {
	var out []int
	for i, f := range t.files {
		if included(f.Rel, rules) {
			out = append(out, i)
		}
	}
	return out
}

func included(rel string, rules []rule) bool {
	for i := len(rules) - 1; i >= 0; i-- {
		if !strings.HasPrefix(rel, rules[i].prefix) {
			continue
		}
		if ok, _ := doublestar.Match(rules[i].Glob, rel); ok {
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
