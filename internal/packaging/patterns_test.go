package packaging

import (
	"reflect"

	"github.com/nimbusfw/nimbus/internal/diag"
	"strings"
	"testing"
)

// baseFiles is a small service tree used by the pattern table.
var baseFiles = []fixtureFile{
	{Path: "handler.js", Body: "exports.h = () => 1;\n"},
	{Path: "src/a.js", Body: "a"},
	{Path: "src/b.js", Body: "b"},
	{Path: "src/keep.js", Body: "k"},
	{Path: "src/.DS_Store", Body: "x"},
	{Path: ".DS_Store", Body: "x"},
	{Path: ".gitignore", Body: "x"},
	{Path: ".git/config", Body: "x"},
	{Path: ".env", Body: "x"},
	{Path: "yarn-error.log", Body: "x"},
	{Path: "bin/tool", Body: "x", Mode: 0o755},
	{Path: ".serverless_plugins/p.js", Body: "x"},
}

// TestPatternRulesFollowServerlessV3 checks the selection order of v3's
// resolveFilePathsFromPatterns: excludes first (negated), then includes
// and patterns in order, the last match winning, then dev dependencies.
func TestPatternRulesFollowServerlessV3(t *testing.T) {
	all := []string{".env", "bin/tool", "handler.js", "src/.DS_Store", "src/a.js", "src/b.js", "src/keep.js"}
	tests := []struct {
		name string
		pkg  string // YAML of the service package block (indented two spaces)
		want []string
	}{
		{"defaults only drop anchored names and the config file", "", all},
		{"negation then re-include", "  patterns: ['!src/**', 'src/keep.js']",
			[]string{".env", "bin/tool", "handler.js", "src/keep.js"}},
		{"last match wins", "  patterns: ['src/keep.js', '!src/**']",
			[]string{".env", "bin/tool", "handler.js"}},
		{"legacy excludes apply before includes whatever the YAML order",
			"  include: ['src/keep.js']\n  exclude: ['src/**']",
			[]string{".env", "bin/tool", "handler.js", "src/keep.js"}},
		{"a negated legacy exclude includes", "  exclude: ['**', '!src/a.js']",
			[]string{"src/a.js"}},
		{"leading ./ is ignored as micromatch does", "  exclude: ['./**']\n  include: ['./bin/**']",
			[]string{"bin/tool"}},
		{"braces", "  patterns: ['!src/**', 'src/{a,b}.js']",
			[]string{".env", "bin/tool", "handler.js", "src/a.js", "src/b.js"}},
		{"star does not cross directories", "  patterns: ['!*.js']",
			[]string{".env", "bin/tool", "src/.DS_Store", "src/a.js", "src/b.js", "src/keep.js"}},
		{"include re-adds a default exclude", "  patterns: ['.gitignore']",
			append([]string{".env", ".gitignore"}, all[1:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yml := "service: svc\nprovider:\n  name: aws\n  runtime: nodejs18.x\nfunctions:\n  f:\n    handler: handler.h\n"
			if tt.pkg != "" {
				yml += "package:\n" + tt.pkg + "\n"
			}
			if tt.name == "a negated legacy exclude includes" || tt.name == "leading ./ is ignored as micromatch does" {
				// these select no handler file; use a runtime without one
				yml = strings.Replace(yml, "nodejs18.x", "provided.al2", 1)
			}
			svc := newService(t, yml, baseFiles...)
			res := mustPackage(t, svc)
			if got := res.Artifacts[0].Files; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("files\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestUseDotenvExcludesEnvFiles(t *testing.T) {
	svc := newService(t, "service: svc\nuseDotenv: true\nprovider:\n  name: aws\n  runtime: provided.al2\nfunctions:\n  f:\n    handler: x\n", baseFiles...)
	res := mustPackage(t, svc)
	for _, f := range res.Artifacts[0].Files {
		if strings.HasPrefix(f, ".env") {
			t.Errorf("%s packaged although useDotenv excludes .env*", f)
		}
	}
}

// v3 merges function patterns into the service ones with _.union, so a
// function pattern equal to an earlier service pattern is dropped and does
// not move to the end.
func TestFunctionPatternsDuplicateOfServicePatternIsDropped(t *testing.T) {
	yml := `service: svc
provider: {name: aws, runtime: nodejs18.x}
package:
  individually: true
  patterns: ['!src/**', 'src/keep.js']
functions:
  f:
    handler: handler.h
    package:
      patterns: ['!src/**']
`
	res := mustPackage(t, newService(t, yml, baseFiles...))
	want := []string{".env", "bin/tool", "handler.js", "src/keep.js"}
	if got := res.Artifacts[0].Files; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNormaliseAndEscape(t *testing.T) {
	for glob, want := range map[string]bool{
		"../shared/**": true, "/etc/passwd": true, "a/../../x": true, "..": true,
		"src/**": false, "..foo/x": false, "a/..b": false,
	} {
		if got := escapes(glob); got != want {
			t.Errorf("escapes(%q) = %v, want %v", glob, got, want)
		}
	}
	if got := normaliseGlob("././bin/**"); got != "bin/**" {
		t.Errorf("normaliseGlob = %q", got)
	}
}

func TestExpandBraces(t *testing.T) {
	for glob, want := range map[string][]string{
		"{a,b}":         {"a", "b"},
		"x/{a,b/{c,d}}": {"x/a", "x/b/c", "x/b/d"},
		"{a}/{b,c}":     {"{a}/b", "{a}/c"},
		"plain":         {"plain"},
		"\\{a,b}":       {"\\{a,b}"},
	} {
		if got := expandBraces(glob); !reflect.DeepEqual(got, want) {
			t.Errorf("expandBraces(%q) = %q, want %q", glob, got, want)
		}
	}
}

func FuzzRules(f *testing.F) {
	f.Add("src/**", "src/a.js", true)
	f.Add("!{a,b}/*.js", "a/x.js", false)
	f.Add("[", "x", true)
	f.Fuzz(func(t *testing.T, pattern, file string, negate bool) {
		r := newRule(rawPattern{Text: pattern, Path: "package.patterns[0]"}, negate)
		// Whatever the input, rules evaluate without panicking and an
		// empty rule list includes everything.
		_ = included(file, []rule{r})
		_ = listedByGlobby(file, rulesFor(nil, []rawPattern{{Text: pattern}}, nil))
		if !included(file, nil) {
			t.Fatal("no rules must include the file")
		}
		var ds diag.Diagnostics
		checkRules([]rule{r}, &ds)
	})
}
