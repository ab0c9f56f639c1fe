// Package config reads serverless.yml / .yaml / .json into a Node tree whose
// every node keeps the file, line and column it came from, turning
// CloudFormation short-form tags (!Ref, !GetAtt, …) into their long form the
// way serverless v3 does. Later stages (variables, schema, compile) work on
// this tree, so any problem they find can point back at the source.
package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/nimbusfw/nimbus/internal/diag"
)

// Kind is the type of a node's value.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Int
	Float
	String
	Map
	Seq
)

func (k Kind) String() string {
	return [...]string{"null", "boolean", "integer", "number", "string", "object", "array"}[k]
}

// Node is one value of the service config. Scalars keep their decoded value in
// Value (nil, bool, int64, float64 or string); maps keep their keys in source
// order in Pairs; sequences keep Items.
type Node struct {
	Kind  Kind
	Pos   diag.Pos
	Value any
	Pairs []Pair
	Items []*Node
	// Sensitive marks a value that came from a secret (an SSM SecureString):
	// printers mask it unless asked to show secrets. Values built from it
	// by interpolation inherit the mark.
	Sensitive bool
	// Quoted marks a string scalar written in quotes, so diagnostics can
	// underline the quotes too.
	Quoted bool
}

// Pair is one key of a map with the position of the key itself.
type Pair struct {
	Key    string
	KeyPos diag.Pos
	Value  *Node
}

// Constructors for nodes built by code rather than read from a file.

func NewNull(pos diag.Pos) *Node             { return &Node{Kind: Null, Pos: pos} }
func NewBool(v bool, pos diag.Pos) *Node     { return &Node{Kind: Bool, Value: v, Pos: pos} }
func NewInt(v int64, pos diag.Pos) *Node     { return &Node{Kind: Int, Value: v, Pos: pos} }
func NewFloat(v float64, pos diag.Pos) *Node { return &Node{Kind: Float, Value: v, Pos: pos} }
func NewString(v string, pos diag.Pos) *Node { return &Node{Kind: String, Value: v, Pos: pos} }
func NewMap(pos diag.Pos) *Node              { return &Node{Kind: Map, Pos: pos} }
func NewSeq(pos diag.Pos, items ...*Node) *Node {
	return &Node{Kind: Seq, Pos: pos, Items: items}
}

// IsScalar reports whether n is neither a map nor a sequence.
func (n *Node) IsScalar() bool { return n != nil && n.Kind != Map && n.Kind != Seq }

// Get returns the value under key in a map node, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	for i := range n.Pairs {
		if n.Pairs[i].Key == key {
			return n.Pairs[i].Value
		}
	}
	return nil
}

// Pair returns the pair for key in a map node, or nil.
func (n *Node) Pair(key string) *Pair {
	if n == nil || n.Kind != Map {
		return nil
	}
	for i := range n.Pairs {
		if n.Pairs[i].Key == key {
			return &n.Pairs[i]
		}
	}
	return nil
}

// Has reports whether a map node has key.
func (n *Node) Has(key string) bool { return n.Pair(key) != nil }

// Set replaces or appends key in a map node.
func (n *Node) Set(key string, v *Node) {
	if p := n.Pair(key); p != nil {
		p.Value = v
		return
	}
	n.Pairs = append(n.Pairs, Pair{Key: key, KeyPos: v.Pos, Value: v})
}

// Delete removes key from a map node.
func (n *Node) Delete(key string) {
	if n == nil || n.Kind != Map {
		return
	}
	for i := range n.Pairs {
		if n.Pairs[i].Key == key {
			n.Pairs = append(n.Pairs[:i], n.Pairs[i+1:]...)
			return
		}
	}
}

// Keys returns a map node's keys in source order.
func (n *Node) Keys() []string {
	if n == nil || n.Kind != Map {
		return nil
	}
	keys := make([]string, len(n.Pairs))
	for i, p := range n.Pairs {
		keys[i] = p.Key
	}
	return keys
}

// Lookup follows a path of map keys and sequence indexes ("0", "1", …).
func (n *Node) Lookup(path ...string) *Node {
	cur := n
	for _, p := range path {
		if cur == nil {
			return nil
		}
		switch cur.Kind {
		case Map:
			cur = cur.Get(p)
		case Seq:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(cur.Items) {
				return nil
			}
			cur = cur.Items[i]
		default:
			return nil
		}
	}
	return cur
}

// Str returns a string scalar's value and whether n is one.
func (n *Node) Str() (string, bool) {
	if n == nil || n.Kind != String {
		return "", false
	}
	return n.Value.(string), true
}

// StringOr returns a string scalar's value, or def for anything else.
func (n *Node) StringOr(def string) string {
	if s, ok := n.Str(); ok {
		return s
	}
	return def
}

// Scalar returns a scalar's text the way JavaScript's String() would print it
// (numbers without trailing zeros, null as "null"), which is how serverless
// v3 interpolates a value into a string.
func (n *Node) Scalar() string {
	if n == nil {
		return "null"
	}
	switch n.Kind {
	case Null:
		return "null"
	case Bool:
		return strconv.FormatBool(n.Value.(bool))
	case Int:
		return strconv.FormatInt(n.Value.(int64), 10)
	case Float:
		return FormatJSNumber(n.Value.(float64))
	case String:
		return n.Value.(string)
	case Map:
		return "[object Object]"
	}
	parts := make([]string, len(n.Items))
	for i, it := range n.Items {
		if it.Kind == Null {
			continue
		}
		parts[i] = it.Scalar()
	}
	return strings.Join(parts, ",")
}

// FormatJSNumber prints a float as JavaScript's Number.prototype.toString.
func FormatJSNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Int returns an integer scalar (or an integral float) and whether n is one.
func (n *Node) Int() (int64, bool) {
	if n == nil {
		return 0, false
	}
	switch n.Kind {
	case Int:
		return n.Value.(int64), true
	case Float:
		f := n.Value.(float64)
		if f == math.Trunc(f) {
			return int64(f), true
		}
	}
	return 0, false
}

// Boolean returns a boolean scalar and whether n is one.
func (n *Node) Boolean() (bool, bool) {
	if n == nil || n.Kind != Bool {
		return false, false
	}
	return n.Value.(bool), true
}

// Truthy follows JavaScript truthiness, as serverless v3 checks options.
func (n *Node) Truthy() bool {
	if n == nil {
		return false
	}
	switch n.Kind {
	case Null:
		return false
	case Bool:
		return n.Value.(bool)
	case Int:
		return n.Value.(int64) != 0
	case Float:
		f := n.Value.(float64)
		return f != 0 && !math.IsNaN(f)
	case String:
		return n.Value.(string) != ""
	}
	return true
}

// Clone deep-copies a node.
func (n *Node) Clone() *Node {
	if n == nil {
		return nil
	}
	c := *n
	if n.Pairs != nil {
		c.Pairs = make([]Pair, len(n.Pairs))
		for i, p := range n.Pairs {
			c.Pairs[i] = Pair{Key: p.Key, KeyPos: p.KeyPos, Value: p.Value.Clone()}
		}
	}
	if n.Items != nil {
		c.Items = make([]*Node, len(n.Items))
		for i, it := range n.Items {
			c.Items[i] = it.Clone()
		}
	}
	return &c
}

// Interface converts the tree to plain Go values: map[string]any,
// []any, string, bool, int64, float64, nil. Map key order is lost; use
// MarshalJSON or ToYAML to keep it.
func (n *Node) Interface() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case Map:
		m := make(map[string]any, len(n.Pairs))
		for _, p := range n.Pairs {
			m[p.Key] = p.Value.Interface()
		}
		return m
	case Seq:
		s := make([]any, len(n.Items))
		for i, it := range n.Items {
			s[i] = it.Interface()
		}
		return s
	}
	return n.Value
}

// FromInterface builds a tree from plain Go values (as produced by
// encoding/json or yaml decoding into any); every node gets pos. Map keys are
// sorted because Go maps have no order.
func FromInterface(v any, pos diag.Pos) *Node {
	switch x := v.(type) {
	case nil:
		return NewNull(pos)
	case *Node:
		return x
	case bool:
		return NewBool(x, pos)
	case int:
		return NewInt(int64(x), pos)
	case int64:
		return NewInt(x, pos)
	case uint64:
		return NewInt(int64(x), pos)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return NewInt(int64(x), pos)
		}
		return NewFloat(x, pos)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return NewInt(i, pos)
		}
		f, _ := x.Float64()
		return NewFloat(f, pos)
	case string:
		return NewString(x, pos)
	case []string:
		s := NewSeq(pos)
		for _, it := range x {
			s.Items = append(s.Items, NewString(it, pos))
		}
		return s
	case []any:
		s := NewSeq(pos)
		for _, it := range x {
			s.Items = append(s.Items, FromInterface(it, pos))
		}
		return s
	case map[string]any:
		m := NewMap(pos)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m.Pairs = append(m.Pairs, Pair{Key: k, KeyPos: pos, Value: FromInterface(x[k], pos)})
		}
		return m
	}
	return NewString(fmt.Sprint(v), pos)
}

// MarshalJSON writes the tree as JSON, keeping map key order.
func (n *Node) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := n.writeJSON(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (n *Node) writeJSON(b *bytes.Buffer) error {
	if n == nil {
		b.WriteString("null")
		return nil
	}
	switch n.Kind {
	case Map:
		b.WriteByte('{')
		for i, p := range n.Pairs {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(p.Key)
			b.Write(k)
			b.WriteByte(':')
			if err := p.Value.writeJSON(b); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case Seq:
		b.WriteByte('[')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := it.writeJSON(b); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case Float:
		f := n.Value.(float64)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b.WriteString("null") // what JSON.stringify does
			return nil
		}
		b.WriteString(FormatJSNumber(f))
	default:
		v, err := json.Marshal(n.Value)
		if err != nil {
			return err
		}
		b.Write(v)
	}
	return nil
}

// Path is a key path inside the config: map keys and sequence indexes.
type Path []any

// Child returns a new path with one more element.
func (p Path) Child(elem any) Path {
	c := make(Path, len(p), len(p)+1)
	copy(c, p)
	return append(c, elem)
}

// String prints the path as serverless does: "functions.hello.events.0.http"
// uses dots for keys; indexes are shown in brackets ("events[0]").
func (p Path) String() string {
	var b strings.Builder
	for i, e := range p {
		switch v := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// Walk calls fn for every node in depth-first order with its path. Returning
// false from fn skips the node's children.
func Walk(n *Node, path Path, fn func(n *Node, path Path) bool) {
	if n == nil || !fn(n, path) {
		return
	}
	switch n.Kind {
	case Map:
		for _, p := range n.Pairs {
			Walk(p.Value, path.Child(p.Key), fn)
		}
	case Seq:
		for i, it := range n.Items {
			Walk(it, path.Child(i), fn)
		}
	}
}

// Scalar0 is Scalar for scalars and "" for nil, maps and sequences: the text
// of an optional setting.
func (n *Node) Scalar0() string {
	if n == nil || !n.IsScalar() || n.Kind == Null {
		return ""
	}
	return n.Scalar()
}

// List returns a sequence's items, or nil for anything else (nil-safe, so
// optional lists can be ranged over directly).
func (n *Node) List() []*Node {
	if n == nil || n.Kind != Seq {
		return nil
	}
	return n.Items
}

// Entries returns a map's pairs, or nil for anything else (nil-safe).
func (n *Node) Entries() []Pair {
	if n == nil || n.Kind != Map {
		return nil
	}
	return n.Pairs
}
