package aws

import (
	"bytes"
	"encoding/json"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
)

// This file emulates JavaScript's JSON.stringify, which serverless v3 uses
// to build strings that end up in templates (event inputs, policies) and to
// compute hashes (layer and websocket deployment IDs). Matching it byte for
// byte keeps those strings and hashes identical to v3's.

// stringifyNode is JSON.stringify of a config value: keys in source order,
// no HTML escaping.
func stringifyNode(n *config.Node) string {
	var b bytes.Buffer
	writeJSValue(&b, nodeOrdered(n), false)
	return b.String()
}

// quoteJS quotes s as JSON.stringify does.
func quoteJS(s string) string {
	var b bytes.Buffer
	writeJSString(&b, s)
	return b.String()
}

// stringifyValue is JSON.stringify of a template value (Go maps print
// with sorted keys; only used for values v3 builds itself).
func stringifyValue(v any) string {
	data, _ := cfn.MarshalCompact(v)
	return string(data)
}

// writeJSValue writes v as JavaScript's JSON.stringify would (no spaces, no
// HTML escaping). Plain maps are written with keys in v3's deepSort order
// when sortKeys is set, else sorted bytewise (only used for maps whose
// order v3 would also have sorted).
func writeJSValue(b *bytes.Buffer, v any, sortKeys bool) {
	switch x := v.(type) {
	case *ordered:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSString(b, k)
			b.WriteByte(':')
			writeJSValue(b, x.vals[i], sortKeys)
		}
		b.WriteByte('}')
	case *config.Node:
		writeJSValue(b, nodeOrdered(x), sortKeys)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortLocale(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSString(b, k)
			b.WriteByte(':')
			writeJSValue(b, x[k], sortKeys)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSValue(b, e, sortKeys)
		}
		b.WriteByte(']')
	case string:
		writeJSString(b, x)
	case float64:
		b.WriteString(config.FormatJSNumber(x))
	case nil:
		b.WriteString("null")
	default:
		data, _ := json.Marshal(x)
		b.Write(data)
	}
}

// nodeOrdered converts a config node to JSON-shaped values keeping map
// order (as the JS object v3 holds after parsing YAML).
func nodeOrdered(n *config.Node) any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case config.Map:
		o := newOrdered()
		for _, p := range n.Pairs {
			o.add(p.Key, nodeOrdered(p.Value))
		}
		return o
	case config.Seq:
		s := make([]any, len(n.Items))
		for i, it := range n.Items {
			s[i] = nodeOrdered(it)
		}
		return s
	}
	return n.Value
}

func writeJSString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	out := bytes.TrimRight(tmp.Bytes(), "\n")
	// JSON.stringify leaves U+2028/U+2029 unescaped; Go escapes them.
	out = bytes.ReplaceAll(out, []byte(`\u2028`), []byte("\u2028"))
	out = bytes.ReplaceAll(out, []byte(`\u2029`), []byte("\u2029"))
	b.Write(out)
}
