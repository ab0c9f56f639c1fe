package gateway

import (
	"strconv"
	"unicode/utf8"
)

// The request events are written by hand into a reused buffer: this is the
// hot path of `nimbus dev`, and encoding/json's reflection and map sorting
// cost more than the rest of the gateway together.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string literal.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendKey appends `"key":`.
func appendKey(b []byte, key string) []byte {
	b = appendString(b, key)
	return append(b, ':')
}

// appendStringMap appends a JSON object of strings, or null when empty and
// nullWhenEmpty is set (API Gateway sends null, not {}, for absent maps).
func appendStringMap(b []byte, m map[string]string, nullWhenEmpty bool) []byte {
	return appendObject(b, m, nullWhenEmpty, appendString)
}

// appendMultiMap appends a JSON object of string arrays, or null when empty.
func appendMultiMap(b []byte, m map[string][]string, nullWhenEmpty bool) []byte {
	return appendObject(b, m, nullWhenEmpty, appendStringArray)
}

// appendObject appends m as a JSON object, each value written by
// appendValue; an empty map is {} or, with nullWhenEmpty, null.
func appendObject[V any](b []byte, m map[string]V, nullWhenEmpty bool, appendValue func([]byte, V) []byte) []byte {
	if len(m) == 0 {
		if nullWhenEmpty {
			return append(b, "null"...)
		}
		return append(b, "{}"...)
	}
	b = append(b, '{')
	first := true
	for k, v := range m {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendKey(b, k)
		b = appendValue(b, v)
	}
	return append(b, '}')
}

func appendStringArray(b []byte, vs []string) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
