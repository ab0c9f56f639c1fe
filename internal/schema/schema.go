// Package schema validates a resolved service config against the aws
// provider's schema, as serverless v3's configValidationMode does, and
// applies v3's other up-front rejections (frameworkVersion, object service,
// missing handler, …). Problems come back as positioned diagnostics.
package schema

import (
	"regexp"
	"sync"
)

// Schema is the subset of JSON Schema that serverless v3's config schema
// uses. A zero Schema accepts anything.
type Schema struct {
	// Types lists the accepted JSON types: "string", "integer", "number",
	// "boolean", "object", "array" (empty: any).
	Types []string
	Enum  []any
	// EnumFold compares string Enum values ignoring letter case.
	EnumFold bool
	Const    any
	HasConst bool

	// Pattern is the regular expression text shown in messages; match tests
	// it. Patterns RE2 cannot express (lookahead) come with a hand-written
	// matcher instead of a compiled expression.
	Pattern string
	match   func(string) bool
	// jsRegexp marks v3's own "regexp" keyword (a JavaScript /…/flags
	// literal), which v3 reports as "value 'x' does not satisfy pattern".
	jsRegexp bool
	// Format is an ajv-formats name ("uri", "date-time").
	Format string
	// Dependencies: when the key is present, the listed keys must be too.
	Dependencies map[string][]string
	// Hint is shown under a pattern mismatch: what a valid value looks like.
	Hint string

	MinLength, MaxLength int // -1: no bound
	Minimum, Maximum     *float64
	MinItems, MaxItems   int // -1: no bound
	MinProps, MaxProps   int // -1: no bound

	Properties   map[string]*Schema
	PatternProps []PatternProp
	// Additional validates keys matched by neither Properties nor
	// PatternProps; Closed rejects them instead.
	Additional *Schema
	Closed     bool
	Required   []string
	// KeyName names the map's keys in the message for a key that matches
	// no pattern ("function name"), instead of "unrecognized property".
	KeyName string

	Items       *Schema
	TupleItems  []*Schema
	UniqueItems bool
	// PropertyNames validates every key of a map (as a string).
	PropertyNames *Schema

	AnyOf, OneOf, AllOf []*Schema

	// Ref names an entry of the definitions table.
	Ref string

	// Events marks a function's event list item: a one-key map whose key
	// picks the event type's schema. v3 expresses this as a large anyOf;
	// a lookup gives clearer messages ("unsupported function event 'htp'").
	Events map[string]*Schema
}

// PatternProp validates the values of a map's keys that match Pattern.
type PatternProp struct {
	Pattern string
	match   func(string) bool
	Schema  *Schema
}

// definitions is the shared table $ref points into, filled by aws.go.
var definitions = map[string]*Schema{}

func resolveRef(s *Schema) *Schema {
	for s != nil && s.Ref != "" {
		d, ok := definitions[s.Ref]
		if !ok {
			panic("schema: unknown definition " + s.Ref)
		}
		s = d
	}
	return s
}

// Builders keep the schema table in aws.go short enough to read against
// v3's definitions.

type option func(*Schema)

func newSchema(opts []option) *Schema {
	s := &Schema{MinLength: -1, MaxLength: -1, MinItems: -1, MaxItems: -1, MinProps: -1, MaxProps: -1}
	for _, o := range opts {
		o(s)
	}
	return s
}

func any_(opts ...option) *Schema { return newSchema(opts) }

func str(opts ...option) *Schema {
	return newSchema(append([]option{typ("string")}, opts...))
}

func integer(opts ...option) *Schema {
	return newSchema(append([]option{typ("integer")}, opts...))
}

func number(opts ...option) *Schema {
	return newSchema(append([]option{typ("number")}, opts...))
}

func boolean() *Schema { return newSchema([]option{typ("boolean")}) }

// object is a closed map: keys outside props are reported.
func object(props map[string]*Schema, opts ...option) *Schema {
	s := newSchema(append([]option{typ("object"), closed()}, opts...))
	s.Properties = props
	return s
}

// openObject is a map whose listed keys are checked and others are free.
func openObject(props map[string]*Schema, opts ...option) *Schema {
	s := newSchema(append([]option{typ("object")}, opts...))
	s.Properties = props
	return s
}

// mapOf is a map whose every value follows v.
func mapOf(v *Schema, opts ...option) *Schema {
	s := newSchema(append([]option{typ("object")}, opts...))
	s.Additional = v
	return s
}

func array(items *Schema, opts ...option) *Schema {
	s := newSchema(append([]option{typ("array")}, opts...))
	s.Items = items
	return s
}

func enum(values ...any) *Schema {
	s := newSchema(nil)
	s.Enum = values
	return s
}

func constant(v any) *Schema {
	s := newSchema(nil)
	s.Const, s.HasConst = v, true
	return s
}

func anyOf(alts ...*Schema) *Schema {
	s := newSchema(nil)
	s.AnyOf = alts
	return s
}

func oneOf(alts ...*Schema) *Schema {
	s := newSchema(nil)
	s.OneOf = alts
	return s
}

// events is a function's event list item, keyed by event type.
func events(types map[string]*Schema) *Schema {
	s := newSchema(nil)
	s.Events = types
	return s
}

func ref(name string) *Schema {
	s := newSchema(nil)
	s.Ref = name
	return s
}

func typ(types ...string) option { return func(s *Schema) { s.Types = types } }
func closed() option             { return func(s *Schema) { s.Closed = true } }
func required(keys ...string) option {
	return func(s *Schema) { s.Required = append(s.Required, keys...) }
}
func minLen(n int) option      { return func(s *Schema) { s.MinLength = n } }
func maxLen(n int) option      { return func(s *Schema) { s.MaxLength = n } }
func minItems(n int) option    { return func(s *Schema) { s.MinItems = n } }
func maxItems(n int) option    { return func(s *Schema) { s.MaxItems = n } }
func minProps(n int) option    { return func(s *Schema) { s.MinProps = n } }
func maxProps(n int) option    { return func(s *Schema) { s.MaxProps = n } }
func atLeast(v float64) option { return func(s *Schema) { s.Minimum = &v } }
func format(f string) option   { return func(s *Schema) { s.Format = f } }
func dependencies(key string, needs ...string) option {
	return func(s *Schema) {
		if s.Dependencies == nil {
			s.Dependencies = map[string][]string{}
		}
		s.Dependencies[key] = needs
	}
}
func uniqueItems() option            { return func(s *Schema) { s.UniqueItems = true } }
func propertyNames(n *Schema) option { return func(s *Schema) { s.PropertyNames = n } }
func hint(h string) option           { return func(s *Schema) { s.Hint = h } }
func keyName(n string) option        { return func(s *Schema) { s.KeyName = n } }
func allOf(alts ...*Schema) option {
	return func(s *Schema) { s.AllOf = append(s.AllOf, alts...) }
}
func withAnyOf(alts ...*Schema) option { return func(s *Schema) { s.AnyOf = alts } }
func withOneOf(alts ...*Schema) option { return func(s *Schema) { s.OneOf = alts } }

func rng(lo, hi float64) option {
	return func(s *Schema) { s.Minimum, s.Maximum = &lo, &hi }
}

// patternCache shares compiled expressions: many schemas repeat a pattern.
var patternCache sync.Map

func compilePattern(p string) func(string) bool {
	if re, ok := patternCache.Load(p); ok {
		return re.(*regexp.Regexp).MatchString
	}
	re := regexp.MustCompile(p)
	patternCache.Store(p, re)
	return re.MatchString
}

func pattern(p string) option {
	return func(s *Schema) { s.Pattern, s.match = p, compilePattern(p) }
}

// jsRegexp is v3's "regexp" keyword: source in JavaScript literal form,
// optionally case-insensitive.
func jsRegexp(source string, fold bool) option {
	return func(s *Schema) {
		expr, lit := source, "/"+source+"/"
		if fold {
			expr, lit = "(?i)"+source, lit+"i"
		}
		s.Pattern, s.match, s.jsRegexp = lit, compilePattern(expr), true
	}
}

// customPattern shows p in messages but tests with fn, for v3 patterns that
// use lookahead, which Go's regexp lacks.
func customPattern(p string, fn func(string) bool) option {
	return func(s *Schema) { s.Pattern, s.match = p, fn }
}

func patternProps(pairs ...any) option {
	return func(s *Schema) {
		for i := 0; i+1 < len(pairs); i += 2 {
			p := pairs[i].(string)
			s.PatternProps = append(s.PatternProps, PatternProp{Pattern: p, match: compilePattern(p), Schema: pairs[i+1].(*Schema)})
		}
	}
}

// patternPropsFunc is patternProps for a key rule RE2 cannot express.
func patternPropsFunc(p string, fn func(string) bool, v *Schema) option {
	return func(s *Schema) {
		s.PatternProps = append(s.PatternProps, PatternProp{Pattern: p, match: fn, Schema: v})
	}
}

func (pp PatternProp) matches(key string) bool { return pp.match(key) }

// caseInsensitive accepts any of values in any letter case, as v3 does for
// a few API Gateway settings.
func caseInsensitive(values ...string) *Schema {
	s := str()
	for _, v := range values {
		s.Enum = append(s.Enum, v)
	}
	s.EnumFold = true
	return s
}
