package aws

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// v3's compileFunctions: one AWS::Lambda::Function per function, its
// version (version.go), URL and EventInvokeConfig.
func init() { registerCore(orderFunctions, compileFunctions) }

// DefaultRuntime is v3.40's provider.getRuntime fallback.
const DefaultRuntime = "nodejs16.x"

// compileFunctions runs in the order v3's concurrent compileFunction calls
// interleave (they share the role's statement list, so order shows): each
// function's synchronous part in config order, then, once their awaits
// resolve, image functions, then the version/URL/EventInvokeConfig part of
// functions that had to hash their artifact.
func compileFunctions(c *Context) {
	var images, hashed []func()
	for _, f := range c.Svc.Functions {
		if f.Raw.Get("image").Truthy() {
			f := f
			images = append(images, func() {
				if rest := c.compileFunction(f); rest != nil {
					rest()
				}
			})
			continue
		}
		if rest := c.compileFunction(f); rest != nil {
			hashed = append(hashed, rest)
		}
	}
	for _, run := range append(images, hashed...) {
		run()
	}
}

// compileFunction adds the function resource and returns the part v3 runs
// after awaiting the artifact hash (nil when it already finished).
func (c *Context) compileFunction(f *service.Function) func() {
	raw, prov := f.Raw, c.Svc.Provider.Raw
	path := "functions." + f.Key
	props := map[string]any{}
	res := map[string]any{"Type": "AWS::Lambda::Function", "Properties": props}
	code := map[string]any{}
	props["Code"] = code

	handler, image := raw.Get("handler"), raw.Get("image")
	if !handler.Truthy() && !image.Truthy() {
		c.Diags.Errorf(f.Pos, path, "Either \"handler\" or \"image\" property needs to be set on function %q", f.Key)
		return nil
	}
	if handler.Truthy() && image.Truthy() {
		c.Diags.Errorf(f.Pos, path, "Either \"handler\" or \"image\" property (not both) needs to be set on function %q", f.Key)
		return nil
	}

	var imageURI, imageSha, artifact string
	if image.Truthy() {
		imageURI, imageSha = c.resolveImage(f, image)
		if image.Kind == config.Map {
			cfg := map[string]any{}
			for _, kv := range [][2]string{{"command", "Command"}, {"entryPoint", "EntryPoint"}, {"workingDirectory", "WorkingDirectory"}} {
				if n := image.Get(kv[0]); n.Truthy() {
					cfg[kv[1]] = n.Interface()
				}
			}
			if len(cfg) > 0 {
				props["ImageConfig"] = cfg
			}
		}
		code["ImageUri"] = imageURI
		props["PackageType"] = "Image"
	} else {
		artifact = c.FunctionArtifact(f)
		if rm := runtimeManagement(prov.Get("runtimeManagement"), raw.Get("runtimeManagement")); rm.mode != "auto" {
			cfg := map[string]any{"UpdateRuntimeOn": map[string]string{
				"onFunctionUpdate": "FunctionUpdate", "manual": "Manual",
			}[rm.mode]}
			if rm.mode == "manual" {
				cfg["RuntimeVersionArn"] = rm.arn
			}
			props["RuntimeManagementConfig"] = cfg
		}
		props["Handler"] = handler.Interface()
		code["S3Bucket"] = c.DeploymentBucketRef()
		code["S3Key"] = c.ArtifactDirectoryName + "/" + filepath.Base(artifact)
		props["Runtime"] = firstTruthyValue(raw.Get("runtime"), prov.Get("runtime"), DefaultRuntime)
	}
	props["FunctionName"] = f.Name
	props["MemorySize"] = coerceInt(firstTruthyValue(raw.Get("memorySize"), prov.Get("memorySize"), int64(1024)))
	props["Timeout"] = coerceInt(firstTruthyValue(raw.Get("timeout"), prov.Get("timeout"), int64(6)))
	if a := firstTruthy(raw.Get("architecture"), prov.Get("architecture")); a != nil {
		props["Architectures"] = []any{a.Interface()}
	}
	if d := raw.Get("description"); d.Truthy() {
		props["Description"] = d.Interface()
	}
	if cond := raw.Get("condition"); cond.Truthy() {
		res["Condition"] = cond.Interface()
	}
	var dependsOn []any
	if d := raw.Get("dependsOn"); d.Truthy() {
		dependsOn = append(dependsOn, interfaceItems(d)...)
	}
	if tags := mergedPairs(prov.Get("tags"), raw.Get("tags")); tags != nil {
		props["Tags"] = tagList(tags)
	}
	if s := raw.Get("ephemeralStorageSize"); s.Truthy() {
		props["EphemeralStorage"] = map[string]any{"Size": s.Interface()}
	}
	if onErr := raw.Get("onError"); onErr.Truthy() {
		props["DeadLetterConfig"] = map[string]any{"TargetArn": onErr.Interface()}
		if onErr.Kind == config.String {
			c.AddRoleStatements(map[string]any{"Effect": "Allow", "Action": []any{"sns:Publish"}, "Resource": []any{onErr.Interface()}})
		}
	}
	if kms := firstTruthy(raw.Get("kmsKeyArn"), prov.Get("kmsKeyArn")); kms != nil {
		props["KmsKeyArn"] = kms.Interface()
		if kms.Kind == config.String {
			c.unionRoleStatement(map[string]any{"Effect": "Allow", "Action": []any{"kms:Decrypt"}, "Resource": []any{kms.Interface()}})
		}
	}
	if tr := firstTruthy(raw.Get("tracing"), prov.Get("tracing").Get("lambda")); tr != nil {
		mode := tr.Interface()
		if tr.Kind == config.Bool {
			mode = "Active"
		}
		props["TracingConfig"] = map[string]any{"Mode": mode}
		c.unionRoleStatement(map[string]any{
			"Effect": "Allow", "Action": []any{"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, "Resource": []any{"*"},
		})
	}
	if env := mergedPairs(prov.Get("environment"), raw.Get("environment")); env != nil || raw.Get("environment").Truthy() || prov.Get("environment").Truthy() {
		vars := map[string]any{}
		for _, p := range env {
			vars[p.Key] = coerceString(p.Value)
		}
		props["Environment"] = map[string]any{"Variables": vars}
	}

	// Role.
	role := c.customExecutionRole(raw)
	switch {
	case role == nil:
		props["Role"] = cfn.GetAtt(RoleLogicalID, "Arn")
	case role.Kind == config.String:
		r := role.Scalar0()
		switch {
		case strings.HasPrefix(r, "arn:"):
			props["Role"] = r
		case r == RoleLogicalID:
			props["Role"] = cfn.GetAtt(r, "Arn")
		default:
			props["Role"] = cfn.GetAtt(r, "Arn")
			dependsOn = append(dependsOn, r)
		}
	case role.Kind == config.Map && role.Has("Fn::GetAtt"):
		props["Role"] = role.Interface()
		if ga := role.Get("Fn::GetAtt"); ga != nil && len(ga.Items) > 0 {
			dependsOn = append(dependsOn, ga.Items[0].Interface())
		} else if ga != nil && ga.Kind == config.String {
			// "Resource.Arn" string form: v3 indexes the string, taking its first character.
			s := ga.Scalar0()
			if s != "" {
				dependsOn = append(dependsOn, s[:1])
			}
		}
	default:
		props["Role"] = role.Interface()
	}

	// VPC: the function's setting, else the provider's; `vpc: false` or
	// null on the function opts out.
	fvpc := raw.Get("vpc")
	if !(raw.Has("vpc") && (fvpc == nil || fvpc.Kind == config.Null || (fvpc.Kind == config.Bool && !fvpc.Value.(bool)))) {
		pvpc := prov.Get("vpc")
		sg := firstDefined(fvpc.Get("securityGroupIds"), pvpc.Get("securityGroupIds"))
		sn := firstDefined(fvpc.Get("subnetIds"), pvpc.Get("subnetIds"))
		if sg.Truthy() && sn.Truthy() {
			props["VpcConfig"] = map[string]any{"SecurityGroupIds": sg.Interface(), "SubnetIds": sn.Interface()}
		}
	}
	if fs := raw.Get("fileSystemConfig"); fs.Truthy() {
		if props["VpcConfig"] == nil {
			c.Diags.Errorf(keyPos(raw, "fileSystemConfig"), path+".fileSystemConfig",
				"Function %q: when using fileSystemConfig, ensure that function has vpc configured on function or provider level", f.Key)
		}
		c.AddRoleStatements(map[string]any{
			"Effect": "Allow", "Action": []any{"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"},
			"Resource": []any{fs.Get("arn").Interface()},
		})
		props["FileSystemConfigs"] = []any{map[string]any{
			"Arn": fs.Get("arn").Interface(), "LocalMountPath": fs.Get("localMountPath").Interface(),
		}}
	}
	if rc := raw.Get("reservedConcurrency"); rc != nil && rc.Kind != config.Null && (rc.Truthy() || isZero(rc)) {
		props["ReservedConcurrentExecutions"] = rc.Interface()
	}
	if !raw.Get("disableLogs").Truthy() {
		dependsOn = append([]any{LogGroupLogicalID(f.Key)}, dependsOn...)
	}
	if dependsOn != nil {
		res["DependsOn"] = dependsOn
	}
	if l := raw.Get("layers"); l.Truthy() {
		props["Layers"] = l.Interface()
	} else if l := prov.Get("layers"); l.Truthy() {
		props["Layers"] = l.Interface()
	}

	c.Template.Resources[FunctionLogicalID(f.Key)] = res
	rest := func() {
		c.compileVersion(f, res, artifact, imageSha)
		c.compileFunctionURL(f)
		c.compileEventInvokeConfig(f)
	}
	if imageSha == "" && c.versioned(f) {
		return rest
	}
	rest()
	return nil
}

// resolveImage handles image URIs with a digest (uri@sha256:…), the only
// form that needs no registry access at package time.
func (c *Context) resolveImage(f *service.Function, image *config.Node) (uri, sha string) {
	uri = image.Scalar0()
	if image.Kind == config.Map {
		uri = image.Get("uri").Scalar0()
		if uri == "" {
			c.Diags.Errorf(keyPos(f.Raw, "image"), "functions."+f.Key+".image",
				"image %q is built from provider.ecr.images, which needs Docker; Nimbus packages images given by uri@sha256:digest only", image.Get("name").Scalar0())
			return "", ""
		}
	}
	if i := strings.Index(uri, "@"); i >= 0 {
		return uri, strings.TrimPrefix(uri[i+1:], "sha256:")
	}
	c.Diags.Errorf(keyPos(f.Raw, "image"), "functions."+f.Key+".image",
		"image %q has no digest; use <repository-uri>@sha256:<digest> so the version can be computed without calling ECR", uri)
	return uri, ""
}

type runtimeMgmt struct{ mode, arn string }

func runtimeManagement(ns ...*config.Node) runtimeMgmt {
	rm := runtimeMgmt{mode: "auto"}
	for _, n := range ns {
		switch {
		case n == nil:
		case n.Kind == config.String:
			rm.mode = n.Scalar0()
		case n.Kind == config.Map:
			if m := n.Get("mode"); m != nil {
				rm.mode = m.Scalar0()
			}
			if a := n.Get("arn"); a != nil {
				rm.arn = a.Scalar0()
			}
		}
	}
	return rm
}

// compileFunctionURL is v3's compileFunctionUrl.
func (c *Context) compileFunctionURL(f *service.Function) {
	url := f.Raw.Get("url")
	if !url.Truthy() {
		return
	}
	auth := "NONE"
	if url.Get("authorizer").Scalar0() == "aws_iam" {
		auth = "AWS_IAM"
	}
	props := map[string]any{"AuthType": auth, "TargetFunctionArn": c.FunctionTarget(f.Key)}
	res := map[string]any{"Type": "AWS::Lambda::Url", "Properties": props}
	_, aliasID, hasAlias := c.FunctionAlias(f.Key)
	if hasAlias {
		res["DependsOn"] = aliasID
	}
	if cors := url.Get("cors"); cors.Truthy() {
		cfg := map[string]any{
			"AllowOrigins": []any{"*"},
			"AllowHeaders": []any{"Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "X-Amz-Security-Token", "X-Amzn-Trace-Id"},
			"AllowMethods": []any{"*"},
		}
		for _, kv := range [][2]string{{"allowedOrigins", "AllowOrigins"}, {"allowedHeaders", "AllowHeaders"}, {"allowedMethods", "AllowMethods"}} {
			n := cors.Get(kv[0])
			if n.Truthy() {
				cfg[kv[1]] = uniq(interfaceItems(n))
			} else if cors.Has(kv[0]) && (n == nil || n.Kind == config.Null) {
				delete(cfg, kv[1])
			}
		}
		if cors.Get("allowCredentials").Truthy() {
			cfg["AllowCredentials"] = true
		}
		if n := cors.Get("exposedResponseHeaders"); n.Truthy() {
			cfg["ExposeHeaders"] = uniq(interfaceItems(n))
		}
		if n := cors.Get("maxAge"); n != nil && n.Kind != config.Null {
			cfg["MaxAge"] = n.Interface()
		}
		props["Cors"] = cfg
	}
	if url.Get("invokeMode").Scalar0() == "RESPONSE_STREAM" {
		props["InvokeMode"] = "RESPONSE_STREAM"
	}
	id := FunctionURLLogicalID(f.Key)
	c.Template.Resources[id] = res
	c.Template.AddOutput(FunctionURLOutputLogicalID(f.Key), "Lambda Function URL", cfn.GetAtt(id, "FunctionUrl"))
	if auth == "NONE" {
		perm := map[string]any{"Type": "AWS::Lambda::Permission", "Properties": map[string]any{
			"FunctionName": c.FunctionTarget(f.Key), "Action": "lambda:InvokeFunctionUrl",
			"Principal": "*", "FunctionUrlAuthType": auth,
		}}
		if hasAlias {
			perm["DependsOn"] = aliasID
		}
		c.Template.Resources[FunctionURLPermissionLogicalID(f.Key)] = perm
	}
}

// compileEventInvokeConfig is v3's compileFunctionEventInvokeConfig:
// destinations, maximumEventAge and maximumRetryAttempts.
func (c *Context) compileEventInvokeConfig(f *service.Function) {
	raw := f.Raw
	dest, age, retries := raw.Get("destinations"), raw.Get("maximumEventAge"), raw.Get("maximumRetryAttempts")
	hasRetries := retries != nil && retries.Kind != config.Null
	if !dest.Truthy() && !age.Truthy() && !hasRetries {
		return
	}
	cfg := map[string]any{}
	if dest.Truthy() {
		external := c.customExecutionRole(raw) != nil
		for _, kv := range [][2]string{{"onSuccess", "OnSuccess"}, {"onFailure", "OnFailure"}} {
			d := dest.Get(kv[0])
			if !d.Truthy() {
				continue
			}
			cfg[kv[1]] = map[string]any{"Destination": c.destinationArn(d)}
			if !external {
				c.grantDestination(f, d, "functions."+f.Key+".destinations."+kv[0])
			}
		}
	}
	qualifier := "$LATEST"
	aliasName, aliasID, hasAlias := c.FunctionAlias(f.Key)
	if hasAlias {
		qualifier = aliasName
	}
	props := map[string]any{"FunctionName": cfn.Ref(FunctionLogicalID(f.Key)), "DestinationConfig": cfg, "Qualifier": qualifier}
	res := map[string]any{"Type": "AWS::Lambda::EventInvokeConfig", "Properties": props}
	if hasAlias {
		res["DependsOn"] = aliasID
	}
	if age.Truthy() {
		props["MaximumEventAgeInSeconds"] = age.Interface()
	}
	if hasRetries {
		props["MaximumRetryAttempts"] = retries.Interface()
	}
	c.Template.Resources[EventInvokeConfigLogicalID(f.Key)] = res
}

func (c *Context) destinationArn(d *config.Node) any {
	if d.Kind == config.Map {
		return d.Get("arn").Interface()
	}
	s := d.Scalar0()
	if strings.HasPrefix(s, "arn:") {
		return s
	}
	return c.FunctionTarget(s)
}

// grantDestination is v3's ensureTargetExecutionPermission (memoised per
// destination, as v3 memoises it).
func (c *Context) grantDestination(f *service.Function, d *config.Node, path string) {
	key := string(mustJSON(d))
	if c.grantedDestinations[key] {
		return
	}
	c.grantedDestinations[key] = true
	var action string
	var resource any
	if d.Kind == config.Map {
		action = map[string]string{"function": "lambda:InvokeFunction", "sqs": "sqs:SendMessage",
			"sns": "sns:Publish", "eventBus": "events:PutEvents"}[d.Get("type").Scalar0()]
		resource = d.Get("arn").Interface()
	} else {
		s := d.Scalar0()
		switch {
		case !strings.HasPrefix(s, "arn:") || strings.Contains(s, ":function:"):
			action = "lambda:InvokeFunction"
		case strings.Contains(s, ":sqs:"):
			action = "sqs:SendMessage"
		case strings.Contains(s, ":sns:"):
			action = "sns:Publish"
		case strings.Contains(s, ":event-bus/"):
			action = "events:PutEvents"
		}
		if strings.HasPrefix(s, "arn:") {
			resource = s
		} else {
			target := c.Svc.Function(s)
			if target == nil {
				c.Diags.Errorf(d.Pos, path, "destination function %q is not defined in this service", s)
				return
			}
			resource = cfn.Sub("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:" + target.Name)
		}
	}
	if action == "" {
		c.Diags.Errorf(d.Pos, path, "Unsupported destination target %s", d.Scalar0())
		return
	}
	c.AddRoleStatements(map[string]any{"Effect": "Allow", "Action": action, "Resource": resource})
}

// mergedPairs is Object.assign({}, a, b) over two config maps, keeping key
// order (a's keys first, b overriding in place). nil when both are unset.
func mergedPairs(a, b *config.Node) []config.Pair {
	if !a.Truthy() && !b.Truthy() {
		return nil
	}
	out := []config.Pair{}
	idx := map[string]int{}
	for _, n := range []*config.Node{a, b} {
		if n == nil || n.Kind != config.Map {
			continue
		}
		for _, p := range n.Pairs {
			if i, ok := idx[p.Key]; ok {
				out[i] = p
				continue
			}
			idx[p.Key] = len(out)
			out = append(out, p)
		}
	}
	return out
}

func firstTruthyValue(a, b *config.Node, def any) any {
	if n := firstTruthy(a, b); n != nil {
		return n.Interface()
	}
	return def
}

// firstDefined is JS `a || b` for nodes that may be absent.
func firstDefined(a, b *config.Node) *config.Node {
	if a.Truthy() {
		return a
	}
	return b
}

func isZero(n *config.Node) bool {
	i, ok := n.Int()
	return ok && i == 0 && n.Kind != config.String
}

func uniq(items []any) []any {
	var out []any
	for _, it := range items {
		dup := false
		for _, o := range out {
			if cfn.Equal(o, it) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, it)
		}
	}
	return out
}

func mustJSON(n *config.Node) []byte {
	b, _ := n.MarshalJSON()
	return b
}

func jsonEqual(a, b any) bool { return cfn.Equal(a, b) }

// coerceString is ajv's coerceTypes for string-typed schema values, which
// v3's config validation applies in place: numbers and booleans become
// their JavaScript string form; intrinsic objects stay as they are.
func coerceString(n *config.Node) any {
	switch n.Kind {
	case config.Int, config.Float, config.Bool:
		return n.Scalar()
	}
	return n.Interface()
}

// coerceInt is ajv's coerceTypes for integer-typed values: a numeric
// string becomes a number.
func coerceInt(v any) any {
	if s, ok := v.(string); ok {
		if i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			return i
		}
	}
	return v
}

// keyPos is where key is written in map n (falling back to the map).
func keyPos(n *config.Node, key string) diag.Pos {
	if p := n.Pair(key); p != nil {
		return p.KeyPos
	}
	if n != nil {
		return n.Pos
	}
	return diag.Pos{}
}
