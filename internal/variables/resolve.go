package variables

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// maxNest bounds how often a resolved value may itself hold variables, as
// serverless v3 does; it also ends self-feeding values that would never stop.
const maxNest = 10

// maxDependencyDepth bounds chains of properties waiting on one another
// (a: ${self:b}, b: ${self:c}, …), which recurse.
const maxDependencyDepth = 1000

type propState uint8

const (
	statePending propState = iota
	stateResolving
	stateDone
	stateFailed
	stateBlocked
)

// prop is one string in the config that holds variables, tracked until its
// value is known.
type prop struct {
	key  string // keys joined with \x00, the identity of the property
	keys []string
	path config.Path
	// holder is the node that held the variable: the resolved value takes
	// its position, and errors point at it.
	holder       *config.Node
	text         string
	vars         []*varRef
	sourceValues []string
	nest         int
	// used lists the sources the value came through, directly or through
	// the properties it depends on (see checkEarlyProperties).
	used  map[string]bool
	state propState
	err   *failure
	block *blockage
}

// failure is an unrecoverable resolution error. Several properties can share
// one (a property that depends on a failed one); it is reported once, at the
// property where it happened.
type failure struct {
	origin   *prop
	variable string // the ${…} text that failed, when known
	msg      string
	detail   string
	also     []*failure // further failures of the same string
}

func (f *failure) Error() string { return f.msg }

// blockage means a value cannot be known yet: a remote lookup is still to
// run, or the variable names a source nobody provides.
type blockage struct {
	origin   *prop
	variable string
	unknown  string // the unrecognized source type; "" while waiting on AWS
}

func (b *blockage) Error() string { return "blocked" }

type resolver struct {
	ctx   context.Context
	opts  Options
	root  *config.Node
	props map[string]*prop
	order []*prop
	// under counts the properties below each key prefix that are not done
	// (pending, blocked or failed), so "is anything under custom still
	// unresolved?" needs no scan.
	under map[string]int
	stack []*prop

	files map[string]*fileContent
	js    map[string]jsResult

	remoteMu sync.Mutex
	remote   map[remoteKey]*remoteResult
	wanted   map[remoteKey]struct{}
	aws      AWS
	awsErr   error
	// profile is the AWS profile for the SDK client, known once the first
	// remote lookup resolved provider.profile.
	profile      string
	profileKnown bool
	awsOnce      sync.Once
}

func newResolver(ctx context.Context, root *config.Node, opts Options) *resolver {
	return &resolver{
		ctx: ctx, opts: opts, root: root,
		props:  map[string]*prop{},
		under:  map[string]int{},
		files:  map[string]*fileContent{},
		js:     map[string]jsResult{},
		remote: map[remoteKey]*remoteResult{},
		wanted: map[remoteKey]struct{}{},
		aws:    opts.AWS,
	}
}

// collect registers every string holding variables; malformed variables are
// reported at once, as serverless v3 refuses to start resolving then.
func (r *resolver) collect() diag.Diagnostics {
	var ds diag.Diagnostics
	r.register(r.root, nil, nil, 0, &ds)
	return ds
}

// register walks n (found at keys/path) and adds a prop for each string
// with variables.
func (r *resolver) register(n *config.Node, keys []string, path config.Path, nest int, ds *diag.Diagnostics) []*prop {
	var added []*prop
	// keys and path grow and shrink along the walk; a prop gets copies,
	// so strings without variables cost no allocation.
	keys = append([]string(nil), keys...)
	// index[i] says keys[i] is a list index; the config.Path is only built
	// for a prop, as boxing every key would allocate.
	index := make([]bool, 0, 16)
	for _, e := range path {
		_, isInt := e.(int)
		index = append(index, isInt)
	}
	var walk func(n *config.Node)
	walk = func(n *config.Node) {
		switch n.Kind {
		case config.Map:
			for _, pr := range n.Pairs {
				keys, index = append(keys, pr.Key), append(index, false)
				walk(pr.Value)
				keys, index = keys[:len(keys)-1], index[:len(index)-1]
			}
		case config.Seq:
			for i, it := range n.Items {
				keys, index = append(keys, strconv.Itoa(i)), append(index, true)
				walk(it)
				keys, index = keys[:len(keys)-1], index[:len(index)-1]
			}
		case config.String:
			s := n.Value.(string)
			vars, err := parseVariables(s)
			if err != nil {
				if ds != nil {
					ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: n.Pos, Path: toPath(keys, index).String(),
						Summary: "variable syntax error: " + err.Error()})
				}
				return
			}
			if vars == nil {
				return
			}
			pk := append([]string(nil), keys...)
			pp := toPath(keys, index)
			p := &prop{key: strings.Join(pk, "\x00"), keys: pk, path: pp, holder: n, text: s, vars: vars, nest: nest}
			r.props[p.key] = p
			r.order = append(r.order, p)
			r.adjustUnder(p, 1)
			added = append(added, p)
		}
	}
	walk(n)
	return added
}

func toPath(keys []string, index []bool) config.Path {
	p := make(config.Path, len(keys))
	for i, k := range keys {
		if index[i] {
			p[i], _ = strconv.Atoi(k)
		} else {
			p[i] = k
		}
	}
	return p
}

// adjustUnder counts p in every proper prefix of its key; the prefixes are
// substrings of p.key, so this allocates nothing.
func (r *resolver) adjustUnder(p *prop, delta int) {
	if len(p.keys) == 0 {
		return
	}
	r.under[""] += delta
	end := 0
	for i := 0; i < len(p.keys)-1; i++ {
		if i > 0 {
			end++ // the separator
		}
		end += len(p.keys[i])
		r.under[p.key[:end]] += delta
	}
}

// run resolves in rounds: each round resolves what it can and gathers the
// remote lookups it met; those run in parallel and the next round retries
// the properties that waited on them.
func (r *resolver) run() {
	for round := 0; ; round++ {
		for _, p := range append([]*prop(nil), r.order...) {
			if p.state == stateBlocked {
				p.state, p.block = statePending, nil
			}
		}
		for i := 0; i < len(r.order); i++ {
			r.resolveProp(r.order[i])
		}
		if len(r.wanted) == 0 || r.ctx.Err() != nil {
			return
		}
		r.fetchWanted()
	}
}

func (r *resolver) markSettled(p *prop, st propState) {
	if p.state == stateDone || p.state == stateFailed {
		return
	}
	p.state = st
	// A failed property still counts as "under" its parents: reading a
	// parent object must meet its error rather than its raw variable.
	if st == stateDone {
		r.adjustUnder(p, -1)
	}
}

// resolveProp resolves one property and commits its value into the tree.
func (r *resolver) resolveProp(p *prop) {
	if p.state != statePending {
		return
	}
	p.state = stateResolving
	r.stack = append(r.stack, p)
	defer func() { r.stack = r.stack[:len(r.stack)-1] }()
	for {
		val, sourceValues, err := r.resolveText(p, p.text, p.vars)
		if err != nil {
			r.settleError(p, err)
			return
		}
		if s, ok := val.Str(); ok {
			vars, perr := reparse(s, sourceValues)
			if perr != nil {
				r.settleError(p, r.failf(p, "", "Approached variable syntax error in resolved value %q: %v", s, perr))
				return
			}
			if vars != nil {
				p.nest++
				if p.nest > maxNest {
					r.settleError(p, r.failf(p, "", "Excessive property variables nest depth"))
					return
				}
				p.text, p.vars, p.sourceValues = s, vars, sourceValues
				continue
			}
		}
		r.commit(p, val)
		return
	}
}

func (r *resolver) settleError(p *prop, err error) {
	switch e := err.(type) {
	case *blockage:
		p.block = e
		p.state = stateBlocked
	case *failure:
		p.err = e
		r.markSettled(p, stateFailed)
	default:
		p.err = &failure{origin: p, msg: err.Error()}
		r.markSettled(p, stateFailed)
	}
}

// commit puts the value of p into the tree. A map or list that itself holds
// variables has them registered as new properties, resolved right away.
func (r *resolver) commit(p *prop, val *config.Node) {
	val.Pos = p.holder.Pos
	r.setAt(p.keys, val)
	r.markSettled(p, stateDone)
	if val.Kind != config.Map && val.Kind != config.Seq {
		return
	}
	added := r.register(val, p.keys, p.path, p.nest+1, nil)
	for _, q := range added {
		inheritUses(q, p)
		if q.nest > maxNest {
			q.err = r.failf(q, "", "Excessive property variables nest depth")
			r.markSettled(q, stateFailed)
		}
	}
	for _, q := range added {
		r.resolveProp(q)
	}
}

func (r *resolver) setAt(keys []string, val *config.Node) {
	if len(keys) == 0 {
		r.root = val
		return
	}
	parent := r.root.Lookup(keys[:len(keys)-1]...)
	if parent == nil {
		return
	}
	last := keys[len(keys)-1]
	switch parent.Kind {
	case config.Map:
		if pr := parent.Pair(last); pr != nil {
			pr.Value = val
		}
	case config.Seq:
		if i, err := strconv.Atoi(last); err == nil && i >= 0 && i < len(parent.Items) {
			parent.Items[i] = val
		}
	}
}

// reparse finds variables in a resolved string. An interpolated string is
// parsed piece by piece, so text that only looks like a variable after
// joining (or an escaped one) is left alone.
func reparse(s string, sourceValues []string) ([]*varRef, error) {
	if sourceValues == nil {
		return parseVariables(s)
	}
	var all []*varRef
	base := 0
	for _, sv := range sourceValues {
		vars, err := parseVariables(sv)
		if err != nil {
			return nil, err
		}
		for _, v := range vars {
			if v.whole {
				v.whole = false
				v.start, v.end = 0, len(sv)
			}
			v.start += base
			v.end += base
			all = append(all, v)
		}
		base += len(sv)
	}
	return all, nil
}

func (r *resolver) failf(p *prop, variable, format string, args ...any) *failure {
	return &failure{origin: p, variable: variable, msg: fmt.Sprintf(format, args...)}
}

// resolveText resolves every variable of a string. A string that is one
// variable takes the variable's value and type; otherwise the values are
// interpolated into a new string. sourceValues are the pieces joined.
func (r *resolver) resolveText(p *prop, text string, vars []*varRef) (*config.Node, []string, error) {
	values := make([]*config.Node, len(vars))
	var blocked error
	var failures []*failure
	for i, v := range vars {
		if v.escaped {
			values[i] = config.NewString(v.escapeText, p.holder.Pos)
			continue
		}
		n, err := r.resolveVariable(p, text[v.start:v.end], v)
		if err != nil {
			switch e := err.(type) {
			case *blockage:
				if blocked == nil {
					blocked = err
				}
			case *failure:
				failures = append(failures, e)
			default:
				return nil, nil, err
			}
			continue
		}
		values[i] = n
	}
	switch len(failures) {
	case 0:
	case 1:
		return nil, nil, failures[0]
	default:
		// Every failing variable of the string is reported, not only the
		// first; the failures themselves may be shared, so they are wrapped.
		first := *failures[0]
		first.also = append(append([]*failure(nil), first.also...), failures[1:]...)
		return nil, nil, &first
	}
	if blocked != nil {
		return nil, nil, blocked
	}
	if len(vars) == 1 && vars[0].whole {
		return values[0].Clone(), nil, nil
	}
	pieces := make([]string, 0, 2*len(vars)+1)
	last := 0
	sensitive := false
	for i, v := range vars {
		str, ok := coerceString(values[i])
		if !ok {
			return nil, nil, r.failf(p, text[v.start:v.end], "String value consist of variable which resolve with non-string value")
		}
		sensitive = sensitive || isSensitive(values[i])
		pieces = append(pieces, text[last:v.start], str)
		last = v.end
	}
	pieces = append(pieces, text[last:])
	out := config.NewString(strings.Join(pieces, ""), p.holder.Pos)
	out.Sensitive = sensitive
	return out, pieces, nil
}

// coerceString is how JavaScript turns a value into text inside a template:
// objects and null cannot be, lists join their items with commas.
func coerceString(n *config.Node) (string, bool) {
	if n == nil || n.Kind == config.Null || n.Kind == config.Map {
		return "", false
	}
	return n.Scalar(), true
}

func isSensitive(n *config.Node) bool {
	found := false
	config.Walk(n, nil, func(c *config.Node, _ config.Path) bool {
		if c.Sensitive {
			found = true
		}
		return !found
	})
	return found
}

// resolveVariable tries a variable's sources in order until one has a value.
func (r *resolver) resolveVariable(p *prop, text string, v *varRef) (*config.Node, error) {
	for i, src := range v.sources {
		if src.typ == "" {
			return literalNode(src.literal, p.holder.Pos), nil
		}
		fn := sources[src.typ]
		if fn == nil {
			if ext := r.opts.ExtraSources[src.typ]; ext != nil {
				fn = externalSource(ext)
			}
		}
		if fn == nil {
			return nil, &blockage{origin: p, variable: text, unknown: src.typ}
		}
		r.noteUse(p, src.typ)
		res, err := r.resolveSource(p, text, src, fn)
		if err != nil {
			return nil, err
		}
		if res.value != nil && res.value.Kind != config.Null {
			return res.value, nil
		}
		if i == len(v.sources)-1 {
			msg := res.notFound
			if msg == "" {
				msg = fmt.Sprintf("Value not found at %q source", src.typ)
			}
			return nil, &failure{origin: p, variable: text, msg: msg, detail: res.detail}
		}
	}
	return config.NewNull(p.holder.Pos), nil
}

func literalNode(v any, pos diag.Pos) *config.Node {
	switch x := v.(type) {
	case string:
		return config.NewString(x, pos)
	case bool:
		return config.NewBool(x, pos)
	case float64:
		return config.FromInterface(x, pos)
	}
	return config.NewNull(pos)
}

// sourceResult is what a source found. A nil or null value sends the
// resolver to the next fallback; notFound and detail explain a miss when
// there is none.
type sourceResult struct {
	value    *config.Node
	notFound string
	detail   string
}

// call carries a variable's resolved parameters and address to its source.
type call struct {
	r        *resolver
	p        *prop
	typ      string
	variable string
	params   []*config.Node // nil entries for empty parameters
	address  *config.Node   // nil without an address
}

type sourceFunc func(c *call) (sourceResult, error)

// resolveSource resolves the variables inside a source's parameters and
// address, then asks the source.
func (r *resolver) resolveSource(p *prop, text string, src *sourceRef, fn sourceFunc) (sourceResult, error) {
	c := &call{r: r, p: p, typ: src.typ, variable: text}
	var blocked error
	for _, pt := range src.params {
		n, err := r.resolvePart(p, pt)
		if err != nil {
			if _, ok := err.(*blockage); ok {
				blocked = err
				continue
			}
			return sourceResult{}, err
		}
		c.params = append(c.params, n)
	}
	if src.address != nil {
		n, err := r.resolvePart(p, src.address)
		if err != nil {
			if _, ok := err.(*blockage); ok {
				blocked = err
			} else {
				return sourceResult{}, err
			}
		}
		c.address = n
	}
	if blocked != nil {
		return sourceResult{}, blocked
	}
	res, err := fn(c)
	if err != nil {
		if f, ok := err.(*failure); ok && f.variable == "" {
			f.variable = text
		}
		return sourceResult{}, err
	}
	return res, nil
}

// resolvePart gives a parameter or address its value, resolving variables
// inside it and inside what they resolve to.
func (r *resolver) resolvePart(p *prop, pt *part) (*config.Node, error) {
	if pt == nil {
		return nil, nil
	}
	if pt.vars == nil {
		if pt.value == nil {
			return nil, nil
		}
		return literalNode(pt.value, p.holder.Pos), nil
	}
	text, _ := pt.value.(string)
	n, sv, err := r.resolveText(p, text, pt.vars)
	if err != nil {
		return nil, err
	}
	return r.resolveNested(p, n, sv, maxNest)
}

// resolveNested resolves variables found inside a detached value (an
// address or parameter result), up to depth more levels.
func (r *resolver) resolveNested(p *prop, n *config.Node, sourceValues []string, depth int) (*config.Node, error) {
	if depth == 0 {
		return nil, r.failf(p, "", "Excessive variables nest depth")
	}
	switch n.Kind {
	case config.String:
		s := n.Value.(string)
		vars, err := reparse(s, sourceValues)
		if err != nil {
			return nil, r.failf(p, "", "Approached variable syntax error in resolved value %q: %v", s, err)
		}
		if vars == nil {
			return n, nil
		}
		out, sv, err := r.resolveText(p, s, vars)
		if err != nil {
			return nil, err
		}
		return r.resolveNested(p, out, sv, depth-1)
	case config.Map:
		for i := range n.Pairs {
			v, err := r.resolveNested(p, n.Pairs[i].Value, nil, depth-1)
			if err != nil {
				return nil, err
			}
			n.Pairs[i].Value = v
		}
	case config.Seq:
		for i, it := range n.Items {
			v, err := r.resolveNested(p, it, nil, depth-1)
			if err != nil {
				return nil, err
			}
			n.Items[i] = v
		}
	}
	return n, nil
}

// property returns the config value at keys once every variable it depends
// on is resolved: the base of ${self:…} and of other sources reading the
// config. A missing value is nil.
func (r *resolver) property(p *prop, keys []string) (*config.Node, error) {
	cur := r.root
	for i, k := range keys {
		if cur == nil {
			return nil, nil
		}
		if q := r.props[strings.Join(keys[:i+1], "\x00")]; q != nil {
			if err := r.dependOn(p, q); err != nil {
				return nil, err
			}
		}
		cur = child(cur, k)
	}
	if cur == nil || (cur.Kind != config.Map && cur.Kind != config.Seq) {
		return cur, nil
	}
	prefix := strings.Join(keys, "\x00")
	if r.under[prefix] > 0 {
		under := r.propsUnder(keys)
		// Asking for an object that holds p itself is reported as such
		// before anything else, as v3 does.
		for _, q := range under {
			if q == p {
				return nil, r.failf(p, "", "Circular reference. %q refers to itself", p.path.String())
			}
		}
		for _, q := range under {
			if err := r.dependOn(p, q); err != nil {
				return nil, err
			}
		}
		cur = r.root.Lookup(keys...)
	}
	return cur, nil
}

// propsUnder lists the unsettled properties strictly below keys, in
// registration order.
func (r *resolver) propsUnder(keys []string) []*prop {
	var out []*prop
	for _, q := range r.order {
		if q.state == stateDone || len(q.keys) <= len(keys) {
			continue
		}
		match := true
		for i, k := range keys {
			if q.keys[i] != k {
				match = false
				break
			}
		}
		if match {
			out = append(out, q)
		}
	}
	return out
}

// child is JavaScript's value[k] on a config value: map keys, list indexes
// and length, and (as v3 allows) the characters and length of a string.
func child(n *config.Node, k string) *config.Node {
	switch n.Kind {
	case config.Map:
		return n.Get(k)
	case config.String:
		units := utf16.Encode([]rune(n.Value.(string)))
		if k == "length" {
			return config.NewInt(int64(len(units)), n.Pos)
		}
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(units) || strconv.Itoa(i) != k {
			return nil
		}
		return config.NewString(string(utf16.Decode(units[i:i+1])), n.Pos)
	case config.Seq:
		if k == "length" {
			return config.NewInt(int64(len(n.Items)), n.Pos)
		}
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(n.Items) || strconv.Itoa(i) != k {
			return nil
		}
		return n.Items[i]
	}
	return nil
}

// dependOn makes p wait for q, detecting cycles.
func (r *resolver) dependOn(p, q *prop) error {
	switch q.state {
	case stateDone:
		inheritUses(p, q)
		return nil
	case stateFailed:
		return q.err
	case stateBlocked:
		return q.block
	}
	if q == p {
		return r.failf(p, "", "Circular reference. %q refers to itself", p.path.String())
	}
	if q.state == stateResolving {
		// The chain runs from q, up the stack, to p. Like v3, the message
		// names p and the property that led to it.
		var chain []*prop
		for i := len(r.stack) - 1; i >= 0; i-- {
			chain = append(chain, r.stack[i])
			if r.stack[i] == q {
				break
			}
		}
		names := make([]string, 0, len(chain)+1)
		for i := len(chain) - 1; i >= 0; i-- {
			names = append(names, chain[i].path.String())
		}
		names = append(names, q.path.String())
		other := q
		if len(chain) >= 2 {
			other = chain[1]
		}
		return r.failf(p, "", "Circular reference among %q and %q properties: %s",
			p.path.String(), other.path.String(), strings.Join(names, " → "))
	}
	if len(r.stack) >= maxDependencyDepth {
		return r.failf(p, "", "Excessive property dependency depth: more than %d properties refer to one another in a chain", maxDependencyDepth)
	}
	r.resolveProp(q)
	inheritUses(p, q)
	switch q.state {
	case stateFailed:
		return q.err
	case stateBlocked:
		return q.block
	case stateResolving, statePending:
		// q is on the stack below us through another route: a cycle.
		return r.failf(p, "", "Circular reference among %q and %q properties", p.path.String(), q.path.String())
	}
	return nil
}

// diagnostics reports each distinct failure once, at the property where it
// happened, and each use of an unrecognized source.
func (r *resolver) diagnostics() diag.Diagnostics {
	var ds diag.Diagnostics
	seen := map[string]bool{}
	seenBlock := map[string]bool{}
	var report func(f *failure)
	report = func(f *failure) {
		id := fmt.Sprintf("%p|%s|%s", f.origin, f.variable, f.msg)
		if !seen[id] {
			seen[id] = true
			ds.Append(r.failureDiag(f))
		}
		for _, g := range f.also {
			report(g)
		}
	}
	for _, p := range r.order {
		switch p.state {
		case stateFailed:
			report(p.err)
		case stateBlocked, statePending:
			b := p.block
			if b == nil || b.unknown == "" {
				if r.ctx.Err() != nil {
					ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: p.holder.Pos, Path: p.path.String(),
						Summary: "variable resolution was cancelled: " + r.ctx.Err().Error()})
				}
				continue
			}
			id := fmt.Sprintf("%p/%s", b.origin, b.unknown)
			if seenBlock[id] {
				continue
			}
			seenBlock[id] = true
			d := diag.Diagnostic{Severity: diag.Error, Pos: b.origin.holder.Pos, Path: b.origin.path.String(),
				Summary: fmt.Sprintf("Unrecognized configuration variable source %q in %s", b.unknown, b.variable),
				Detail:  "Known sources: " + strings.Join(sourceNames(), ", ") + "."}
			if b.unknown == "output" {
				d.Detail = `"output" variables can only be used in services deployed with Serverless Dashboard, which Nimbus does not support.`
			}
			r.narrow(&d, b.origin, b.variable)
			ds.Append(d)
		}
	}
	ds.Sort()
	return ds
}

func (r *resolver) failureDiag(f *failure) diag.Diagnostic {
	p := f.origin
	summary := "Cannot resolve variable"
	if f.variable != "" {
		summary += " " + f.variable
	}
	d := diag.Diagnostic{Severity: diag.Error, Pos: p.holder.Pos, Path: p.path.String(),
		Summary: summary + ": " + f.msg, Detail: f.detail}
	r.narrow(&d, p, f.variable)
	return d
}

// narrow points the diagnostic at the variable itself when the source line
// shows it, instead of at the start of the value.
func (r *resolver) narrow(d *diag.Diagnostic, p *prop, variable string) {
	if variable == "" || r.opts.Sources == nil {
		return
	}
	line, ok := r.opts.Sources.Line(p.holder.Pos.File, p.holder.Pos.Line)
	if !ok || p.holder.Pos.Col < 1 || p.holder.Pos.Col > len(line)+1 {
		return
	}
	if i := strings.Index(line[p.holder.Pos.Col-1:], variable); i >= 0 {
		d.Pos.Col = p.holder.Pos.Col + i
		d.Width = len([]rune(variable))
	}
}

func sourceNames() []string {
	names := make([]string, 0, len(sources))
	for k := range sources {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
