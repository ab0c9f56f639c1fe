package lift

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// construct is one entry of `constructs`, built: the CloudFormation lift
// synthesizes for it and what it adds to the service.
type construct struct {
	id  string
	pos diag.Pos
	// resources and outputs in CDK's creation order.
	resources, outputs []named
	// variables are the ${construct:id.property} values.
	variables map[string]*config.Node
	// extensions name the resources `extensions` may override.
	extensions map[string]string
	statements []statement
	// sharedActions: lift passes one constant action list to every
	// statement of this type, so json-cycle writes later uses as $refs.
	sharedActions bool
	worker        *worker
}

type named struct {
	id   string
	node *config.Node
}

// statement is an IAM statement lift appends to the service role. A
// resource is either an attribute of the construct (written as a CDK
// token until the constructs exist) or a finished value.
type statement struct {
	actions   []string
	resources []resourceValue
}

// node is the statement as lift appends it, its attribute resources
// given as the construct's tokens.
func (st statement) node(c *construct, attributeToken func(*construct, string) *config.Node) *config.Node {
	res := config.NewSeq(c.pos)
	for _, r := range st.resources {
		if r.attribute != "" {
			res.Items = append(res.Items, attributeToken(c, r.attribute))
		} else {
			res.Items = append(res.Items, r.value.Clone())
		}
	}
	return obj(c.pos, "Effect", "Allow", "Action", stringList(c.pos, st.actions...), "Resource", res)
}

type resourceValue struct {
	attribute string
	value     *config.Node
}

// worker is a queue's consumer: the function to add (nil config when the
// worker names an existing function) and the sqs event to give it.
type worker struct {
	function string
	config   *config.Node
	event    *config.Node
}

// Expand adds what serverless-lift adds to a resolved config when it
// starts, in place: each queue's worker function and sqs event, the IAM
// statements of every construct (unless lift.automaticPermissions is
// false), then the construct tokens replaced with their CloudFormation
// values. stage picks the stack name resources are named after.
// AddResources adds the resources themselves.
//
// It returns the config as serverless v3 keeps it in
// initialServerlessConfig: taken after lift's additions but before its
// tokens were resolved, which lift does on copies.
func (l *Lift) Expand(root *config.Node, stage string) (*config.Node, diag.Diagnostics) {
	var ds diag.Diagnostics
	block := root.Get("constructs")
	if block == nil || block.Kind != config.Map {
		return root.Clone(), nil
	}
	stackName := root.Lookup("provider", "stackName").Scalar0()
	if stackName == "" {
		stackName = root.Get("service").Scalar0() + "-" + stage
	}
	region := l.Region
	if region == "" {
		region = root.Lookup("provider", "region").Scalar0()
	}
	if region == "" {
		region = "us-east-1"
	}
	var built []*construct
	for _, p := range block.Pairs {
		if c := buildConstruct(p, stackName, stage, region, root, &ds); c != nil {
			built = append(built, c)
			if p.Value.Get("type").Scalar0() == VpcType {
				l.useVpc(root, c, p.Value.Get("type").Pos, &ds)
			}
		}
	}
	if ds.HasErrors() {
		return nil, ds
	}

	attributeTokens := map[string]string{}
	attributeToken := func(c *construct, attr string) *config.Node {
		key := c.id + "." + attr
		if attributeTokens[key] == "" {
			attributeTokens[key] = l.newToken(c.id, attr)
		}
		return config.NewString(attributeTokens[key], c.pos)
	}
	for _, c := range built {
		if c.worker != nil {
			var arn *config.Node
			if c.worker.event != nil {
				arn = attributeToken(c, "queueArn")
			}
			addWorker(root, c, arn, &ds)
		}
	}
	if ds.HasErrors() {
		return nil, ds
	}
	var sharedActionsPath string
	var shared []*config.Node // statements whose Action is a $ref in the initial copy
	count := 0
	for _, c := range built {
		count += len(c.statements)
	}
	// Like lift, no statements leave the provider untouched.
	if ap := root.Lookup("lift", "automaticPermissions"); count > 0 && (ap == nil || ap.Value != false) {
		list, listPath := statementList(root)
		for _, c := range built {
			for _, st := range c.statements {
				n := st.node(c, attributeToken)
				if c.sharedActions {
					if sharedActionsPath == "" {
						sharedActionsPath = listPath + "[" + strconv.Itoa(len(list.Items)) + "][\"Action\"]"
					} else {
						// Only the initial copy shares the list; the
						// marker is replaced below in the live tree.
						n.Set("Action", obj(c.pos, sharedRefKey, sharedActionsPath))
						shared = append(shared, n)
					}
				}
				list.Items = append(list.Items, n)
			}
		}
	}

	initial := root.Clone()
	for _, n := range shared {
		n.Set("Action", stringList(n.Pos, storageIAMActions...))
	}
	values := map[string]*construct{}
	for _, c := range built {
		values[c.id] = c
	}
	ds = append(ds, l.replaceTokens(root, values)...)
	l.built = built
	return initial, ds
}

// AddResources merges the constructs' resources and outputs into
// resources.Resources and resources.Outputs after the user's own, as
// lift's lodash.merge of the synthesized template does. Lift does this
// when packaging (after:package:compileEvents), so `print` shows the
// config before it and everything after packaging sees it.
func (l *Lift) AddResources(root *config.Node) {
	var resources, outputs []named
	for _, c := range l.built {
		resources = append(resources, c.resources...)
		outputs = append(outputs, c.outputs...)
	}
	block := root.Get("resources")
	if block == nil || block.Kind != config.Map {
		block = config.NewMap(root.Pos)
		root.Set("resources", block)
	}
	mergeSection(block, "Resources", resources)
	mergeSection(block, "Outputs", outputs)
}

// sharedRefKey is json-cycle's reference key, which the state file keeps.
const sharedRefKey = "$ref"

// statementList finds the list lift appends its statements to:
// provider.iam.role.statements when the role is an object with
// statements, else provider.iamRoleStatements (created when absent). The
// path is where initialServerlessConfig holds it in serverless-state.json.
func statementList(root *config.Node) (*config.Node, string) {
	const base = `$["service"]["initialServerlessConfig"]["provider"]`
	provider := root.Get("provider")
	if provider == nil || provider.Kind != config.Map {
		provider = config.NewMap(root.Pos)
		root.Set("provider", provider)
	}
	if role := provider.Lookup("iam", "role"); role != nil && role.Kind == config.Map && role.Has("statements") {
		st := role.Get("statements")
		if st.Kind != config.Seq {
			st = config.NewSeq(st.Pos)
			role.Set("statements", st)
		}
		return st, base + `["iam"]["role"]["statements"]`
	}
	st := provider.Get("iamRoleStatements")
	if st == nil || st.Kind != config.Seq {
		st = config.NewSeq(provider.Pos)
		provider.Set("iamRoleStatements", st)
	}
	return st, base + `["iamRoleStatements"]`
}

// addWorker adds a construct's function (merged over a function of the
// same name, as lodash.merge does) and, for a queue's worker, its sqs
// event.
func addWorker(root *config.Node, c *construct, arn *config.Node, ds *diag.Diagnostics) {
	functions := root.Get("functions")
	if functions == nil || functions.Kind != config.Map {
		functions = config.NewMap(c.pos)
		root.Set("functions", functions)
	}
	w := c.worker
	if w.config != nil {
		if existing := functions.Get(w.function); existing != nil && existing.Kind == config.Map {
			mergeDeep(existing, w.config.Clone())
		} else {
			functions.Set(w.function, w.config.Clone())
		}
	}
	fn := functions.Get(w.function)
	if fn == nil || fn.Kind != config.Map {
		ds.Errorf(c.pos, "constructs."+c.id+".worker", "the worker of queue %q names function %q, which is not defined under functions", c.id, w.function)
		return
	}
	if w.event == nil {
		return
	}
	events := fn.Get("events")
	if events == nil || events.Kind != config.Seq {
		events = config.NewSeq(fn.Pos)
		fn.Set("events", events)
	}
	ev := w.event.Clone()
	ev.Get("sqs").Set("arn", arn)
	events.Items = append(events.Items, ev)
}

// replaceTokens turns every construct token in the tree into the
// CloudFormation value of the property it stands for. A token inside
// longer text becomes "[object Object]", as it does in lift: it resolves
// tokens with CDK's plain string concatenation, which stringifies the
// value object. That is reported as a warning, since the text is never
// what the author meant.
func (l *Lift) replaceTokens(root *config.Node, constructs map[string]*construct) diag.Diagnostics {
	var ds diag.Diagnostics
	// value is nil for text that only looks like a token: one this load
	// did not hand out, or a property the built construct lacks (its
	// type came from a variable that changed it).
	value := func(n int, pos diag.Pos) *config.Node {
		if n < 1 || n > len(l.tokens) {
			return nil
		}
		ref := l.tokens[n-1]
		c := constructs[ref.id]
		if c == nil || c.variables[ref.property] == nil {
			return nil
		}
		v := c.variables[ref.property].Clone()
		setPos(v, pos)
		return v
	}
	var visit func(n *config.Node, path config.Path) *config.Node
	visit = func(n *config.Node, path config.Path) *config.Node {
		switch n.Kind {
		case config.String:
			s := n.Value.(string)
			locs := tokenPattern.FindAllStringSubmatchIndex(s, -1)
			if len(locs) == 0 {
				return n
			}
			if len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(s) {
				num, _ := strconv.Atoi(s[locs[0][2]:locs[0][3]])
				if v := value(num, n.Pos); v != nil {
					return v
				}
				if num >= 1 && num <= len(l.tokens) {
					ref := l.tokens[num-1]
					ds.Errorf(n.Pos, path.String(), "${construct:%s.%s} does not exist on construct '%s'", ref.id, ref.property, ref.id)
				}
				return n
			}
			ds.Warnf(n.Pos, path.String(), "a ${construct:…} variable inside text becomes \"[object Object]\", as it does with serverless-lift")
			ds[len(ds)-1].Detail = "Lift's values are CloudFormation objects ({Ref: …}, {Fn::GetAtt: …}); use the variable as the whole value, or build the text with Fn::Join or Fn::Sub."
			out := *n
			out.Value = tokenPattern.ReplaceAllString(s, "[object Object]")
			return &out
		case config.Map:
			for i := range n.Pairs {
				n.Pairs[i].Value = visit(n.Pairs[i].Value, path.Child(n.Pairs[i].Key))
			}
		case config.Seq:
			for i := range n.Items {
				n.Items[i] = visit(n.Items[i], path.Child(i))
			}
		}
		return n
	}
	visit(root, nil)
	return ds
}

// mergeSection merges entries into resources.<section>, which is
// created only when there is something to add.
func mergeSection(resources *config.Node, section string, entries []named) {
	if len(entries) == 0 {
		return
	}
	dst := resources.Get(section)
	if dst == nil || dst.Kind != config.Map {
		dst = config.NewMap(resources.Pos)
		resources.Set(section, dst)
	}
	for _, e := range entries {
		if old := dst.Get(e.id); old != nil && old.Kind == config.Map {
			mergeDeep(old, e.node)
		} else {
			dst.Set(e.id, e.node)
		}
	}
}

// mergeDeep merges src into dst as lodash.merge does: maps and lists
// merge element by element, anything else from src wins.
func mergeDeep(dst, src *config.Node) {
	for _, p := range src.Pairs {
		old := dst.Get(p.Key)
		switch {
		case old != nil && old.Kind == config.Map && p.Value.Kind == config.Map:
			mergeDeep(old, p.Value)
		case old != nil && old.Kind == config.Seq && p.Value.Kind == config.Seq:
			for i, it := range p.Value.Items {
				if i < len(old.Items) && old.Items[i].Kind == config.Map && it.Kind == config.Map {
					mergeDeep(old.Items[i], it)
				} else if i < len(old.Items) {
					old.Items[i] = it
				} else {
					old.Items = append(old.Items, it)
				}
			}
		default:
			dst.Set(p.Key, p.Value)
		}
	}
}

// override applies an `extensions` object the way lift's addOverride
// calls do: objects merge key by key, lists and scalars replace.
func override(dst, src *config.Node) {
	for _, p := range src.Pairs {
		old := dst.Get(p.Key)
		if old != nil && old.Kind == config.Map && p.Value.Kind == config.Map {
			override(old, p.Value)
			continue
		}
		dst.Set(p.Key, p.Value.Clone())
	}
}

// obj builds a map node from key, value pairs; values may be nodes,
// strings, ints or bools.
func obj(pos diag.Pos, kv ...any) *config.Node {
	m := config.NewMap(pos)
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i].(string), config.FromInterface(kv[i+1], pos))
	}
	return m
}

func getAtt(id, attr string, pos diag.Pos) *config.Node {
	return obj(pos, "Fn::GetAtt", config.NewSeq(pos, config.NewString(id, pos), config.NewString(attr, pos)))
}

func ref(id string, pos diag.Pos) *config.Node { return obj(pos, "Ref", id) }

func join(sep string, pos diag.Pos, parts ...*config.Node) *config.Node {
	return obj(pos, "Fn::Join", config.NewSeq(pos, config.NewString(sep, pos), config.NewSeq(pos, parts...)))
}

func stringList(pos diag.Pos, ss ...string) *config.Node {
	s := config.NewSeq(pos)
	for _, v := range ss {
		s.Items = append(s.Items, config.NewString(v, pos))
	}
	return s
}

func setPos(n *config.Node, pos diag.Pos) {
	config.Walk(n, nil, func(c *config.Node, _ config.Path) bool {
		c.Pos = pos
		return true
	})
}

// buildConstruct checks one construct and builds it; nil after reporting
// a problem.
func buildConstruct(p config.Pair, stackName, stage, region string, root *config.Node, ds *diag.Diagnostics) *construct {
	path := "constructs." + p.Key
	v := p.Value
	if v == nil || v.Kind != config.Map {
		ds.Errorf(p.KeyPos, path, "construct %q must be an object with a type", p.Key)
		return nil
	}
	t := v.Get("type")
	if t == nil || t.Kind == config.Null {
		ds.Errorf(p.KeyPos, path, "The construct '%s' has no 'type' defined.", p.Key)
		(*ds)[len(*ds)-1].Detail = "Nimbus supports the construct types " + strings.Join(SupportedTypes, ", ") + "."
		return nil
	}
	if v.Has("provider") {
		ds.Errorf(v.Get("provider").Pos, path+".provider", "construct %q uses lift provider %q, which Nimbus does not support", p.Key, v.Get("provider").Scalar())
		return nil
	}
	var c *construct
	switch typ := t.Scalar(); typ {
	case "queue":
		c = buildQueue(p.Key, v, stackName, root, ds)
	case "storage":
		c = buildStorage(p.Key, v, ds)
	case "webhook":
		c = buildWebhook(p.Key, v, region, ds)
	case DatabaseType:
		c = buildDatabase(p.Key, v, ds)
	case ServerSideWebsiteType:
		c = buildServerSideWebsite(p.Key, v, stackName, stage, region, ds)
	case StaticWebsiteType, SinglePageAppType:
		c = buildWebsite(p.Key, typ, v, stackName, region, ds)
	case VpcType:
		c = buildVpc(p.Key, v)
	default:
		ds.Errorf(t.Pos, path+".type", "The construct '%s' has an unknown type '%s'", p.Key, typ)
		d := &(*ds)[len(*ds)-1]
		d.Width = len(typ)
		d.Detail = "Nimbus supports the serverless-lift construct types " + strings.Join(SupportedTypes, ", ") + "."
		return nil
	}
	if c == nil {
		return nil
	}
	if ext := v.Get("extensions"); ext != nil && ext.Kind == config.Map {
		for _, e := range ext.Pairs {
			id, ok := c.extensions[e.Key]
			if !ok {
				names := make([]string, 0, len(c.extensions))
				for _, k := range extensionOrder {
					if _, ok := c.extensions[k]; ok {
						names = append(names, k)
					}
				}
				ds.Errorf(e.KeyPos, path+".extensions."+e.Key, "There is no extension '%s' available on this construct. Available extensions are: %s.", e.Key, strings.Join(names, ", "))
				continue
			}
			if e.Value.Kind != config.Map {
				continue
			}
			for _, r := range c.resources {
				if r.id == id {
					override(r.node, e.Value)
				}
			}
		}
	}
	return c
}

// extensionOrder is the order lift lists a construct's extensions in.
var extensionOrder = []string{"queue", "dlq", "alarm", "bucket", "api", "bus", "table", "distribution"}

// invalid reports one of lift's "Invalid configuration" errors.
func invalid(ds *diag.Diagnostics, n *config.Node, path, id, format string, args ...any) {
	ds.Errorf(n.Pos, path, "Invalid configuration in 'constructs.%s': %s", id, fmt.Sprintf(format, args...))
}
