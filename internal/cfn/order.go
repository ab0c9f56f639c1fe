package cfn

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// MarshalJSON writes the template with its sections in the conventional
// order and Resources in dependency order: a resource comes after every
// resource it names through DependsOn, Ref, Fn::GetAtt or Fn::Sub (ties
// alphabetical). CloudFormation itself does not care, but simpler engines
// (moto among them) create resources in document order, and a stable,
// dependency-first order also makes templates easier to read and diff.
func (t *Template) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	field := func(key string, v any) error {
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(key)
		b.Write(k)
		b.WriteByte(':')
		return encodeCompact(&b, v)
	}
	if err := field("AWSTemplateFormatVersion", t.AWSTemplateFormatVersion); err != nil {
		return nil, err
	}
	if t.Description != "" {
		if err := field("Description", t.Description); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		key string
		v   map[string]any
	}{{"Metadata", t.Metadata}, {"Parameters", t.Parameters}, {"Mappings", t.Mappings}, {"Conditions", t.Conditions}} {
		if len(s.v) > 0 {
			if err := field(s.key, s.v); err != nil {
				return nil, err
			}
		}
	}
	if t.Transform != nil {
		if err := field("Transform", t.Transform); err != nil {
			return nil, err
		}
	}
	if len(t.Rules) > 0 {
		if err := field("Rules", t.Rules); err != nil {
			return nil, err
		}
	}
	if !first {
		b.WriteByte(',')
	}
	b.WriteString(`"Resources":{`)
	for i, id := range DependencyOrder(t.Resources) {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(id)
		b.Write(k)
		b.WriteByte(':')
		if err := encodeCompact(&b, t.Resources[id]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	if len(t.Outputs) > 0 {
		b.WriteByte(',')
		b.WriteString(`"Outputs":`)
		if err := encodeCompact(&b, t.Outputs); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func encodeCompact(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// DependencyOrder sorts resource IDs so that each comes after the
// resources it depends on; cycles (invalid in CloudFormation anyway) fall
// back to alphabetical order.
func DependencyOrder(resources map[string]any) []string {
	deps := make(map[string]map[string]bool, len(resources))
	for id, r := range resources {
		d := map[string]bool{}
		collectRefs(r, resources, d)
		delete(d, id)
		deps[id] = d
	}
	var order []string
	done := make(map[string]bool, len(resources))
	remaining := make([]string, 0, len(resources))
	for id := range resources {
		remaining = append(remaining, id)
	}
	sort.Strings(remaining)
	for len(remaining) > 0 {
		progressed := false
		next := remaining[:0:0]
		for _, id := range remaining {
			ready := true
			for d := range deps[id] {
				if !done[d] {
					ready = false
					break
				}
			}
			if ready {
				order = append(order, id)
				done[id] = true
				progressed = true
			} else {
				next = append(next, id)
			}
		}
		if !progressed {
			return append(order, next...)
		}
		remaining = next
	}
	return order
}

var subRefRE = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}`)

func collectRefs(v any, resources map[string]any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			switch k {
			case "DependsOn":
				switch d := val.(type) {
				case string:
					out[d] = true
				case []any:
					for _, e := range d {
						if s, ok := e.(string); ok {
							out[s] = true
						}
					}
				case []string:
					for _, s := range d {
						out[s] = true
					}
				}
				continue
			case "Ref":
				if s, ok := val.(string); ok {
					if _, isRes := resources[s]; isRes {
						out[s] = true
					}
				}
			case "Fn::GetAtt":
				switch g := val.(type) {
				case []any:
					if len(g) > 0 {
						if s, ok := g[0].(string); ok {
							if _, isRes := resources[s]; isRes {
								out[s] = true
							}
						}
					}
				case string:
					name, _, _ := strings.Cut(g, ".")
					if _, isRes := resources[name]; isRes {
						out[name] = true
					}
				}
			case "Fn::Sub":
				s, _ := val.(string)
				if l, ok := val.([]any); ok && len(l) > 0 {
					s, _ = l[0].(string)
				}
				for _, m := range subRefRE.FindAllStringSubmatch(s, -1) {
					if _, isRes := resources[m[1]]; isRes {
						out[m[1]] = true
					}
				}
			}
			collectRefs(val, resources, out)
		}
	case []any:
		for _, e := range x {
			collectRefs(e, resources, out)
		}
	}
}
