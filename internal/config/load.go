package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nimbusfw/nimbus/internal/diag"
)

// ServiceFileNames are the names looked for in a service folder, in order.
var ServiceFileNames = []string{"serverless.yml", "serverless.yaml", "serverless.json"}

// unsupportedServiceFiles are names serverless v3 accepts that need a
// JavaScript engine; finding one gets a clear error instead of "not found".
var unsupportedServiceFiles = []string{"serverless.js", "serverless.ts", "serverless.cjs", "serverless.mjs"}

// FindServiceFile returns the config file to load: explicit (from --config),
// relative to dir, or the first of ServiceFileNames present in dir.
func FindServiceFile(dir, explicit string) (string, diag.Diagnostics) {
	var ds diag.Diagnostics
	if explicit != "" {
		p := explicit
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			ds.Errorf(diag.Pos{}, "", "the config file %q given with --config does not exist", explicit)
			return "", ds
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yml", ".yaml", ".json":
		default:
			ds.Errorf(diag.Pos{}, "", "the config file %q is not .yml, .yaml or .json: JavaScript and TypeScript service files are not supported", explicit)
			return "", ds
		}
		return p, nil
	}
	for _, name := range ServiceFileNames {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	for _, name := range unsupportedServiceFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			ds.Append(diag.Diagnostic{Severity: diag.Error,
				Summary: fmt.Sprintf("found %s, but JavaScript and TypeScript service files are not supported", name),
				Detail:  "Convert it to serverless.yml (sls print --format yaml writes the resolved form)."})
			return "", ds
		}
	}
	ds.Append(diag.Diagnostic{Severity: diag.Error,
		Summary: fmt.Sprintf("no service file in %s", dir),
		Detail:  "Looked for " + strings.Join(ServiceFileNames, ", ") + ". Use --config to name another file."})
	return "", ds
}

// ParseFile reads and parses a YAML or JSON file. name is how diagnostics
// will call it; the content is registered with src for rendering.
func ParseFile(path, name string, src *diag.Sources) (*Node, diag.Diagnostics) {
	data, err := os.ReadFile(path)
	if err != nil {
		var ds diag.Diagnostics
		ds.Errorf(diag.Pos{File: name}, "", "cannot read file: %v", errors.Unwrap(err))
		return nil, ds
	}
	return Parse(name, data, src)
}

// Parse parses YAML (or JSON, a subset of it) into a Node tree. It never
// panics on bad input; every problem becomes a diagnostic.
func Parse(name string, data []byte, src *diag.Sources) (root *Node, ds diag.Diagnostics) {
	if src != nil {
		src.Add(name, data)
	}
	jsonMode := strings.EqualFold(filepath.Ext(name), ".json")
	if jsonMode {
		// serverless v3 reads .json with JSON.parse: strict JSON only.
		if ds := jsonSyntaxDiags(name, data); ds != nil {
			return nil, ds
		}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, yamlErrorDiags(name, data, err)
	}
	// js-yaml, which serverless v3 uses, refuses a second document.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: diag.Pos{File: name, Line: next.Line, Col: next.Column}, Width: 3,
			Summary: "expected a single document in the file, but found more",
			Detail:  "A line with only \"---\" starts a new YAML document; remove it or everything after it."})
		return nil, ds
	case err != io.EOF:
		return nil, yamlErrorDiags(name, data, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return NewNull(diag.Pos{File: name, Line: 1, Col: 1}), nil
	}
	c := converter{file: name, anchors: map[*yaml.Node]*Node{}, budget: nodeBudget(len(data)), json: jsonMode}
	root = c.convert(doc.Content[0], 0)
	return root, c.ds
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlErrorDiags turns yaml.v3's "yaml: line N: msg" errors into positioned
// diagnostics. yaml.v3 reports no column, so the column of the line's first
// non-blank character is used.
func yamlErrorDiags(name string, data []byte, err error) diag.Diagnostics {
	var ds diag.Diagnostics
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	lines := strings.Split(string(data), "\n")
	for _, m := range msgs {
		m = strings.TrimSpace(m)
		line := 0
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			line, _ = strconv.Atoi(sm[1])
			m = sm[2]
		} else if strings.HasPrefix(m, "line ") {
			if i := strings.Index(m, ": "); i > 0 {
				line, _ = strconv.Atoi(m[5:i])
				m = m[i+2:]
			}
		}
		m = strings.TrimPrefix(m, "yaml: ")
		pos := diag.Pos{File: name, Line: line}
		detail := ""
		if sm := unknownAnchorRE.FindStringSubmatch(m); sm != nil && line == 0 {
			// yaml.v3 gives no line for this one: find the alias in the text.
			pos.Line, pos.Col = findAlias(lines, sm[1])
		} else if line > 0 && line <= len(lines) {
			l := lines[line-1]
			pos.Col = len(l) - len(strings.TrimLeft(l, " \t")) + 1
			if strings.Contains(m, "unexpected end of stream") {
				detail = "A quote, [ or { is opened but never closed."
			}
			if strings.Contains(m, "cannot start any token") {
				if i := strings.IndexByte(l, '\t'); i >= 0 && i < pos.Col {
					pos.Col = i + 1
					detail = "YAML does not allow tabs for indentation; use spaces."
				}
			}
		}
		ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: pos, Width: 1, Summary: "invalid YAML: " + m, Detail: detail})
	}
	return ds
}

var unknownAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// findAlias returns the 1-based line and column of the first "*name" alias.
func findAlias(lines []string, name string) (int, int) {
	for i, l := range lines {
		for off := 0; ; {
			j := strings.Index(l[off:], "*"+name)
			if j < 0 {
				break
			}
			end := off + j + 1 + len(name)
			if end == len(l) || strings.ContainsRune(" \t,]}", rune(l[end])) {
				return i + 1, off + j + 1
			}
			off = end
		}
	}
	return 0, 0
}

type converter struct {
	file    string
	anchors map[*yaml.Node]*Node
	ds      diag.Diagnostics
	// budget is how many more nodes the tree may have: aliases are copied,
	// so a few lines of nested aliases ("billion laughs") could otherwise
	// build an exponentially large tree.
	budget    int
	overspent bool
	// path is the key path of the node being converted, for diagnostics.
	path Path
	// json follows JSON.parse for a repeated key: the last value wins.
	json bool
}

func (c *converter) where() string { return c.path.String() }

// nodeBudget allows far more nodes than any real service file has, while
// bounding what alias expansion can cost.
func nodeBudget(size int) int {
	if n := 4 * size; n > 1_000_000 {
		return n
	}
	return 1_000_000
}

const maxDepth = 2000

func (c *converter) pos(n *yaml.Node) diag.Pos {
	return diag.Pos{File: c.file, Line: n.Line, Col: n.Column}
}

// cfnFunctions are the CloudFormation short-form tags serverless v3 accepts,
// with the key of the long form they become.
var cfnFunctions = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!And": "Fn::And", "!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr", "!Equals": "Fn::Equals",
	"!FindInMap": "Fn::FindInMap", "!GetAtt": "Fn::GetAtt", "!GetAZs": "Fn::GetAZs",
	"!If": "Fn::If", "!ImportValue": "Fn::ImportValue", "!Join": "Fn::Join", "!Not": "Fn::Not",
	"!Or": "Fn::Or", "!Select": "Fn::Select", "!Split": "Fn::Split", "!Sub": "Fn::Sub",
}

func (c *converter) convert(n *yaml.Node, depth int) *Node {
	if c.budget <= 0 {
		if !c.overspent {
			c.overspent = true
			c.ds.Errorf(c.pos(n), "", "the document expands to too many values (aliases nested too deeply?)")
		}
		return NewNull(c.pos(n))
	}
	if depth > maxDepth {
		c.ds.Errorf(c.pos(n), c.where(), "the document nests deeper than %d levels", maxDepth)
		return NewNull(c.pos(n))
	}
	if n.Kind == yaml.AliasNode {
		if done, ok := c.anchors[n.Alias]; ok {
			if done == nil {
				c.ds.Errorf(c.pos(n), c.where(), "alias *%s refers to its own anchor", n.Value)
				return NewNull(c.pos(n))
			}
			c.budget -= done.size()
			if c.budget <= 0 {
				return c.convert(n, depth)
			}
			return done.Clone()
		}
		return c.convert(n.Alias, depth+1)
	}
	if n.Anchor != "" {
		c.anchors[n] = nil // in progress: a self-reference is a cycle
	}
	c.budget--
	out := c.convertValue(n, depth)
	if n.Anchor != "" {
		c.anchors[n] = out
	}
	return out
}

func (c *converter) convertValue(n *yaml.Node, depth int) *Node {
	if long, ok := cfnFunctions[n.Tag]; ok {
		return c.cfnTag(n, long, depth)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		d := diag.Diagnostic{Severity: diag.Error, Pos: c.pos(n), Path: c.where(), Width: len(n.Tag),
			Summary: "unknown tag " + n.Tag}
		names := make([]string, 0, len(cfnFunctions))
		for t := range cfnFunctions {
			names = append(names, t)
		}
		sort.Strings(names)
		if best := nearestTag(n.Tag, names); best != "" {
			d.Detail = "did you mean " + best + "?"
		} else {
			d.Detail = "Known tags: " + strings.Join(names, ", ") + "."
		}
		c.ds.Append(d)
		return NewNull(c.pos(n))
	}
	switch n.Kind {
	case yaml.MappingNode:
		return c.mapping(n, depth)
	case yaml.SequenceNode:
		s := NewSeq(c.pos(n))
		s.Items = make([]*Node, 0, len(n.Content))
		for i, it := range n.Content {
			c.path = append(c.path, i)
			s.Items = append(s.Items, c.convert(it, depth+1))
			c.path = c.path[:len(c.path)-1]
		}
		return s
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return NewNull(c.pos(n))
		}
		return c.convert(n.Content[0], depth+1)
	}
	return c.scalar(n)
}

// cfnTag builds {LongName: value}. A scalar !GetAtt "A.B.C" becomes ["A", "B.C"],
// as serverless v3's YAML schema splits it at the first dot.
func (c *converter) cfnTag(n *yaml.Node, long string, depth int) *Node {
	p := c.pos(n)
	var v *Node
	if n.Kind == yaml.ScalarNode {
		v = NewString(n.Value, p)
		if long == "Fn::GetAtt" {
			head, tail, _ := strings.Cut(n.Value, ".")
			v = NewSeq(p, NewString(head, p), NewString(tail, p))
		}
	} else {
		cp := *n
		cp.Tag = ""
		if n.Kind == yaml.MappingNode {
			cp.Tag = "!!map"
		} else if n.Kind == yaml.SequenceNode {
			cp.Tag = "!!seq"
		}
		v = c.convertValue(&cp, depth+1)
	}
	m := NewMap(p)
	m.Pairs = []Pair{{Key: long, KeyPos: p, Value: v}}
	return m
}

func (c *converter) mapping(n *yaml.Node, depth int) *Node {
	m := NewMap(c.pos(n))
	m.Pairs = make([]Pair, 0, len(n.Content)/2)
	var merged []*Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, c.mergeSources(v, depth)...)
			continue
		}
		key := c.keyString(k)
		if first := m.Pair(key); first != nil && c.json {
			c.path = append(c.path, key)
			first.KeyPos, first.Value = c.pos(k), c.convert(v, depth+1)
			c.path = c.path[:len(c.path)-1]
			continue
		} else if first != nil {
			// js-yaml, which serverless v3 uses, rejects a repeated key.
			c.ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: c.pos(k), Width: len(key), Path: c.path.Child(key).String(),
				Summary: fmt.Sprintf("duplicated mapping key %q", key),
				Detail:  fmt.Sprintf("%q is already defined at line %d.", key, first.KeyPos.Line)})
			continue
		}
		c.path = append(c.path, key)
		m.Pairs = append(m.Pairs, Pair{Key: key, KeyPos: c.pos(k), Value: c.convert(v, depth+1)})
		c.path = c.path[:len(c.path)-1]
	}
	// Explicit keys win over merged ones; earlier merge sources win over later.
	for _, src := range merged {
		for _, p := range src.Pairs {
			if !m.Has(p.Key) {
				m.Pairs = append(m.Pairs, Pair{Key: p.Key, KeyPos: p.KeyPos, Value: p.Value.Clone()})
			}
		}
	}
	return m
}

func (c *converter) mergeSources(v *yaml.Node, depth int) []*Node {
	var out []*Node
	add := func(y *yaml.Node) {
		n := c.convert(y, depth+1)
		if n.Kind != Map {
			c.ds.Errorf(c.pos(y), c.where(), "a merge key (<<) needs a mapping or a list of mappings, not %s", kindPhrase(n.Kind))
			return
		}
		out = append(out, n)
	}
	if v.Kind == yaml.SequenceNode {
		for _, it := range v.Content {
			add(it)
		}
	} else {
		add(v)
	}
	return out
}

func (c *converter) keyString(k *yaml.Node) string {
	if k.Kind == yaml.ScalarNode {
		return k.Value
	}
	c.ds.Errorf(c.pos(k), c.where(), "a mapping key must be a plain value, not a %s", map[yaml.Kind]string{
		yaml.MappingNode: "mapping", yaml.SequenceNode: "sequence", yaml.AliasNode: "alias"}[k.Kind])
	return fmt.Sprintf("<invalid key at line %d>", k.Line)
}

func (c *converter) scalar(n *yaml.Node) *Node {
	out := c.scalarValue(n)
	out.Quoted = out.Kind == String && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	return out
}

func (c *converter) scalarValue(n *yaml.Node) *Node {
	p := c.pos(n)
	switch n.ShortTag() {
	case "!!null":
		return NewNull(p)
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return NewBool(b, p)
		}
	case "!!int", "!!float":
		if n.Style == 0 { // plain and untagged: js-yaml's resolution applies
			if js, ok := jsYAMLNumber(n.Value); ok {
				return js.withPos(p)
			}
		}
	}
	switch n.ShortTag() {
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return NewInt(i, p)
		}
		var f float64
		if err := n.Decode(&f); err == nil {
			return NewFloat(f, p)
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			if f == math.Trunc(f) && !strings.ContainsAny(n.Value, ".eE") && math.Abs(f) < 1<<53 {
				return NewInt(int64(f), p)
			}
			return NewFloat(f, p)
		}
	case "!!timestamp":
		var t time.Time
		if err := n.Decode(&t); err == nil {
			// js-yaml builds a Date, which prints as an ISO string.
			return NewString(t.UTC().Format("2006-01-02T15:04:05.000Z"), p)
		}
	case "!!binary":
		return NewString(n.Value, p)
	}
	return NewString(n.Value, p)
}

// numberResult is how js-yaml reads a plain scalar that yaml.v3 takes for a
// number but js-yaml does not read the same way.
type numberResult struct {
	str   string
	isStr bool
	i     int64
}

func (r numberResult) withPos(p diag.Pos) *Node {
	if r.isStr {
		return NewString(r.str, p)
	}
	return NewInt(r.i, p)
}

var leadingZeroDecimal = regexp.MustCompile(`^[-+]?0[0-9]+$`)

// jsYAMLNumber handles the YAML 1.1 number forms yaml.v3 still accepts but
// js-yaml (YAML 1.2, as serverless v3 parses) does not: digits with
// underscores stay strings, and a leading zero does not mean octal.
func jsYAMLNumber(v string) (numberResult, bool) {
	if strings.Contains(v, "_") {
		return numberResult{str: v, isStr: true}, true
	}
	if leadingZeroDecimal.MatchString(v) {
		i, err := strconv.ParseInt(strings.TrimLeft(strings.TrimLeft(v, "+-"), "0"), 10, 64)
		if err != nil && strings.Trim(v, "+-0") != "" {
			return numberResult{}, false
		}
		if strings.HasPrefix(v, "-") {
			i = -i
		}
		return numberResult{i: i}, true
	}
	return numberResult{}, false
}

// size counts the nodes of a tree.
func (n *Node) size() int {
	if n == nil {
		return 0
	}
	total := 1
	for _, p := range n.Pairs {
		total += p.Value.size()
	}
	for _, it := range n.Items {
		total += it.size()
	}
	return total
}

// nearestTag suggests a known tag for a misspelt one (one or two edits,
// ignoring case).
func nearestTag(tag string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(tag), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// kindPhrase names a kind in YAML's words, for messages.
func kindPhrase(k Kind) string {
	switch k {
	case Seq:
		return "a list"
	case Map:
		return "a mapping"
	case Null:
		return "null"
	case Int, Float:
		return "a number"
	}
	return "a " + k.String()
}

// jsonSyntaxDiags reports why data is not strict JSON, positioned at the
// offending byte, or nil when it is valid.
func jsonSyntaxDiags(name string, data []byte) diag.Diagnostics {
	var v any
	err := json.Unmarshal(data, &v)
	if err == nil {
		return nil
	}
	offset := int64(len(data))
	var se *json.SyntaxError
	if errors.As(err, &se) {
		offset = se.Offset
		if offset > 0 && offset <= int64(len(data)) && !strings.Contains(se.Error(), "unexpected end") {
			offset-- // Offset counts the offending byte itself
		}
	}
	line, col := 1, 1
	for _, b := range data[:min(offset, int64(len(data)))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	var ds diag.Diagnostics
	ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: diag.Pos{File: name, Line: line, Col: col}, Width: 1,
		Summary: "invalid JSON: " + err.Error(),
		Detail:  "A .json service file is read as strict JSON (no comments, trailing commas or YAML)."})
	return ds
}
