package gateway

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A minimal JSON reader for proxy responses: the gateway needs five
// fields of one small object per request, and encoding/json's reflection
// was the largest cost left in the response path.
type reader struct {
	b []byte
	i int
}

func (r *reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *reader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// str reads a string literal.
func (r *reader) str() (string, bool) {
	b, ok := r.strBytes()
	return string(b), ok
}

// strBytes reads a string literal; without escapes the result aliases
// the input instead of copying it.
func (r *reader) strBytes() ([]byte, bool) {
	if r.peek() != '"' {
		return nil, false
	}
	r.i++
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		if c == '"' {
			s := r.b[start:r.i]
			r.i++
			return s, true
		}
		if c == '\\' {
			return r.strSlow(start)
		}
		if c < 0x20 {
			return nil, false
		}
		r.i++
	}
	return nil, false
}

func (r *reader) strSlow(start int) ([]byte, bool) {
	out := append([]byte(nil), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return out, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			out = append(out, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.b) {
			return nil, false
		}
		e := r.b[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			c1, ok := r.hex4()
			if !ok {
				return nil, false
			}
			ru := rune(c1)
			if utf16.IsSurrogate(ru) {
				ru = utf8.RuneError
				if r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
					save := r.i
					r.i += 2
					if c2, ok := r.hex4(); ok {
						if d := utf16.DecodeRune(rune(c1), rune(c2)); d != utf8.RuneError {
							ru = d
						} else {
							r.i = save
						}
					} else {
						r.i = save
					}
				}
			}
			out = utf8.AppendRune(out, ru)
		default:
			return nil, false
		}
	}
	return nil, false
}

func (r *reader) hex4() (uint16, bool) {
	if r.i+4 > len(r.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(r.b[r.i:r.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	r.i += 4
	return uint16(v), true
}

// skip passes over any value and returns its raw bytes.
func (r *reader) skip() ([]byte, bool) {
	c := r.peek()
	start := r.i
	switch {
	case c == '"':
		_, ok := r.strBytes()
		return r.b[start:r.i], ok
	case c == '{' || c == '[':
		depth := 0
		for r.i < len(r.b) {
			switch r.b[r.i] {
			case '"':
				if _, ok := r.strBytes(); !ok {
					return nil, false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					r.i++
					return r.b[start:r.i], true
				}
			}
			r.i++
		}
		return nil, false
	default:
		for r.i < len(r.b) {
			switch r.b[r.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if r.i == start {
					return nil, false
				}
				return r.b[start:r.i], true
			}
			r.i++
		}
		if r.i == start {
			return nil, false
		}
		return r.b[start:r.i], true
	}
}

// object calls field for each key (aliasing the input when it has no
// escapes); field must consume the value.
func (r *reader) object(field func(key []byte) bool) bool {
	if r.peek() != '{' {
		return false
	}
	r.i++
	if r.peek() == '}' {
		r.i++
		return true
	}
	for {
		k, ok := r.strBytes()
		if !ok || r.peek() != ':' {
			return false
		}
		r.i++
		if !field(k) {
			return false
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return true
		default:
			return false
		}
	}
}

// array calls item for each element; item must consume it.
func (r *reader) array(item func() bool) bool {
	if r.peek() != '[' {
		return false
	}
	r.i++
	if r.peek() == ']' {
		r.i++
		return true
	}
	for {
		if !item() {
			return false
		}
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return true
		default:
			return false
		}
	}
}

// scalarText reads a header value: strings decoded, numbers and booleans
// as written.
func (r *reader) scalarText() (string, bool) {
	if r.peek() == '"' {
		return r.str()
	}
	raw, ok := r.skip()
	if !ok || len(raw) == 0 || raw[0] == '{' || raw[0] == '[' {
		return "", ok
	}
	return string(raw), true
}

// proxyFields are the parts of a proxy response the gateway uses.
type proxyFields struct {
	hasStatus  bool
	status     string
	headers    [][2]string
	multi      [][2]string
	body       []byte
	bodyKind   byte // 0 absent/null, 's' string, 'x' anything else
	base64     bool
	cookies    []string
	badCookies bool
}

// parseProxy reads a top-level JSON object as a proxy response; ok is
// false when p is not a well-formed object.
func parseProxy(p []byte) (pf proxyFields, ok bool) {
	r := &reader{b: p}
	ok = r.object(func(key []byte) bool {
		switch string(key) {
		case "statusCode":
			raw, ok := r.skip()
			if !ok {
				return false
			}
			if string(raw) == "null" {
				return true
			}
			pf.hasStatus = true
			if raw[0] == '"' {
				s, _ := (&reader{b: raw}).str()
				pf.status = s
			} else {
				pf.status = string(raw)
			}
			return true
		case "headers":
			pf.headers = pf.headers[:0]
			if r.peek() != '{' {
				_, ok := r.skip()
				return ok
			}
			return r.object(func(k []byte) bool {
				v, ok := r.scalarText()
				pf.headers = append(pf.headers, [2]string{string(k), v})
				return ok
			})
		case "multiValueHeaders":
			pf.multi = pf.multi[:0]
			if r.peek() != '{' {
				_, ok := r.skip()
				return ok
			}
			return r.object(func(kb []byte) bool {
				k := string(kb)
				if r.peek() != '[' {
					v, ok := r.scalarText()
					pf.multi = append(pf.multi, [2]string{k, v})
					return ok
				}
				return r.array(func() bool {
					v, ok := r.scalarText()
					pf.multi = append(pf.multi, [2]string{k, v})
					return ok
				})
			})
		case "body":
			switch r.peek() {
			case '"':
				s, ok := r.strBytes()
				pf.body, pf.bodyKind = s, 's'
				return ok
			default:
				raw, ok := r.skip()
				if string(raw) != "null" {
					pf.bodyKind = 'x'
				}
				return ok
			}
		case "isBase64Encoded":
			raw, ok := r.skip()
			pf.base64 = string(raw) == "true"
			return ok
		case "cookies":
			pf.cookies = pf.cookies[:0]
			if r.peek() != '[' {
				_, ok := r.skip()
				return ok
			}
			return r.array(func() bool {
				s, ok := r.str()
				pf.cookies = append(pf.cookies, s)
				return ok
			})
		}
		_, ok := r.skip()
		return ok
	})
	if ok && r.peek() != 0 {
		ok = false
	}
	return pf, ok
}
