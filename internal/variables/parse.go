package variables

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// varRef is one ${…} found in a string: where it sits and the sources to try
// in order (the first one, then the comma fallbacks). An escape (\${) is a
// varRef with a fixed replacement text and no sources.
type varRef struct {
	start, end int // byte offsets in the string that holds it
	whole      bool
	sources    []*sourceRef
	escaped    bool
	escapeText string
}

// sourceRef is one source of a variable: either a typed source
// (`type(params):address`) or a literal fallback ('text', "text", 12, true).
type sourceRef struct {
	typ       string
	hasParams bool
	params    []*part // a nil entry is an empty parameter: f(,x)
	address   *part
	literal   any // string, float64, bool or nil when typ == ""
}

// part is a parameter or an address: its text and the variables inside it.
// A nil value (an empty text) reads as "no address".
type part struct {
	value any // string, float64 or bool; nil when empty
	vars  []*varRef
}

// SyntaxError is a malformed variable. Its message follows serverless v3's.
type SyntaxError struct{ Msg string }

func (e *SyntaxError) Error() string { return e.Msg }

type parseState uint8

const (
	stOut parseState = iota
	stEscapeVar
	stEscapeVarDollar
	stMaybeVariableOpen
	stMaybeTypeStart
	stMaybeNextSourceStart
	stMaybeType
	stTypeOrSourceLiteral
	stParamStart
	stParam
	stAfterParamString
	stMaybeAddressOpen
	stMaybeAddressStart
	stAddress
	stAfterAddressString
	stAfterSourceLiteralString
	stForeign
	stEscapeString
	stDoubleQuotedString
	stSingleQuotedString
)

// frame is the parser state saved while a nested ${…} (or a foreign
// {…} block such as CloudFormation's ${AWS::Region}) is read.
type frame struct {
	state         parseState
	variableStart int
	contextStart  int
	vars          *[]*varRef
	contextVars   *[]*varRef
	current       *sourceRef
	sources       []*sourceRef
}

// parser is a state machine equivalent to serverless v3's variable syntax
// parser: it decides exactly which strings are variables, so strings v3
// leaves alone (CloudFormation ${AWS::Region}, ${Foo}, Fn::Sub bodies) stay
// as they are.
type parser struct {
	s     string
	i     int
	state parseState
	// stringContext is the state to return to after a quoted string.
	stringContext parseState

	vars        *[]*varRef // where finished variables of the current context go
	contextVars *[]*varRef
	sources     []*sourceRef
	current     *sourceRef
	frames      []frame

	contextStart  int
	escapeStart   int // -1 when no backslash run is pending
	variableStart int
	sourceStart   int
	paramStart    int
	addressStart  int
}

// parseVariables returns the variables in s, nil when there are none.
func parseVariables(s string) ([]*varRef, error) {
	if !strings.Contains(s, "${") {
		return nil, nil // fast path: most strings hold no variable
	}
	p := &parser{s: s, escapeStart: -1}
	return p.run()
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

func isSourceChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}

// isTypeName is /^[a-z][a-zA-Z0-9]*$/.
func isTypeName(s string) bool {
	if s == "" || !isLower(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (p *parser) inVariableContext() bool {
	for _, f := range p.frames {
		if f.state != stForeign {
			return true
		}
	}
	return false
}

func (p *parser) ensureVars() {
	if p.vars == nil {
		p.vars = &[]*varRef{}
	}
}

func (p *parser) finalizeSource() {
	p.sources = append(p.sources, p.current)
	p.current = nil
	p.state = stMaybeNextSourceStart
}

func (p *parser) finalizeVariable() {
	p.finalizeSource()
	p.ensureVars()
	*p.vars = append(*p.vars, &varRef{start: p.variableStart - p.contextStart, end: p.i + 1 - p.contextStart, sources: p.sources})
	p.sources = nil
	p.releaseContext()
}

// registerVarEscape records `\${`: the backslashes before it halve and the
// `$` is kept literally.
func (p *parser) registerVarEscape() {
	p.ensureVars()
	n := ceilHalf(p.i - 1 - p.escapeStart - 1)
	*p.vars = append(*p.vars, &varRef{start: p.escapeStart - p.contextStart, end: p.i - p.contextStart,
		escaped: true, escapeText: strings.Repeat(`\`, n) + string(p.s[p.i-1])})
	p.escapeStart = -1
}

// registerSlashEscape records an even run of backslashes before a real
// variable: they halve and the variable stays live.
func (p *parser) registerSlashEscape() {
	p.ensureVars()
	n := ceilHalf(p.i - 1 - p.escapeStart - 1)
	*p.vars = append(*p.vars, &varRef{start: p.escapeStart - p.contextStart, end: p.i - 1 - p.contextStart,
		escaped: true, escapeText: strings.Repeat(`\`, n)})
	p.escapeStart = -1
}

func ceilHalf(n int) int {
	if n <= 0 {
		return 0
	}
	return (n + 1) / 2
}

// registerContext starts reading a nested ${…}; newContextStart > 0 makes
// positions of what is found relative to it (a parameter or an address).
func (p *parser) registerContext(newContextStart int) {
	p.ensureVars()
	if newContextStart != 0 && p.contextVars == nil {
		p.contextVars = &[]*varRef{}
	}
	p.frames = append(p.frames, frame{state: p.state, variableStart: p.variableStart, contextStart: p.contextStart,
		vars: p.vars, contextVars: p.contextVars, current: p.current, sources: p.sources})
	p.state = stMaybeVariableOpen
	p.variableStart = p.i
	p.sources = nil
	if newContextStart != 0 {
		p.contextStart = newContextStart
		p.vars = p.contextVars
	}
}

func (p *parser) releaseContext() {
	if len(p.frames) == 0 {
		p.state = stOut
		return
	}
	f := p.frames[len(p.frames)-1]
	p.frames = p.frames[:len(p.frames)-1]
	p.state, p.variableStart, p.vars, p.contextVars, p.current, p.sources = f.state, f.variableStart, f.vars, f.contextVars, f.current, f.sources
	if p.state == stParam {
		p.paramStart = p.contextStart
	}
	if p.state == stAddress {
		p.addressStart = p.contextStart
	}
	p.contextStart = f.contextStart
}

func normalizeVars(value string, vars []*varRef) []*varRef {
	if len(vars) == 1 && vars[0].start == 0 && vars[0].end == len(value) {
		vars[0].whole = true
	}
	if len(vars) == 0 {
		return nil
	}
	return vars
}

func (p *parser) makePart(value string, vars *[]*varRef) *part {
	pt := &part{}
	if value != "" {
		pt.value = value
	}
	if vars != nil && len(*vars) > 0 {
		pt.vars = normalizeVars(value, *vars)
	}
	return pt
}

func (p *parser) parseString(start int) (string, error) {
	if p.s[start] == '\'' {
		t := strings.TrimSpace(p.s[start:p.i])
		if len(t) < 2 {
			return "", nil
		}
		return t[1 : len(t)-1], nil
	}
	var out string
	if err := json.Unmarshal([]byte(p.s[start:p.i]), &out); err != nil {
		return "", p.errorf("Invalid string literal at index %d in %q: %v", start, p.s, err)
	}
	return out, nil
}

// parseLiteral reads an unquoted literal (true, false, null or a number the
// way JavaScript's Number() reads it). fallbackToText keeps other text as a
// string, as parameters do.
func (p *parser) parseLiteral(lit string, fallbackToText bool) (any, error) {
	switch lit {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if f, ok := jsNumber(lit); ok {
		return f, nil
	}
	if fallbackToText {
		return lit, nil
	}
	return nil, p.errorf("Invalid literal source %q at index %d in %q", lit, p.sourceStart, p.s)
}

// jsNumber converts text as JavaScript's Number() does, reporting false for
// NaN.
func jsNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	switch s {
	case "Infinity", "+Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			u, err := strconv.ParseUint(s[2:], base, 64)
			if err != nil || strings.ContainsAny(s[2:], "_+-") {
				return 0, false
			}
			return float64(u), true
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

func (p *parser) run() ([]*varRef, error) {
	s := p.s
	for p.i = 0; p.i < len(s); p.i++ {
		c := s[p.i]
		switch p.state {
		case stOut:
			if c == '\\' {
				if p.escapeStart < 0 {
					p.escapeStart = p.i
				}
				p.state = stEscapeVar
			} else if c == '$' {
				p.variableStart = p.i
				p.state = stMaybeVariableOpen
			} else {
				p.escapeStart = -1
			}
		case stEscapeVar:
			if c == '$' {
				p.state = stEscapeVarDollar
			} else {
				if c != '\\' {
					p.escapeStart = -1
				}
				p.state = stOut
			}
		case stEscapeVarDollar:
			if c == '{' {
				p.registerVarEscape()
				p.state = stOut
			} else {
				p.escapeStart = -1
				switch c {
				case '\\':
					p.escapeStart = p.i
					p.state = stEscapeVar
				case '$':
					p.variableStart = p.i
					p.state = stMaybeVariableOpen
				default:
					p.state = stOut
				}
			}
		case stMaybeVariableOpen:
			if c == '{' {
				if p.escapeStart >= 0 {
					p.registerSlashEscape()
				}
				p.state = stMaybeTypeStart
			} else {
				p.escapeStart = -1
				if c != '$' {
					p.releaseContext()
				}
			}
		case stMaybeTypeStart:
			switch {
			case isLower(c):
				p.sourceStart = p.i
				p.state = stMaybeType
			case p.inVariableContext():
				return nil, p.errorf("Invalid variable type at index %d in %q", p.i, s)
			case c == '}':
				p.releaseContext()
			default:
				p.state = stForeign
				if c == '$' {
					p.registerContext(p.contextStart)
				}
			}
		case stMaybeNextSourceStart:
			if c == ' ' {
				continue
			}
			p.sourceStart = p.i
			switch {
			case isSourceChar(c):
				p.state = stTypeOrSourceLiteral
			case c == '"':
				p.stringContext = stAfterSourceLiteralString
				p.state = stDoubleQuotedString
			case c == '\'':
				p.stringContext = stAfterSourceLiteralString
				p.state = stSingleQuotedString
			default:
				return nil, p.errorf("Invalid variable source at index %d in %q", p.i, s)
			}
		case stMaybeType:
			switch {
			case c == ':':
				p.current = &sourceRef{typ: s[p.sourceStart:p.i]}
				p.state = stMaybeAddressStart
			case c == '(':
				p.current = &sourceRef{typ: s[p.sourceStart:p.i], hasParams: true}
				p.state = stParamStart
			case !isSourceChar(c):
				if p.inVariableContext() {
					return nil, p.errorf("Invalid variable type at index %d in %q", p.sourceStart, s)
				}
				if c == '}' {
					p.releaseContext()
				} else {
					p.state = stForeign
					if c == '$' {
						p.registerContext(p.contextStart)
					}
				}
			}
		case stTypeOrSourceLiteral:
			switch {
			case c == ' ':
				continue
			case c == ':' || c == '(':
				typ := s[p.sourceStart:p.i]
				if !isTypeName(typ) {
					return nil, p.errorf("Invalid variable source at index %d in %q", p.sourceStart, s)
				}
				p.current = &sourceRef{typ: typ, hasParams: c == '('}
				if c == ':' {
					p.state = stMaybeAddressStart
				} else {
					p.state = stParamStart
				}
			case c == '}':
				lit, err := p.parseLiteral(strings.TrimSpace(s[p.sourceStart:p.i]), false)
				if err != nil {
					return nil, err
				}
				p.current = &sourceRef{literal: lit}
				p.finalizeVariable()
			case !isSourceChar(c):
				return nil, p.errorf("Invalid variable source at index %d in %q", p.sourceStart, s)
			}
		case stParamStart:
			switch c {
			case ' ':
				continue
			case ')':
				p.state = stMaybeAddressOpen
			case ',':
				p.current.params = append(p.current.params, nil)
			case '}':
				return nil, p.errorf("Invalid variable param at index %d in %q", p.i, s)
			default:
				p.paramStart = p.i
				switch c {
				case '"':
					p.stringContext = stAfterParamString
					p.state = stDoubleQuotedString
				case '\'':
					p.stringContext = stAfterParamString
					p.state = stSingleQuotedString
				default:
					p.state = stParam
					p.contextVars = nil
					if c == '$' {
						p.registerContext(p.paramStart)
					}
				}
			}
		case stParam:
			switch c {
			case ')', ',':
				text := strings.TrimSpace(s[p.paramStart:p.i])
				if c == ',' || text != "" {
					pt, err := p.paramPart(text)
					if err != nil {
						return nil, err
					}
					p.current.params = append(p.current.params, pt)
				}
				if c == ')' {
					p.state = stMaybeAddressOpen
				} else {
					p.state = stParamStart
				}
			case '}':
				return nil, p.errorf("Invalid variable param at index %d in %q", p.paramStart, s)
			case '$':
				p.registerContext(p.paramStart)
			}
		case stAfterParamString:
			switch c {
			case ' ':
				continue
			case ')', ',':
				str, err := p.parseString(p.paramStart)
				if err != nil {
					return nil, err
				}
				p.current.params = append(p.current.params, &part{value: str})
				if c == ')' {
					p.state = stMaybeAddressOpen
				} else {
					p.state = stParamStart
				}
			default:
				return nil, p.errorf("Invalid variable param at index %d in %q", p.paramStart, s)
			}
		case stMaybeAddressOpen:
			switch c {
			case ' ':
				continue
			case ':':
				p.state = stMaybeAddressStart
			case '}':
				p.finalizeVariable()
			case ',':
				p.finalizeSource()
			default:
				return nil, p.errorf("Invalid variable address at index %d in %q", p.i, s)
			}
		case stMaybeAddressStart:
			switch c {
			case ' ':
				continue
			case '}':
				p.finalizeVariable()
			case ',':
				p.finalizeSource()
			default:
				p.addressStart = p.i
				switch c {
				case ':':
					// "${AWS::Region}"-like text outside any variable is foreign.
					if !p.current.hasParams && !p.inVariableContext() {
						p.current = nil
						p.state = stForeign
					} else {
						return nil, p.errorf("Invalid variable address at index %d in %q", p.addressStart, s)
					}
				case '"':
					p.stringContext = stAfterAddressString
					p.state = stDoubleQuotedString
				case '\'':
					p.stringContext = stAfterAddressString
					p.state = stSingleQuotedString
				default:
					p.state = stAddress
					p.contextVars = nil
					if c == '$' {
						p.registerContext(p.addressStart)
					}
				}
			}
		case stAddress:
			switch c {
			case '}', ',':
				p.current.address = p.makePart(strings.TrimSpace(s[p.addressStart:p.i]), p.contextVars)
				if c == '}' {
					p.finalizeVariable()
				} else {
					p.finalizeSource()
				}
			case '$':
				p.registerContext(p.addressStart)
			}
		case stAfterAddressString:
			switch c {
			case ' ':
				continue
			case '}', ',':
				str, err := p.parseString(p.addressStart)
				if err != nil {
					return nil, err
				}
				p.current.address = &part{value: str}
				if c == '}' {
					p.finalizeVariable()
				} else {
					p.finalizeSource()
				}
			default:
				return nil, p.errorf("Invalid variable address at index %d in %q", p.addressStart, s)
			}
		case stAfterSourceLiteralString:
			switch c {
			case ' ':
				continue
			case '}':
				str, err := p.parseString(p.sourceStart)
				if err != nil {
					return nil, err
				}
				p.current = &sourceRef{literal: str}
				p.finalizeVariable()
			default:
				return nil, p.errorf("Invalid variable source at index %d in %q", p.sourceStart, s)
			}
		case stForeign:
			if c == '}' {
				p.releaseContext()
			} else if c == '$' {
				p.registerContext(p.contextStart)
			}
		case stEscapeString:
			p.state = stDoubleQuotedString
		case stDoubleQuotedString:
			if c == '"' {
				p.state = p.stringContext
			} else if c == '\\' {
				p.state = stEscapeString
			}
		case stSingleQuotedString:
			if c == '\'' {
				p.state = p.stringContext
			}
		}
	}
	if p.current != nil || p.sources != nil {
		return nil, p.errorf("Missing variable closing bracket in %s", s)
	}
	if p.vars == nil {
		return nil, nil
	}
	return normalizeVars(s, *p.vars), nil
}

// paramPart builds a parameter from its text: plain text becomes a literal
// (number, boolean, null or the text itself); text with variables keeps
// them for resolution.
func (p *parser) paramPart(text string) (*part, error) {
	if p.contextVars == nil {
		v, err := p.parseLiteral(text, true)
		if err != nil {
			return nil, err
		}
		// v3 stores `value || null`: a 0 or false parameter reads as empty.
		if v == 0.0 || v == false {
			v = nil
		}
		return &part{value: v}, nil
	}
	return p.makePart(text, p.contextVars), nil
}
