package aws

import (
	"sort"
	"strconv"
	"strings"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// cloudFront events (Lambda@Edge): every cloudFront event of the service
// feeds one CloudFrontDistribution. Events sharing an origin share its
// entry in Origins, events sharing a path pattern and origin share a cache
// behaviour, and each event adds a function association pointing at the
// function's version (Lambda@Edge runs versions, never $LATEST). Named
// cache policies from provider.cloudFront.cachePolicies become
// AWS::CloudFront::CachePolicy resources (v3 events/cloud-front.js).

func init() {
	registerCore(orderEdgeFunctions, prepareEdgeFunctions)
	registerEvent(orderCloudFront, compileCloudFront, "cloudFront")
}

const (
	// orderEdgeFunctions runs before the functions step, as v3's
	// before:package:compileFunctions hook: the limits and defaults it
	// sets decide the function resource and its version hash.
	orderEdgeFunctions = orderFunctions - 5
	// orderCloudFront follows sqs, as cloud-front.js follows sqs.js in
	// v3's plugin list (the role statement it adds comes after theirs).
	orderCloudFront = orderSQS + 10
)

// Logical IDs and the managed policy v3 uses.
const (
	CloudFrontDistributionLogicalID           = "CloudFrontDistribution"
	CloudFrontDistributionDomainNameLogicalID = "CloudFrontDistributionDomainName"
	// managedCachingOptimized is CloudFront's Managed-CachingOptimized
	// cache policy, which v3 gives a behaviour that sets no caching itself.
	managedCachingOptimized = "658327ea-f89d-4fab-a63d-7e88639e58f6"
	edgeLambdaPrincipal     = "edgelambda.amazonaws.com"
)

// CloudFrontCachePolicyLogicalID names the resource of
// provider.cloudFront.cachePolicies.<name>.
func CloudFrontCachePolicyLogicalID(name string) string {
	return "CloudFrontCachePolicy" + NormalizeResourceName(name)
}

// LambdaAtEdgeInvokePermissionLogicalID lets CloudFront invoke a function's
// version.
func LambdaAtEdgeInvokePermissionLogicalID(key string) string {
	return FunctionLogicalID(key) + "InvokePermission"
}

// edgeLimit is the largest memory size and timeout Lambda@Edge accepts for
// an event type.
type edgeLimit struct{ memorySize, timeout float64 }

var (
	originEdgeLimit = edgeLimit{memorySize: 10240, timeout: 30}
	viewerEdgeLimit = edgeLimit{memorySize: 128, timeout: 5}
	edgeLimits      = map[string]edgeLimit{
		"origin-request": originEdgeLimit, "origin-response": originEdgeLimit,
		"viewer-request": viewerEdgeLimit, "viewer-response": viewerEdgeLimit,
	}
)

// edgeEventType is the event's eventType and the limits that apply to it:
// v3 treats a missing eventType as "default", limited as a viewer event.
// Any other value makes v3 crash; here it is an error.
func edgeEventType(fe FunctionEvent) (string, edgeLimit, *diag.Diagnostic) {
	v := fe.Event.Value
	if v.Kind != config.Map || !v.Has("eventType") {
		return "default", viewerEdgeLimit, nil
	}
	et := v.Get("eventType")
	if s, ok := et.Str(); ok {
		if lim, ok := edgeLimits[s]; ok {
			return s, lim, nil
		}
	}
	return "", edgeLimit{}, &diag.Diagnostic{
		Severity: diag.Error, Pos: eventPos(fe, "eventType"), Path: valuePath(fe, "eventType"),
		Summary: "unsupported cloudFront eventType " + stringifyNode(et),
		Detail:  "Use one of viewer-request, origin-request, origin-response, viewer-response.",
	}
}

// edgeLimitProblem is the first cloudFront event whose eventType is
// invalid or whose function exceeds Lambda@Edge's memory size or timeout
// for it, as v3 checks them when packaging starts (only the function's own
// settings count).
func edgeLimitProblem(events []FunctionEvent) *diag.Diagnostic {
	for _, fe := range events {
		typ, lim, bad := edgeEventType(fe)
		if bad != nil {
			return bad
		}
		for _, s := range []struct {
			key string
			max float64
		}{{"memorySize", lim.memorySize}, {"timeout", lim.timeout}} {
			n := fe.Function.Raw.Get(s.key)
			if v, ok := jsNumber(n); ok && n.Truthy() && v > s.max {
				return &diag.Diagnostic{
					Severity: diag.Error, Pos: n.Pos, Path: "functions." + fe.Function.Key + "." + s.key,
					Summary: strconv.Quote(fe.Function.Key) + " " + s.key + " is greater than " +
						strconv.FormatFloat(s.max, 'f', -1, 64) +
						" which is not supported by Lambda@Edge functions of type " + strconv.Quote(typ),
					Detail: "The cloudFront event at " + fe.Event.Pos.String() + " makes this a Lambda@Edge function.",
				}
			}
		}
	}
	return nil
}

// prepareEdgeFunctions checks functions with cloudFront events against
// Lambda@Edge's limits, then versions them and gives them Lambda@Edge's
// largest viewer settings (128 MB, 5 s) where the function sets none (the
// provider's values do not apply). Like v3, it writes these into the
// function's configuration, so the state file records them too.
func prepareEdgeFunctions(c *Context) {
	events := edgeEvents(c)
	if d := edgeLimitProblem(events); d != nil {
		c.Diags.Append(*d)
		return
	}
	prepared := map[string]bool{}
	for _, fe := range events {
		f := fe.Function
		if prepared[f.Key] {
			continue
		}
		prepared[f.Key] = true
		f.Raw.Set("versionFunction", config.NewBool(true, f.Pos))
		if !f.Raw.Get("memorySize").Truthy() {
			f.Raw.Set("memorySize", config.NewInt(int64(viewerEdgeLimit.memorySize), f.Pos))
			f.MemorySize = int(viewerEdgeLimit.memorySize)
		}
		if !f.Raw.Get("timeout").Truthy() {
			f.Raw.Set("timeout", config.NewInt(int64(viewerEdgeLimit.timeout), f.Pos))
			f.Timeout = int(viewerEdgeLimit.timeout)
		}
	}
}

// edgeEvents are the cloudFront events v3 acts on: it skips events whose
// value is falsy (`cloudFront:` with nothing under it).
func edgeEvents(c *Context) []FunctionEvent {
	var out []FunctionEvent
	for _, fe := range c.EventsOf("cloudFront") {
		if fe.Event.Value.Truthy() {
			out = append(out, fe)
		}
	}
	return out
}

// jsNumber reads a numeric setting as JavaScript compares it with a number.
func jsNumber(n *config.Node) (float64, bool) {
	if n == nil {
		return 0, false
	}
	switch n.Kind {
	case config.Int:
		return float64(n.Value.(int64)), true
	case config.Float:
		return n.Value.(float64), true
	case config.String:
		f, err := strconv.ParseFloat(strings.TrimSpace(n.Value.(string)), 64)
		return f, err == nil
	}
	return 0, false
}

// edgeOrigin is one entry of the distribution's Origins.
type edgeOrigin struct {
	id    string
	props map[string]any
}

// edgeBehavior is one cache behaviour and the events that built it, so a
// conflict can point at the event that caused it.
type edgeBehavior struct {
	props  map[string]any
	events []edgeAssociation
}

type edgeAssociation struct {
	fe    FunctionEvent
	assoc map[string]any
}

// edgeCompiler is the state of one compileCloudFront run.
type edgeCompiler struct {
	c             *Context
	cachePolicies map[string]bool
	unused        []string // declared policies no event named yet, in config order
	origins       []*edgeOrigin
	defaultOrigin *edgeOrigin
	behaviors     []*edgeBehavior
	functions     []*service.Function // edge functions, first appearance order
}

func compileCloudFront(c *Context) {
	ec := &edgeCompiler{c: c, cachePolicies: map[string]bool{}}
	events := edgeEvents(c)
	if edgeLimitProblem(events) != nil {
		return // reported by prepareEdgeFunctions
	}
	ec.compileCachePolicies()
	seen := map[string]bool{}
	for _, fe := range events {
		if !ec.addEvent(fe) {
			return
		}
		if !seen[fe.Function.Key] {
			seen[fe.Function.Key] = true
			ec.functions = append(ec.functions, fe.Function)
		}
	}
	policies := c.Svc.Provider.Raw.Get("cloudFront").Get("cachePolicies")
	for _, name := range ec.unused {
		p := policies.Pair(name)
		c.Diags.Warnf(p.KeyPos, "provider.cloudFront.cachePolicies."+name,
			`Setting "provider.cloudFront.cachePolicies.%s" is not used by any cloudFront event configuration.`, name)
	}
	if len(ec.functions) == 0 {
		return
	}
	// Behaviours with a path pattern come after those without (a stable
	// sort, as v3's).
	sort.SliceStable(ec.behaviors, func(i, j int) bool {
		return !hasPathPattern(ec.behaviors[i]) && hasPathPattern(ec.behaviors[j])
	})
	if !ec.checkRegion(events[0]) || !ec.checkBehaviors() {
		return
	}
	behaviors := make([]map[string]any, 0, len(ec.behaviors)+1)
	for _, b := range ec.behaviors {
		behaviors = append(behaviors, b.props)
	}
	if hasPathPattern(ec.behaviors[0]) {
		// CloudFront needs a default behaviour, which has no path pattern:
		// v3 derives it from the first behaviour.
		origin := ec.defaultOrigin
		if origin == nil {
			if len(ec.origins) > 1 {
				c.Diags.Append(diag.Diagnostic{
					Severity: diag.Error, Pos: events[0].Event.Pos, Path: eventPath(events[0]),
					Summary: `Found more than one origin but none of the cloudfront event has "isDefaultOrigin" defined`,
					Detail:  "Every cloudFront event has a pathPattern, so CloudFront's default behaviour needs an origin: set isDefaultOrigin: true on the event whose origin it should use.",
				})
				return
			}
			origin = ec.origins[0]
		}
		def := map[string]any{}
		for k, v := range behaviors[0] {
			if k != "PathPattern" && k != "LambdaFunctionAssociations" {
				def[k] = v
			}
		}
		def["TargetOriginId"] = origin.id
		behaviors = append([]map[string]any{def}, behaviors...)
	}
	ec.compilePermissions()
	ec.grantRole(events[0])

	origins := make([]any, len(ec.origins))
	for i, o := range ec.origins {
		origins[i] = o.props
	}
	distribution := map[string]any{
		"Comment":              c.Svc.Name + " " + c.Svc.Stage,
		"Enabled":              true,
		"DefaultCacheBehavior": behaviors[0],
		"Origins":              origins,
	}
	if len(behaviors) > 1 {
		rest := make([]any, len(behaviors)-1)
		for i, b := range behaviors[1:] {
			rest[i] = b
		}
		distribution["CacheBehaviors"] = rest
	}
	c.Template.AddResource(CloudFrontDistributionLogicalID, "AWS::CloudFront::Distribution",
		map[string]any{"DistributionConfig": distribution})
	c.Template.AddOutput(CloudFrontDistributionLogicalID, "CloudFront Distribution Id",
		cfn.Ref(CloudFrontDistributionLogicalID))
	c.Template.AddOutput(CloudFrontDistributionDomainNameLogicalID, "CloudFront Distribution Domain Name",
		cfn.GetAtt(CloudFrontDistributionLogicalID, "DomainName"))
}

// compileCachePolicies adds a CachePolicy per provider.cloudFront.cachePolicies
// entry, whether or not an event uses it, named <service>-<stage>-<name>.
func (ec *edgeCompiler) compileCachePolicies() {
	c := ec.c
	policies := c.Svc.Provider.Raw.Get("cloudFront").Get("cachePolicies")
	if policies == nil || policies.Kind != config.Map {
		return
	}
	for _, p := range policies.Pairs {
		ec.cachePolicies[p.Key] = true
		ec.unused = append(ec.unused, p.Key)
		cfg := map[string]any{}
		if m, ok := p.Value.Interface().(map[string]any); ok {
			cfg = m
		}
		cfg["Name"] = c.Svc.Name + "-" + c.Svc.Stage + "-" + p.Key
		c.Template.AddResource(CloudFrontCachePolicyLogicalID(p.Key), "AWS::CloudFront::CachePolicy",
			map[string]any{"CachePolicyConfig": cfg})
	}
}

// addEvent turns one event into its origin, behaviour and association,
// merging them into those of earlier events. It reports false (with a
// diagnostic) when v3 would stop.
func (ec *edgeCompiler) addEvent(fe FunctionEvent) bool {
	c, v, key := ec.c, fe.Event.Value, fe.Function.Key
	if v.Kind != config.Map {
		c.Diags.Append(diag.Diagnostic{
			Severity: diag.Error, Pos: eventPos(fe, ""), Path: eventPath(fe),
			Summary: `the cloudFront event of function "` + key + `" must be a mapping of settings`,
			Detail:  "For example: cloudFront: {eventType: viewer-request, origin: s3://bucket.s3.amazonaws.com}",
		})
		return false
	}
	// Lambda@Edge functions run without VPC or environment variables, and
	// are retained on stack removal: CloudFront deletes their replicas
	// hours after the distribution, so deleting the function would fail.
	if res := c.Template.Resource(FunctionLogicalID(key)); res != nil {
		if props, ok := res["Properties"].(map[string]any); ok {
			delete(props, "VpcConfig")
			delete(props, "Environment")
		}
		res["DeletionPolicy"] = "Retain"
	}
	versionRef := map[string]any{}
	if id := c.FunctionVersionLogicalID(key); id != "" {
		versionRef = cfn.Ref(id)
	}

	origin, ok := ec.origin(fe)
	if !ok {
		return false
	}
	if existing := ec.findOrigin(origin.id); existing != nil {
		extendDeep(existing.props, origin.props)
		origin = existing
	} else {
		ec.origins = append(ec.origins, origin)
	}
	if v.Get("isDefaultOrigin").Truthy() {
		if ec.defaultOrigin != nil && ec.defaultOrigin != origin {
			c.Diags.Errorf(eventPos(fe, "isDefaultOrigin"), valuePath(fe, "isDefaultOrigin"),
				`Found more than one cloudfront event with "isDefaultOrigin" defined`)
			return false
		}
		ec.defaultOrigin = origin
	}

	behavior := map[string]any{"ViewerProtocolPolicy": "allow-all"}
	assignCachePolicy := true
	if b := v.Get("behavior"); b.Truthy() {
		if m, ok := b.Interface().(map[string]any); ok {
			for k, val := range m {
				behavior[k] = val
			}
		}
		if b.Get("CachePolicyId").Truthy() {
			assignCachePolicy = false
		}
		// A behaviour that sets its own caching cannot also take a policy.
		if b.Get("ForwardedValues").Truthy() || isSet(b.Get("MaxTTL")) || isSet(b.Get("MinTTL")) || isSet(b.Get("DefaultTTL")) {
			assignCachePolicy = false
		}
	}
	if cp := v.Get("cachePolicy"); cp.Truthy() {
		id, name := cp.Get("id"), cp.Get("name")
		switch {
		case id.Truthy():
			behavior["CachePolicyId"] = id.Interface()
		case name.Truthy():
			behavior["CachePolicyId"] = cfn.Ref(CloudFrontCachePolicyLogicalID(name.Scalar()))
		default:
			c.Diags.Errorf(eventPos(fe, "cachePolicy"), valuePath(fe, "cachePolicy"),
				`the cachePolicy of function "%s" needs "id" (an existing policy) or "name" (one of provider.cloudFront.cachePolicies)`, key)
			return false
		}
		if name.Truthy() {
			n := name.Scalar()
			if !ec.cachePolicies[n] {
				c.Diags.Append(diag.Diagnostic{
					Severity: diag.Error, Pos: name.Pos, Path: valuePath(fe, "cachePolicy.name"),
					Summary: "Event references not configured cache policy '" + n + "'",
					Detail:  ec.cachePolicyHint(n),
				})
				return false
			}
			ec.markUsed(n)
		}
		assignCachePolicy = false
	}
	if assignCachePolicy {
		behavior["CachePolicyId"] = managedCachingOptimized
	}

	assoc := map[string]any{"LambdaFunctionARN": versionRef}
	if v.Has("eventType") {
		assoc["EventType"] = v.Get("eventType").Interface()
	}
	if isSet(v.Get("includeBody")) {
		assoc["IncludeBody"] = v.Get("includeBody").Interface()
	}
	behavior["TargetOriginId"] = origin.id
	behavior["LambdaFunctionAssociations"] = []any{assoc}
	if pp, ok := v.Get("pathPattern").Str(); ok && pp != "" {
		behavior["PathPattern"] = pp
	}
	contribution := edgeAssociation{fe: fe, assoc: assoc}
	for _, b := range ec.behaviors {
		if jsStrictEqual(b.props, behavior, "PathPattern") && jsStrictEqual(b.props, behavior, "TargetOriginId") {
			extendDeep(b.props, behavior)
			b.events = append(b.events, contribution)
			return true
		}
	}
	ec.behaviors = append(ec.behaviors, &edgeBehavior{props: behavior, events: []edgeAssociation{contribution}})
	return true
}

func (ec *edgeCompiler) markUsed(name string) {
	for i, n := range ec.unused {
		if n == name {
			ec.unused = append(ec.unused[:i], ec.unused[i+1:]...)
			return
		}
	}
}

func (ec *edgeCompiler) cachePolicyHint(name string) string {
	if len(ec.cachePolicies) == 0 {
		return "Declare it under provider.cloudFront.cachePolicies, or refer to an existing policy with cachePolicy.id."
	}
	names := make([]string, 0, len(ec.cachePolicies))
	for n := range ec.cachePolicies {
		names = append(names, n)
	}
	sort.Strings(names)
	return "provider.cloudFront.cachePolicies declares: " + strings.Join(names, ", ")
}

func (ec *edgeCompiler) findOrigin(id string) *edgeOrigin {
	for _, o := range ec.origins {
		if o.id == id {
			return o
		}
	}
	return nil
}

// origin builds the event's origin: a URL (s3://bucket… for an S3 origin,
// anything else for a custom origin answering on the viewer's protocol)
// or an Origin object, given its ID the way v3 names it.
func (ec *edgeCompiler) origin(fe FunctionEvent) (*edgeOrigin, bool) {
	c := ec.c
	n := fe.Event.Value.Get("origin")
	props := map[string]any{}
	switch {
	case n == nil || n.Kind == config.Null:
		c.Diags.Append(diag.Diagnostic{
			Severity: diag.Error, Pos: eventPos(fe, ""), Path: valuePath(fe, "origin"),
			Summary: `the cloudFront event of function "` + fe.Function.Key + `" has no origin`,
			Detail:  "Set origin to a URL (s3://bucket.s3.amazonaws.com, https://example.com/path) or an Origin object with DomainName.",
		})
		return nil, false
	case n.Kind == config.String:
		u := parseOriginURL(n.Value.(string))
		if u.hostname == "" {
			c.Diags.Append(diag.Diagnostic{
				Severity: diag.Error, Pos: n.Pos, Path: valuePath(fe, "origin"),
				Summary: "origin " + strconv.Quote(n.Value.(string)) + " is not a URL with a host",
				Detail:  "Write it as s3://bucket.s3.amazonaws.com for an S3 origin or https://example.com/path for a custom one.",
			})
			return nil, false
		}
		props["DomainName"] = u.hostname
		if len(u.pathname) > 1 {
			props["OriginPath"] = u.pathname
		}
		if u.protocol == "s3:" {
			props["S3OriginConfig"] = map[string]any{}
		} else {
			props["CustomOriginConfig"] = map[string]any{"OriginProtocolPolicy": "match-viewer"}
		}
	case n.Kind == config.Map:
		if d := n.Get("DomainName"); d == nil || d.Kind == config.Null {
			c.Diags.Errorf(keyPos(fe.Event.Value, "origin"), valuePath(fe, "origin"),
				`the origin of function "%s"'s cloudFront event has no DomainName`, fe.Function.Key)
			return nil, false
		}
		props = n.Interface().(map[string]any)
	default:
		c.Diags.Errorf(n.Pos, valuePath(fe, "origin"),
			`the origin of function "%s"'s cloudFront event must be a URL or an Origin object, not a value of type %s`, fe.Function.Key, n.Kind)
		return nil, false
	}
	id := originID(props, n)
	props["Id"] = id
	return &edgeOrigin{id: id, props: props}, true
}

// originID is v3's origin naming: "s3/" or "custom/", the domain (a
// CloudFormation function's JSON, letters and digits only) and the path.
func originID(props map[string]any, n *config.Node) string {
	id := "custom/"
	if isJSTruthy(props["S3OriginConfig"]) {
		id = "s3/"
	}
	if d, ok := props["DomainName"].(string); ok {
		id += d
	} else if n.Kind == config.Map {
		id += NormalizeNameToAlphaNumericOnly(stringifyNode(n.Get("DomainName")))
	}
	if p := props["OriginPath"]; isJSTruthy(p) {
		id += jsTemplateString(p)
	}
	return id
}

// jsTemplateString is how a value prints inside a JavaScript template
// literal.
func jsTemplateString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return config.FormatJSNumber(v)
	case []any:
		parts := make([]string, len(v))
		for i, it := range v {
			if it != nil {
				parts[i] = jsTemplateString(it)
			}
		}
		return strings.Join(parts, ",")
	}
	return "[object Object]"
}

// checkRegion enforces CloudFront's rule that Lambda@Edge functions live
// in us-east-1.
func (ec *edgeCompiler) checkRegion(first FunctionEvent) bool {
	c := ec.c
	if c.Svc.Region == "us-east-1" {
		return true
	}
	d := diag.Diagnostic{
		Severity: diag.Error, Pos: first.Event.Pos, Path: eventPath(first),
		Summary: "CloudFront associated functions have to be deployed to the us-east-1 region.",
		Detail:  "This service deploys to " + c.Svc.Region + "; Lambda@Edge functions must be created in us-east-1 (use --region us-east-1, or move them to a service of their own there).",
	}
	if r := c.Svc.Provider.Raw.Get("region"); r != nil && r.Kind == config.String && r.Value.(string) == c.Svc.Region {
		d.Pos, d.Path = r.Pos, "provider.region"
	}
	c.Diags.Append(d)
	return false
}

// checkBehaviors rejects two behaviours with one path pattern (different
// origins) and two associations of one event type in a behaviour.
func (ec *edgeCompiler) checkBehaviors() bool {
	c := ec.c
	seen := map[string]bool{}
	for _, b := range ec.behaviors {
		pp, _ := b.props["PathPattern"].(string)
		if seen[pp] {
			fe := b.events[0].fe
			path := eventPath(fe)
			if fe.Event.Value.Has("pathPattern") {
				path = valuePath(fe, "pathPattern")
			}
			c.Diags.Append(diag.Diagnostic{
				Severity: diag.Error, Pos: eventPos(fe, "pathPattern"), Path: path,
				Summary: "Found more than one behavior with the same PathPattern",
				Detail:  "Events with the same pathPattern (or none) must use the same origin.",
			})
			return false
		}
		seen[pp] = true
	}
	for _, b := range ec.behaviors {
		for i, x := range b.events {
			for _, y := range b.events[:i] {
				if jsStrictEqual(x.assoc, y.assoc, "EventType") && !cfn.Equal(x.assoc, y.assoc) {
					c.Diags.Append(diag.Diagnostic{
						Severity: diag.Error, Pos: eventPos(x.fe, "eventType"), Path: valuePath(x.fe, "eventType"),
						Summary: "The event type of a function association must be unique in the cache behavior",
						Detail: "Function \"" + y.fe.Function.Key + "\" already handles this event type for the same origin and path pattern (" +
							y.fe.Event.Pos.String() + ").",
					})
					return false
				}
			}
		}
	}
	return true
}

// compilePermissions lets CloudFront replicate and invoke each function's
// version.
func (ec *edgeCompiler) compilePermissions() {
	c := ec.c
	sourceArn := cfn.Join("", "", "arn:", cfn.Ref("AWS::Partition"), ":cloudfront::", cfn.Ref("AWS::AccountId"),
		":distribution/", cfn.Ref(CloudFrontDistributionLogicalID))
	for _, f := range ec.functions {
		versionRef := map[string]any{}
		if id := c.FunctionVersionLogicalID(f.Key); id != "" {
			versionRef = cfn.Ref(id)
		}
		c.Template.Resources[LambdaAtEdgeInvokePermissionLogicalID(f.Key)] =
			invokePermission(versionRef, edgeLambdaPrincipal, sourceArn, nil)
	}
}

// grantRole lets Lambda@Edge assume the default execution role and write
// logs in whichever region a replica runs (log groups are regional, named
// /aws/lambda/us-east-1.<function>).
func (ec *edgeCompiler) grantRole(first FunctionEvent) {
	c := ec.c
	role := c.Template.Resource(RoleLogicalID)
	if role == nil {
		c.Diags.Warnf(first.Event.Pos, eventPath(first),
			"Remember to add required lambda@edge permissions to your execution role. Documentation: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-edge-permissions.html")
		return
	}
	props, _ := role["Properties"].(map[string]any)
	assume, _ := props["AssumeRolePolicyDocument"].(map[string]any)
	stmts, _ := assume["Statement"].([]any)
	for _, st := range stmts {
		principal, _ := st.(map[string]any)["Principal"].(map[string]any)
		if services, ok := principal["Service"].([]any); ok && listHas(services, "lambda.amazonaws.com") {
			principal["Service"] = append(services, edgeLambdaPrincipal)
			break
		}
	}
	c.AddRoleStatements(map[string]any{
		"Effect":   "Allow",
		"Action":   []any{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:TagResource"},
		"Resource": []any{cfn.Sub("arn:${AWS::Partition}:logs:*:*:*")},
	})
}

func hasPathPattern(b *edgeBehavior) bool { return isJSTruthy(b.props["PathPattern"]) }

// extendDeep merges src into dst the way v3 joins the origins and the
// behaviours of several events: settings dst already has win, lists are
// joined without duplicates, objects are merged key by key.
func extendDeep(dst, src map[string]any) {
	for k, b := range src {
		a, exists := dst[k]
		switch a := a.(type) {
		case []any:
			joined := append(append([]any(nil), a...), spreadConcat(b)...)
			dst[k] = uniqEqual(joined)
		case map[string]any:
			if bm, ok := b.(map[string]any); ok {
				extendDeep(a, bm)
			}
		default:
			if !exists {
				dst[k] = b
			}
		}
	}
}

// spreadConcat is what Array.prototype.concat adds for v: a list's items,
// anything else as one item.
func spreadConcat(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// uniqEqual keeps the first of deeply equal items (_.uniqWith(_.isEqual)),
// and is never nil: v3 writes an empty list where nothing remains.
func uniqEqual(items []any) []any {
	if out := uniq(items); out != nil {
		return out
	}
	return []any{}
}

// jsStrictEqual is a[key] === b[key] for the scalar values behaviours are
// matched on (two absent values are equal; objects never are).
func jsStrictEqual(a, b map[string]any, key string) bool {
	x, xok := a[key]
	y, yok := b[key]
	if !xok || !yok {
		return xok == yok
	}
	switch x.(type) {
	case map[string]any, []any:
		return false
	}
	switch y.(type) {
	case map[string]any, []any:
		return false
	}
	return cfn.Equal(x, y)
}

// isSet is `value != null`: present and not null.
func isSet(n *config.Node) bool { return n != nil && n.Kind != config.Null }

// isJSTruthy is JavaScript truthiness of a template value.
func isJSTruthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case int64:
		return v != 0
	case int:
		return v != 0
	case float64:
		return v != 0 && v == v
	}
	return true
}

// originURL is the part of Node's legacy url.parse that v3 reads from a
// string origin.
type originURL struct{ protocol, hostname, pathname string }

// slashedProtocols are those url.parse never reads a host from unless the
// scheme is followed by "//".
var slashedProtocols = map[string]bool{"http:": true, "https:": true, "ftp:": true, "gopher:": true, "file:": true}

// parseOriginURL follows url.parse for the URLs origins are written as:
// the scheme lower-cased; the host after "//" (or right after the scheme
// for schemes like mailto:), without user info or port, lower-cased; the
// path up to the query or fragment, with the characters url.parse escapes
// escaped. A slashed scheme with an empty path gets "/".
func parseOriginURL(s string) originURL {
	var u originURL
	rest := strings.TrimSpace(s)
	if i := strings.IndexByte(rest, ':'); i > 0 && isScheme(rest[:i]) {
		u.protocol = strings.ToLower(rest[:i+1])
		rest = rest[i+1:]
	}
	slashes := strings.HasPrefix(rest, "//")
	if slashes && u.protocol != "javascript:" {
		rest = rest[2:]
	}
	if u.protocol != "" && u.protocol != "javascript:" && (slashes || !slashedProtocols[u.protocol]) {
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		host := rest[:end]
		rest = rest[end:]
		if at := strings.LastIndexByte(host, '@'); at >= 0 {
			host = host[at+1:]
		}
		if strings.HasPrefix(host, "[") {
			if j := strings.IndexByte(host, ']'); j > 0 {
				host = host[1:j]
			}
		} else if j := strings.LastIndexByte(host, ':'); j >= 0 && allDigits(host[j+1:]) {
			host = host[:j]
		}
		u.hostname = strings.ToLower(host)
	}
	if end := strings.IndexAny(rest, "?#"); end >= 0 {
		rest = rest[:end]
	}
	u.pathname = escapeURLPath(rest)
	if u.pathname == "" && u.hostname != "" && slashedProtocols[u.protocol] {
		u.pathname = "/"
	}
	return u
}

func isScheme(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// escapeURLPath escapes the characters url.parse escapes in a path.
func escapeURLPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch ch := p[i]; ch {
		case '{', '}', '|', '\\', '^', '`', '<', '>', '"', ' ', '\r', '\n', '\t', '\'':
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(ch)|0x100, 16)[1:]))
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
