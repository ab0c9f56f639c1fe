package schema

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// issue is one schema violation before it becomes a diagnostic.
type issue struct {
	path    config.Path
	pos     diag.Pos
	width   int
	summary string
	detail  string
	// expected is set for a plain type mismatch of the node itself: the
	// types it should have had. anyOf uses it to drop alternatives that
	// were never meant for this kind of value.
	expected []string
}

// anchor is where a node is shown when the problem is the node as a whole:
// its key when it has one, else the value itself.
type anchor struct {
	pos   diag.Pos
	width int
}

type validator struct {
	// apply writes type coercions (v3 runs ajv with coerceTypes: "array")
	// into the tree; without it they only shape the checks.
	apply bool
}

func valueAnchor(n *config.Node) anchor {
	return anchor{pos: n.Pos, width: valueWidth(n)}
}

func valueWidth(n *config.Node) int {
	if n == nil || !n.IsScalar() {
		return 1
	}
	w := utf8.RuneCountInString(n.Scalar())
	if n.Kind == config.Null {
		w = 1
	}
	if n.Quoted && n.Kind == config.String {
		w += 2
	}
	if w < 1 {
		w = 1
	}
	if w > 80 {
		w = 80
	}
	return w
}

func (v *validator) check(n *config.Node, s *Schema, path config.Path, at anchor) []issue {
	s = resolveRef(s)
	if s == nil || n == nil {
		return nil
	}
	if s.Events != nil {
		return v.event(n, s.Events, path, at)
	}
	if len(s.Types) > 0 {
		c, ok := coerce(n, s.Types)
		if !ok {
			return []issue{{path: path, pos: n.Pos, width: valueWidth(n),
				summary: "must be " + strings.Join(s.Types, " or "), expected: s.Types}}
		}
		if c != n {
			if v.apply {
				sensitive := n.Sensitive
				*n = *c
				n.Sensitive = sensitive
			} else {
				n = c
			}
		}
	}
	var out []issue
	if s.HasConst && !equalValue(n, s.Const, false) {
		out = append(out, issue{path: path, pos: n.Pos, width: valueWidth(n),
			summary: "must be equal to constant " + showValue(s.Const)})
	}
	if len(s.Enum) > 0 {
		out = append(out, v.enum(n, s, path)...)
	}
	switch n.Kind {
	case config.String:
		out = append(out, v.stringRules(n, s, path)...)
	case config.Int, config.Float:
		out = append(out, numberRules(n, s, path)...)
	case config.Map:
		out = append(out, v.object(n, s, path, at)...)
	case config.Seq:
		out = append(out, v.array(n, s, path)...)
	}
	for _, a := range s.AllOf {
		out = append(out, v.check(n, a, path, at)...)
	}
	if len(s.AnyOf) > 0 {
		out = append(out, v.alternatives(n, s.AnyOf, false, path, at)...)
	}
	if len(s.OneOf) > 0 {
		out = append(out, v.alternatives(n, s.OneOf, true, path, at)...)
	}
	return out
}

// coerce returns n, or a converted copy when ajv's type coercion would
// accept it, or false when no listed type fits.
func coerce(n *config.Node, types []string) (*config.Node, bool) {
	for _, t := range types {
		if hasType(n, t) {
			return n, true
		}
	}
	// ajv coerces only towards scalar types and array: an object type
	// takes nothing else.
	coercible := false
	for _, t := range types {
		coercible = coercible || t != "object"
	}
	if !coercible {
		return nil, false
	}
	// coerceTypes "array" also unwraps a one-item list.
	if n.Kind == config.Seq && len(n.Items) == 1 {
		item := n.Items[0]
		for _, t := range types {
			if hasType(item, t) {
				return item.Clone(), true
			}
		}
		n = item
	}
	for _, t := range types {
		if c := coerceTo(n, t); c != nil {
			return c, true
		}
	}
	return nil, false
}

var jsNumberRE = regexp.MustCompile(`^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$`)

// jsNumber reads a string as JavaScript's unary + does, for the forms a
// config value plausibly has (decimal, exponent, 0x/0o/0b).
func jsNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && s[0] == '0' && strings.ContainsRune("xXoObB", rune(s[1])) {
		i, err := strconv.ParseInt(s, 0, 64)
		return float64(i), err == nil && !strings.Contains(s, "_")
	}
	if !jsNumberRE.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0)
}

func hasType(n *config.Node, t string) bool {
	switch t {
	case "string":
		return n.Kind == config.String
	case "number":
		return n.Kind == config.Int || n.Kind == config.Float
	case "integer":
		_, ok := n.Int()
		return ok
	case "boolean":
		return n.Kind == config.Bool
	case "object":
		return n.Kind == config.Map
	case "array":
		return n.Kind == config.Seq
	case "null":
		return n.Kind == config.Null
	}
	return false
}

func coerceTo(n *config.Node, t string) *config.Node {
	switch t {
	case "string":
		if n.Kind == config.Int || n.Kind == config.Float || n.Kind == config.Bool {
			return config.NewString(n.Scalar(), n.Pos)
		}
	case "number", "integer":
		var f float64
		switch n.Kind {
		case config.String:
			x, ok := jsNumber(n.Value.(string))
			if !ok {
				return nil
			}
			f = x
		case config.Bool:
			if n.Value.(bool) {
				f = 1
			}
		default:
			return nil
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return config.NewInt(int64(f), n.Pos)
		}
		if t == "integer" {
			return nil
		}
		return config.NewFloat(f, n.Pos)
	case "boolean":
		switch n.Kind {
		case config.String:
			switch n.Value.(string) {
			case "true":
				return config.NewBool(true, n.Pos)
			case "false":
				return config.NewBool(false, n.Pos)
			}
		case config.Int, config.Float:
			if i, ok := n.Int(); ok && (i == 0 || i == 1) {
				return config.NewBool(i == 1, n.Pos)
			}
		}
	case "array":
		if n.IsScalar() && n.Kind != config.Null {
			return config.NewSeq(n.Pos, n.Clone())
		}
	}
	return nil
}

func equalValue(n *config.Node, want any, fold bool) bool {
	switch w := want.(type) {
	case string:
		s, ok := n.Str()
		if fold {
			return ok && strings.EqualFold(s, w)
		}
		return ok && s == w
	case bool:
		b, ok := n.Boolean()
		return ok && b == w
	case int:
		if i, ok := n.Int(); ok {
			return i == int64(w)
		}
	case nil:
		return n.Kind == config.Null
	}
	return false
}

func showValue(v any) string {
	if s, ok := v.(string); ok {
		return "'" + s + "'"
	}
	return fmt.Sprint(v)
}

func (v *validator) enum(n *config.Node, s *Schema, path config.Path) []issue {
	for _, e := range s.Enum {
		if equalValue(n, e, s.EnumFold) {
			return nil
		}
	}
	vals := make([]string, len(s.Enum))
	for i, e := range s.Enum {
		vals[i] = fmt.Sprint(e)
	}
	is := issue{path: path, pos: n.Pos, width: valueWidth(n),
		summary: "must be equal to one of the allowed values [" + strings.Join(vals, ", ") + "]"}
	if s.EnumFold {
		is.summary += " (in any letter case)"
	}
	if str, ok := n.Str(); ok {
		if best := closest(str, vals); best != "" {
			is.detail = fmt.Sprintf("did you mean '%s'?", best)
		}
	}
	return []issue{is}
}

func (v *validator) stringRules(n *config.Node, s *Schema, path config.Path) []issue {
	str := n.Value.(string)
	var out []issue
	add := func(msg string) {
		out = append(out, issue{path: path, pos: n.Pos, width: valueWidth(n), summary: msg})
	}
	length := utf8.RuneCountInString(str)
	if s.MinLength >= 0 && length < s.MinLength {
		add(fmt.Sprintf("must NOT have fewer than %d characters", s.MinLength))
	}
	if s.MaxLength >= 0 && length > s.MaxLength {
		add(fmt.Sprintf("must NOT have more than %d characters", s.MaxLength))
	}
	if s.Format != "" && !formatOK(s.Format, str) {
		add(fmt.Sprintf("must match format %q", s.Format))
	}
	if s.match != nil && !s.match(str) {
		if s.jsRegexp {
			add(fmt.Sprintf("value '%s' does not satisfy pattern %s", str, s.Pattern))
		} else {
			add(`must match pattern "` + s.Pattern + `"`)
		}
		out[len(out)-1].detail = s.Hint
	}
	return out
}

func numberRules(n *config.Node, s *Schema, path config.Path) []issue {
	var f float64
	if n.Kind == config.Int {
		f = float64(n.Value.(int64))
	} else {
		f = n.Value.(float64)
	}
	var out []issue
	if s.Minimum != nil && f < *s.Minimum {
		out = append(out, issue{path: path, pos: n.Pos, width: valueWidth(n),
			summary: "must be >= " + config.FormatJSNumber(*s.Minimum)})
	}
	if s.Maximum != nil && f > *s.Maximum {
		out = append(out, issue{path: path, pos: n.Pos, width: valueWidth(n),
			summary: "must be <= " + config.FormatJSNumber(*s.Maximum)})
	}
	return out
}

func (v *validator) array(n *config.Node, s *Schema, path config.Path) []issue {
	var out []issue
	if s.MinItems >= 0 && len(n.Items) < s.MinItems {
		out = append(out, issue{path: path, pos: n.Pos, width: 1,
			summary: fmt.Sprintf("must NOT have fewer than %d items", s.MinItems)})
	}
	if s.MaxItems >= 0 && len(n.Items) > s.MaxItems {
		out = append(out, issue{path: path, pos: n.Pos, width: 1,
			summary: fmt.Sprintf("must NOT have more than %d items", s.MaxItems)})
	}
	if s.UniqueItems {
		seen := map[string]int{}
		for i, it := range n.Items {
			js, err := it.MarshalJSON()
			if err != nil {
				continue
			}
			if j, dup := seen[string(js)]; dup {
				out = append(out, issue{path: path, pos: it.Pos, width: valueWidth(it),
					summary: fmt.Sprintf("must NOT have duplicate items (items ## %d and %d are identical)", i, j)})
				break
			}
			seen[string(js)] = i
		}
	}
	for i, it := range n.Items {
		item := s.Items
		if s.TupleItems != nil {
			if i >= len(s.TupleItems) {
				break
			}
			item = s.TupleItems[i]
		}
		if item == nil || it.Kind == config.Null {
			continue
		}
		out = append(out, v.check(it, item, path.Child(i), valueAnchor(it))...)
	}
	return out
}

func (v *validator) object(n *config.Node, s *Schema, path config.Path, at anchor) []issue {
	var out []issue
	present := 0
	for _, p := range n.Pairs {
		if p.Value == nil || p.Value.Kind == config.Null {
			// v3 drops null-valued keys before validating.
			continue
		}
		present++
		child := path.Child(p.Key)
		keyAt := anchor{pos: p.KeyPos, width: max1(utf8.RuneCountInString(p.Key))}
		if s.PropertyNames != nil {
			for _, is := range v.check(config.NewString(p.Key, p.KeyPos), s.PropertyNames, child, keyAt) {
				is.summary = fmt.Sprintf("property name '%s' is invalid: %s", p.Key, is.summary)
				is.width = keyAt.width
				out = append(out, is)
			}
		}
		if ps, ok := s.Properties[p.Key]; ok {
			out = append(out, v.check(p.Value, ps, child, keyAt)...)
			continue
		}
		matched := false
		for _, pp := range s.PatternProps {
			if pp.matches(p.Key) {
				matched = true
				out = append(out, v.check(p.Value, pp.Schema, child, keyAt)...)
			}
		}
		if matched {
			continue
		}
		if s.Additional != nil {
			out = append(out, v.check(p.Value, s.Additional, child, keyAt)...)
			continue
		}
		if s.Closed {
			out = append(out, unknownKey(s, p, child))
		}
	}
	for _, r := range s.Required {
		if p := n.Pair(r); p == nil || p.Value == nil || p.Value.Kind == config.Null {
			out = append(out, issue{path: path, pos: at.pos, width: at.width,
				summary: fmt.Sprintf("must have required property '%s'", r)})
		}
	}
	for key, needs := range s.Dependencies {
		if present := n.Get(key); present == nil || present.Kind == config.Null {
			continue
		}
		for _, need := range needs {
			if p := n.Get(need); p == nil || p.Kind == config.Null {
				out = append(out, issue{path: path, pos: at.pos, width: at.width,
					summary: fmt.Sprintf("must have property %s when property %s is present", need, key)})
			}
		}
	}
	if s.MinProps >= 0 && present < s.MinProps {
		out = append(out, issue{path: path, pos: at.pos, width: at.width,
			summary: fmt.Sprintf("must NOT have fewer than %d properties", s.MinProps)})
	}
	if s.MaxProps >= 0 && present > s.MaxProps {
		out = append(out, issue{path: path, pos: at.pos, width: at.width,
			summary: fmt.Sprintf("must NOT have more than %d %s", s.MaxProps, pluralWord(s.MaxProps, "property", "properties"))})
	}
	return out
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func unknownKey(s *Schema, p config.Pair, path config.Path) issue {
	is := issue{path: path, pos: p.KeyPos, width: max1(utf8.RuneCountInString(p.Key))}
	if s.KeyName != "" && len(s.PatternProps) > 0 {
		is.summary = fmt.Sprintf("%s '%s' must match %s", s.KeyName, p.Key, s.PatternProps[0].Pattern)
		if s.KeyName == "function name" {
			is.summary = fmt.Sprintf("function name '%s' must be alphanumeric", p.Key)
			is.detail = "Function names may contain only letters, digits, '-' and '_'."
		}
		return is
	}
	is.summary = fmt.Sprintf("unrecognized property '%s'", p.Key)
	known := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		known = append(known, k)
	}
	sort.Strings(known)
	if best := closest(p.Key, known); best != "" {
		is.detail = fmt.Sprintf("did you mean '%s'?", best)
	} else if len(path) == 1 {
		is.detail = "Settings of your own belong under 'custom'."
	}
	return is
}

// event checks one entry of a function's events: a map with a single key
// naming the event type.
func (v *validator) event(n *config.Node, events map[string]*Schema, path config.Path, at anchor) []issue {
	if n.Kind != config.Map {
		is := issue{path: path, pos: n.Pos, width: valueWidth(n),
			summary: "an event must be a mapping of one event type to its settings", expected: []string{"object"}}
		if name, ok := n.Str(); ok {
			if _, known := events[name]; known {
				is.detail = fmt.Sprintf("Write it as '- %s: …' with the event's settings.", name)
			}
		}
		return []issue{is}
	}
	if len(n.Pairs) != 1 {
		keys := make([]string, len(n.Pairs))
		for i, p := range n.Pairs {
			keys[i] = "'" + p.Key + "'"
		}
		is := issue{path: path, pos: n.Pos, width: 1}
		if len(keys) == 0 {
			is.summary = "unsupported function event: the event is empty"
			return []issue{is}
		}
		is.summary = "an event must have exactly one key, the event type; found " + strings.Join(keys, ", ")
		if first := n.Pairs[0]; first.Value == nil || first.Value.Kind == config.Null {
			is.detail = fmt.Sprintf("Indent the event's settings under '%s:'.", first.Key)
		}
		return []issue{is}
	}
	p := n.Pairs[0]
	child := path.Child(p.Key)
	keyAt := anchor{pos: p.KeyPos, width: max1(utf8.RuneCountInString(p.Key))}
	es, ok := events[p.Key]
	if !ok {
		names := make([]string, 0, len(events))
		for k := range events {
			names = append(names, k)
		}
		sort.Strings(names)
		is := issue{path: child, pos: p.KeyPos, width: keyAt.width,
			summary: fmt.Sprintf("unsupported function event '%s'", p.Key)}
		if best := closest(p.Key, names); best != "" {
			is.detail = fmt.Sprintf("did you mean '%s'?", best)
		} else {
			is.detail = "Supported events: " + strings.Join(names, ", ")
		}
		return []issue{is}
	}
	if p.Value == nil || p.Value.Kind == config.Null {
		return []issue{{path: child, pos: p.KeyPos, width: keyAt.width,
			summary: fmt.Sprintf("the '%s' event has no settings", p.Key)}}
	}
	return v.check(p.Value, es, child, keyAt)
}

// alternatives implements anyOf (exactly=false) and oneOf. When nothing
// matches it reports the alternative the value was most likely meant for,
// the way v3 trims ajv's output: alternatives of the wrong type are
// dropped, then those whose problems lie deepest in the value win.
func (v *validator) alternatives(n *config.Node, alts []*Schema, exactly bool, path config.Path, at anchor) []issue {
	// Like ajv, alternatives are tried in order on the same value, so a
	// coercion made while trying one stays even when it does not match;
	// anyOf stops at the first match, oneOf tries them all.
	results := make([][]issue, len(alts))
	matches := 0
	for i, a := range alts {
		results[i] = v.check(n, a, path, at)
		if len(results[i]) == 0 {
			matches++
			if !exactly {
				return nil
			}
		}
	}
	if matches == 1 {
		return nil
	}
	if matches > 1 {
		return []issue{{path: path, pos: at.pos, width: at.width, summary: oneOfTooMany(alts)}}
	}
	if keys := requiredOnly(alts); keys != nil {
		return []issue{{path: path, pos: at.pos, width: at.width,
			summary: "must have one of the properties " + strings.Join(keys, ", ")}}
	}
	var candidates [][]issue
	var types []string
	for _, r := range results {
		if len(r) == 1 && r[0].expected != nil && len(r[0].path) == len(path) {
			for _, t := range r[0].expected {
				if !contains(types, t) {
					types = append(types, t)
				}
			}
			continue
		}
		candidates = append(candidates, r)
	}
	switch len(candidates) {
	case 0:
		return []issue{{path: path, pos: n.Pos, width: valueWidth(n),
			summary: "must be " + strings.Join(types, " or "), expected: types}}
	case 1:
		return candidates[0]
	}
	deepest := 0
	depth := make([]int, len(candidates))
	for i, c := range candidates {
		for _, is := range c {
			if len(is.path) > depth[i] {
				depth[i] = len(is.path)
			}
		}
		if depth[i] > deepest {
			deepest = depth[i]
		}
	}
	var kept [][]issue
	for i, c := range candidates {
		if depth[i] == deepest {
			kept = append(kept, c)
		}
	}
	if len(kept) == 1 {
		return kept[0]
	}
	is := issue{path: path, pos: at.pos, width: at.width, summary: "unsupported configuration format"}
	var lines []string
	for _, c := range kept {
		lines = append(lines, "one accepted form fails with: "+c[0].summary)
	}
	is.detail = strings.Join(lines, "\n")
	return []issue{is}
}

func oneOfTooMany(alts []*Schema) string {
	if keys := requiredOnly(alts); keys != nil {
		return "must have only one of the properties " + strings.Join(keys, ", ")
	}
	return "matches more than one accepted form"
}

// requiredOnly returns the keys when every alternative only requires a key
// (v3's way to say "one of these properties"), else nil.
func requiredOnly(alts []*Schema) []string {
	var keys []string
	for _, a := range alts {
		a = resolveRef(a)
		if len(a.Required) != 1 || len(a.Types) > 0 || a.Properties != nil || a.AnyOf != nil || a.OneOf != nil {
			return nil
		}
		keys = append(keys, "'"+a.Required[0]+"'")
	}
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// closest returns the candidate nearest to s by edit distance, or "" when
// none is near enough to be a likely typo.
func closest(s string, candidates []string) string {
	best, bestDist := "", math.MaxInt
	for _, c := range candidates {
		if strings.EqualFold(c, s) {
			return c
		}
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 2
	if l := utf8.RuneCountInString(s); l >= 9 {
		limit = 3
	} else if l <= 3 {
		limit = 1
	}
	if bestDist <= limit {
		return best
	}
	return ""
}

// editDistance is the Damerau–Levenshtein (optimal string alignment)
// distance, so a swapped pair of letters counts as one typo.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = minInt(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = minInt(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

func minInt(xs ...int) int {
	m := xs[0]
	for _, x := range xs[1:] {
		if x < m {
			m = x
		}
	}
	return m
}

var (
	uriRE      = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]*$`)
	dateTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$`)
)

// formatOK checks the two ajv-formats formats v3's schema uses.
func formatOK(format, s string) bool {
	switch format {
	case "uri":
		return uriRE.MatchString(s)
	case "date-time":
		if !dateTimeRE.MatchString(s) {
			return false
		}
		norm := strings.ToUpper(strings.Replace(s, " ", "T", 1))
		if n := len(norm); n > 5 && (norm[n-5] == '+' || norm[n-5] == '-') {
			norm = norm[:n-2] + ":" + norm[n-2:] // +0100 → +01:00
		}
		_, err := time.Parse(time.RFC3339Nano, norm)
		return err == nil
	}
	return true
}
