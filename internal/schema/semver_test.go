package schema

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// randomRange builds a frameworkVersion-like range from the pieces
// node-semver understands (and a few it does not).
func randomRange(r *rand.Rand) string {
	part := func() string {
		switch r.Intn(10) {
		case 0:
			return "x"
		case 1:
			return "*"
		}
		return []string{"0", "1", "2", "3", "4", "39", "40", "41"}[r.Intn(8)]
	}
	version := func() string {
		v := part()
		for i := r.Intn(3); i > 0; i-- {
			v += "." + part()
		}
		switch r.Intn(12) {
		case 0:
			v += "-beta.1"
		case 1:
			v = "v" + v
		case 2:
			v += ".0.0" // too many parts
		}
		return v
	}
	comparator := func() string {
		op := []string{"", "", "=", ">", ">=", "<", "<=", "~", "^", "~>", ">= ", "!"}[r.Intn(12)]
		return op + version()
	}
	set := func() string {
		if r.Intn(6) == 0 {
			return version() + " - " + version()
		}
		s := comparator()
		for i := r.Intn(3); i > 0; i-- {
			s += " " + comparator()
		}
		return s
	}
	s := set()
	for i := r.Intn(3); i > 0; i-- {
		s += " || " + set()
	}
	return s
}

// TestSemverAgreesWithNodeSemver compares parseRange/satisfies with the
// node-semver serverless v3 uses, on generated ranges.
func TestSemverAgreesWithNodeSemver(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node")
	}
	t.Parallel()
	node, abs := requireServerlessV3(t)
	seed := int64(5)
	if s := os.Getenv("NIMBUS_SEMVER_SEED"); s != "" { // explore further by hand
		fmt.Sscan(s, &seed)
	}
	r := rand.New(rand.NewSource(seed))
	ranges := []string{"", "*", "3", ">=1.6.0 <2.1.0", "^3.40.0-beta", "latest", "*.3", ">=x.1", "3.*.*", "1.2.3.4"}
	for len(ranges) < 3000 {
		ranges = append(ranges, randomRange(r))
	}
	var b strings.Builder
	for _, rg := range ranges {
		q, _ := json.Marshal(rg)
		b.Write(q)
		b.WriteByte('\n')
	}
	input := filepath.Join(t.TempDir(), "ranges.jsonl")
	if err := os.WriteFile(input, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, "testdata/semver.js", abs, input).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	answers := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(answers) != len(ranges) {
		t.Fatalf("node answered %d of %d ranges", len(answers), len(ranges))
	}
	v, _ := parseVersion(FrameworkVersion)
	agree := 0
	for i, rg := range ranges {
		parsed, err := parseRange(rg)
		got := "0 0"
		if err == nil {
			got = "1 0"
			if parsed.satisfies(v) {
				got = "1 1"
			}
		}
		if got == answers[i] {
			agree++
		} else {
			t.Errorf("%q: valid/satisfied = %s, node-semver says %s", rg, got, answers[i])
		}
	}
	t.Logf("%d/%d ranges judged as node-semver does", agree, len(ranges))
}

// FuzzParseRange checks that no frameworkVersion text makes the range
// parser panic.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"3", ">=1.6.0 <2.1.0", "1 - 2 || ^3.x", "~>3.40", "*", "v3.40.0-beta.1+build"} {
		f.Add(s)
	}
	v, _ := parseVersion(FrameworkVersion)
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := parseRange(s); err == nil {
			r.satisfies(v)
		}
	})
}
