package schema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// FrameworkVersion is the serverless version Nimbus reproduces; a service's
// frameworkVersion range must include it.
const FrameworkVersion = "3.40.0"

// version is a parsed semantic version.
type version struct {
	major, minor, patch int64
	pre                 []string
}

func (a version) compare(b version) int {
	for _, d := range [3][2]int64{{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	// A version without prerelease tags is greater than one with them.
	switch {
	case len(a.pre) == 0 && len(b.pre) == 0:
		return 0
	case len(a.pre) == 0:
		return 1
	case len(b.pre) == 0:
		return -1
	}
	for i := 0; i < len(a.pre) && i < len(b.pre); i++ {
		if c := comparePre(a.pre[i], b.pre[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(a.pre) < len(b.pre):
		return -1
	case len(a.pre) > len(b.pre):
		return 1
	}
	return 0
}

func comparePre(a, b string) int {
	ai, aerr := strconv.ParseInt(a, 10, 64)
	bi, berr := strconv.ParseInt(b, 10, 64)
	switch {
	case aerr == nil && berr == nil:
		switch {
		case ai < bi:
			return -1
		case ai > bi:
			return 1
		}
		return 0
	case aerr == nil:
		return -1 // numeric identifiers sort before alphanumeric ones
	case berr == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// comparator is one "op version" test of a range.
type comparator struct {
	op string // "<", "<=", ">", ">=", "="
	v  version
}

func (c comparator) test(v version) bool {
	r := v.compare(c.v)
	switch c.op {
	case "<":
		return r < 0
	case "<=":
		return r <= 0
	case ">":
		return r > 0
	case ">=":
		return r >= 0
	}
	return r == 0
}

// versionRange is a union (||) of comparator sets that must all hold.
type versionRange [][]comparator

// partial is a version whose trailing parts may be missing or wildcards
// ("1", "1.2", "1.x", "*").
type partial struct {
	parts int // how many of major, minor, patch are given
	v     version
}

var partialRE = regexp.MustCompile(`^v?(0|[1-9]\d*|[xX*])(?:\.(0|[1-9]\d*|[xX*])(?:\.(0|[1-9]\d*|[xX*])(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?)?)?$`)

// parsePartial reads a partial version. node-semver refuses a number after
// a wildcard ("x.1") in plain and comparator forms but ignores it in tilde,
// caret and hyphen forms; lenient selects the latter.
func parsePartial(s string, lenient bool) (partial, bool) {
	m := partialRE.FindStringSubmatch(s)
	if m == nil {
		return partial{}, false
	}
	var p partial
	nums := []*int64{&p.v.major, &p.v.minor, &p.v.patch}
	wild := false
	for i := 0; i < 3; i++ {
		part := m[i+1]
		if part == "" || part == "x" || part == "X" || part == "*" {
			wild = true
			continue
		}
		if wild {
			if lenient {
				continue
			}
			return partial{}, false
		}
		n, err := strconv.ParseInt(part, 10, 64)
		if err != nil {
			return partial{}, false
		}
		*nums[i] = n
		p.parts = i + 1
	}
	// A prerelease tag needs all three parts written; node-semver then
	// drops it when one of them is a wildcard ("3.40.x-beta" is 3.40.x).
	if m[4] != "" && p.parts == 3 {
		p.v.pre = strings.Split(m[4], ".")
	}
	return p, true
}

// parseVersion reads a full version ("3.40.0", "v1.2.3-beta.1").
func parseVersion(s string) (version, bool) {
	p, ok := parsePartial(strings.TrimSpace(s), false)
	if !ok || p.parts != 3 {
		return version{}, false
	}
	return p.v, true
}

var opSpaceRE = regexp.MustCompile(`(<=|>=|<|>|=|~>|~|\^)\s+`)

// parseRange reads a node-semver range: ||-separated sets of comparators,
// with hyphen ranges, x-ranges, tilde and caret ranges.
func parseRange(s string) (versionRange, error) {
	var r versionRange
	for _, set := range strings.Split(s, "||") {
		set = strings.TrimSpace(opSpaceRE.ReplaceAllString(strings.TrimSpace(set), "$1"))
		cs, err := parseSet(set)
		if err != nil {
			return nil, err
		}
		r = append(r, cs)
	}
	return r, nil
}

func parseSet(set string) ([]comparator, error) {
	if set == "" {
		return []comparator{{op: ">=", v: version{}}}, nil
	}
	fields := strings.Fields(set)
	if len(fields) == 3 && fields[1] == "-" {
		lo, ok1 := parsePartial(fields[0], true)
		hi, ok2 := parsePartial(fields[2], true)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("invalid hyphen range %q", set)
		}
		var out []comparator
		if lo.parts > 0 {
			out = append(out, comparator{">=", lo.v})
		}
		switch hi.parts {
		case 0:
		case 3:
			out = append(out, comparator{"<=", hi.v})
		default:
			out = append(out, comparator{"<", hi.bump()})
		}
		if len(out) == 0 {
			out = append(out, comparator{">=", version{}})
		}
		return out, nil
	}
	var out []comparator
	for _, f := range fields {
		cs, err := parseComparator(f)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// bump returns the first version above every version p matches
// ("1.2" → 1.3.0-0, "1" → 2.0.0-0).
func (p partial) bump() version {
	v := version{pre: []string{"0"}}
	switch p.parts {
	case 1:
		v.major = p.v.major + 1
	case 2:
		v.major, v.minor = p.v.major, p.v.minor+1
	}
	return v
}

func parseComparator(f string) ([]comparator, error) {
	op := ""
	for _, candidate := range []string{"<=", ">=", "~>", "<", ">", "=", "~", "^"} {
		if strings.HasPrefix(f, candidate) {
			op, f = candidate, f[len(candidate):]
			break
		}
	}
	p, ok := parsePartial(f, op == "~" || op == "~>" || op == "^")
	if !ok {
		return nil, fmt.Errorf("invalid version %q", f)
	}
	any := []comparator{{">=", version{}}}
	v := p.v
	switch op {
	case "", "=":
		if p.parts == 0 {
			return any, nil
		}
		if p.parts == 3 {
			return []comparator{{"=", v}}, nil
		}
		return []comparator{{">=", v}, {"<", p.bump()}}, nil
	case "~", "~>":
		if p.parts == 0 {
			return any, nil
		}
		if p.parts == 1 {
			return []comparator{{">=", v}, {"<", p.bump()}}, nil
		}
		return []comparator{{">=", v}, {"<", version{major: v.major, minor: v.minor + 1, pre: []string{"0"}}}}, nil
	case "^":
		if p.parts == 0 {
			return any, nil
		}
		upper := version{pre: []string{"0"}}
		switch {
		case v.major > 0 || p.parts == 1:
			upper.major = v.major + 1
		case v.minor > 0 || p.parts == 2:
			upper.minor = v.minor + 1
		default:
			upper.minor, upper.patch = v.minor, v.patch+1
		}
		return []comparator{{">=", v}, {"<", upper}}, nil
	case ">":
		if p.parts == 0 {
			return []comparator{{"<", version{}}}, nil // matches nothing
		}
		if p.parts < 3 {
			return []comparator{{">=", p.bump()}}, nil
		}
		return []comparator{{">", v}}, nil
	case ">=":
		return []comparator{{">=", v}}, nil
	case "<":
		if p.parts == 0 {
			return []comparator{{"<", version{}}}, nil
		}
		if p.parts < 3 {
			v.pre = []string{"0"}
		}
		return []comparator{{"<", v}}, nil
	case "<=":
		if p.parts == 0 {
			return any, nil
		}
		if p.parts < 3 {
			return []comparator{{"<", p.bump()}}, nil
		}
		return []comparator{{"<=", v}}, nil
	}
	return nil, fmt.Errorf("invalid comparator %q", f)
}

// satisfies follows node-semver's satisfies without includePrerelease: a
// prerelease version only matches a set that names a prerelease of the
// same major.minor.patch.
func (r versionRange) satisfies(v version) bool {
	for _, set := range r {
		ok := true
		for _, c := range set {
			if !c.test(v) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if len(v.pre) == 0 {
			return true
		}
		for _, c := range set {
			if len(c.v.pre) > 0 && c.v.major == v.major && c.v.minor == v.minor && c.v.patch == v.patch {
				return true
			}
		}
	}
	return false
}
