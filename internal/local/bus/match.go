// Package bus is the local EventBridge: buses, rules from `eventBridge`
// events, event-pattern matching (also used for SNS filter policies) and
// delivery of matched events to functions.
package bus

import (
	"net"
	"strings"
)

// Match reports whether event (decoded JSON: map[string]any, []any,
// string, float64, bool, nil) matches an EventBridge event pattern.
// Fields are ANDed; the values listed for a field are ORed; an array
// field matches when any element does; nested objects recurse; "$or"
// takes alternatives.
func Match(pattern map[string]any, event any) bool {
	obj, _ := event.(map[string]any)
	for key, pv := range pattern {
		if key == "$or" {
			alts, _ := pv.([]any)
			ok := false
			for _, a := range alts {
				if m, isMap := a.(map[string]any); isMap && Match(m, event) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
			continue
		}
		ev, present := obj[key]
		switch p := pv.(type) {
		case map[string]any:
			if !Match(p, ev) {
				return false
			}
		case []any:
			if !matchField(p, ev, present) {
				return false
			}
		default:
			// A bare scalar is not valid EventBridge syntax, but SNS filter
			// policies in the wild use it; treat it as a one-value list.
			if !matchField([]any{p}, ev, present) {
				return false
			}
		}
	}
	return true
}

func matchField(conds []any, ev any, present bool) bool {
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok {
			if v, ok := m["exists"]; ok {
				if want, _ := v.(bool); want == present {
					return true
				}
				continue
			}
		}
		if !present {
			continue
		}
		if arr, ok := ev.([]any); ok {
			for _, el := range arr {
				if matchOne(c, el) {
					return true
				}
			}
			continue
		}
		if matchOne(c, ev) {
			return true
		}
	}
	return false
}

func matchOne(c, v any) bool {
	switch cv := c.(type) {
	case nil:
		return v == nil
	case string:
		s, ok := v.(string)
		return ok && s == cv
	case float64:
		n, ok := v.(float64)
		return ok && n == cv
	case bool:
		b, ok := v.(bool)
		return ok && b == cv
	case map[string]any:
		for op, arg := range cv {
			if !matchOp(op, arg, v) {
				return false
			}
		}
		return len(cv) > 0
	}
	return false
}

func matchOp(op string, arg, v any) bool {
	s, isStr := v.(string)
	switch op {
	case "prefix":
		if m, ok := arg.(map[string]any); ok { // {"prefix": {"equals-ignore-case": "x"}}
			p, _ := m["equals-ignore-case"].(string)
			return isStr && len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
		}
		p, _ := arg.(string)
		return isStr && strings.HasPrefix(s, p)
	case "suffix":
		if m, ok := arg.(map[string]any); ok {
			p, _ := m["equals-ignore-case"].(string)
			return isStr && len(s) >= len(p) && strings.EqualFold(s[len(s)-len(p):], p)
		}
		p, _ := arg.(string)
		return isStr && strings.HasSuffix(s, p)
	case "equals-ignore-case":
		p, _ := arg.(string)
		return isStr && strings.EqualFold(s, p)
	case "wildcard":
		p, _ := arg.(string)
		return isStr && wildcard(p, s)
	case "anything-but":
		switch a := arg.(type) {
		case []any:
			for _, x := range a {
				if matchOne(x, v) {
					return false
				}
			}
			return true
		case map[string]any:
			for op2, arg2 := range a {
				if matchOp(op2, arg2, v) {
					return false
				}
			}
			return true
		default:
			return !matchOne(a, v)
		}
	case "numeric":
		n, ok := v.(float64)
		if !ok {
			return false
		}
		args, _ := arg.([]any)
		for i := 0; i+1 < len(args); i += 2 {
			o, _ := args[i].(string)
			x, _ := args[i+1].(float64)
			var good bool
			switch o {
			case "=":
				good = n == x
			case "<":
				good = n < x
			case "<=":
				good = n <= x
			case ">":
				good = n > x
			case ">=":
				good = n >= x
			}
			if !good {
				return false
			}
		}
		return len(args) >= 2
	case "cidr":
		p, _ := arg.(string)
		_, nw, err := net.ParseCIDR(p)
		ip := net.ParseIP(s)
		return err == nil && isStr && ip != nil && nw.Contains(ip)
	}
	return false
}

// wildcard matches * as any run of characters.
func wildcard(p, s string) bool {
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
