package cfn

import "reflect"

// DeepCopy copies a JSON-shaped value (maps and slices are duplicated).
func DeepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = DeepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = DeepCopy(e)
		}
		return s
	}
	return v
}

// Equal compares two JSON-shaped values, treating every integer and float
// type as a number (int64 from config and float64 from encoding/json).
func Equal(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !Equal(e, f) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Merge deep-merges src into dst the way lodash's _.merge does, which is
// how serverless v3 applies `resources` onto the compiled template: plain
// objects merge key by key, arrays merge index by index, any other source
// value (null included) replaces the destination. It returns the result,
// which is dst itself when dst is a map or slice.
func Merge(dst, src any) any {
	switch s := src.(type) {
	case map[string]any:
		if arr, isArr := dst.([]any); isArr {
			// lodash sets the keys as array properties, which JSON drops.
			return arr
		}
		d, ok := dst.(map[string]any)
		if !ok {
			d = map[string]any{}
		}
		for k, v := range s {
			if cur, exists := d[k]; exists {
				d[k] = Merge(cur, v)
			} else {
				d[k] = Merge(nil, v)
			}
		}
		return d
	case []any:
		d, ok := dst.([]any)
		if !ok {
			d = make([]any, 0, len(s))
		}
		for i, v := range s {
			if i < len(d) {
				d[i] = Merge(d[i], v)
			} else {
				d = append(d, Merge(nil, v))
			}
		}
		return d
	}
	return src
}

// StripNulls removes every null-valued key from maps below v, recursively
// (v3's stripNullPropsFromTemplateResources; array elements stay).
func StripNulls(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			StripNulls(e)
		}
	case []any:
		for _, e := range x {
			StripNulls(e)
		}
	}
}

// Clone deep-copies a template.
func (t *Template) Clone() *Template {
	c := *t
	cp := func(m map[string]any) map[string]any {
		if m == nil {
			return nil
		}
		return DeepCopy(m).(map[string]any)
	}
	c.Metadata, c.Parameters, c.Mappings = cp(t.Metadata), cp(t.Parameters), cp(t.Mappings)
	c.Conditions, c.Rules, c.Resources, c.Outputs = cp(t.Conditions), cp(t.Rules), cp(t.Resources), cp(t.Outputs)
	c.Transform = DeepCopy(t.Transform)
	return &c
}
