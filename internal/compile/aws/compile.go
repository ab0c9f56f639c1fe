package aws

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// coreSteps run before the event compilers (functions, IAM role, layers…)
// and finalSteps after them (resources merge, export names…). They are
// registered the same way as events so each lives in its own file.
var coreSteps, finalSteps []step

type step struct {
	order int
	run   func(c *Context)
}

func registerCore(order int, run func(c *Context)) { coreSteps = append(coreSteps, step{order, run}) }
func registerFinal(order int, run func(c *Context)) {
	finalSteps = append(finalSteps, step{order, run})
}

// Step orders, in v3's lifecycle order: log groups and the execution role
// (package:setupProviderConfiguration), layers (compileLayers), functions
// (compileFunctions); after events: export names, resources merge, null
// stripping (aws:package:finalize).
const (
	orderIAM       = 10
	orderLayers    = 20
	orderFunctions = 30

	orderExportNames = 10
	orderResources   = 20
	orderStripNulls  = 30
)

// Result is everything compilation produces.
type Result struct {
	// Core is the create-stack template (nil when provider.deploymentBucket
	// names an existing bucket: v3 writes no create-stack file then).
	Core *cfn.Template
	// Template is the update-stack template.
	Template *cfn.Template
	// VersionLogicalIDs maps a function key to its AWS::Lambda::Version
	// logical ID (absent when the function is not versioned).
	VersionLogicalIDs map[string]string

	aliases map[string]alias
}

// Alias returns the target alias (provisioned concurrency or SnapStart) a
// function was given, as v3 records it in state as targetAlias.
func (r *Result) Alias(key string) (name, logicalID string, ok bool) {
	a, ok := r.aliases[key]
	return a.name, a.logicalID, ok
}

// Compile builds the update-stack template of a service.
func Compile(in Input) (*cfn.Template, diag.Diagnostics) {
	r, ds := CompileService(in)
	return r.Template, ds
}

// CompileService builds the create-stack and update-stack templates.
func CompileService(in Input) (*Result, diag.Diagnostics) {
	core := CoreTemplate(in.Service)
	c := &Context{
		Input: in, Svc: in.Service, Template: core.Clone(),
		versionIDs: map[string]string{}, aliases: map[string]alias{},
		layerKeys: map[string]string{}, fileHashes: map[string]string{},
		grantedDestinations: map[string]bool{},
	}
	for _, s := range sortedSteps(coreSteps) {
		s.run(c)
	}
	for _, ec := range orderedEventCompilers() {
		ec.compile(c)
	}
	for _, s := range sortedSteps(finalSteps) {
		s.run(c)
	}
	res := &Result{Template: c.Template, VersionLogicalIDs: c.versionIDs, aliases: c.aliases}
	if DeploymentBucketOf(in.Service).Name == "" {
		res.Core = core
	}
	return res, c.Diags
}

func sortedSteps(steps []step) []step {
	out := append([]step(nil), steps...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].order < out[j-1].order; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// alias is a function's target alias (provisioned concurrency or SnapStart):
// events then invoke the alias instead of $LATEST.
type alias struct{ name, logicalID string }

// DeploymentBucketRef is the S3Bucket every Code and Content points at: the
// named bucket, else {Ref: ServerlessDeploymentBucket}.
func (c *Context) DeploymentBucketRef() any {
	if name := DeploymentBucketOf(c.Svc).Name; name != "" {
		return name
	}
	return cfn.Ref(DeploymentBucketLogicalID)
}

// FunctionTarget is what event sources invoke (v3's resolveLambdaTarget):
// the function ARN, or ARN:alias when provisioned concurrency or SnapStart
// gave the function an alias. Call it after the functions step (i.e. from
// an event compiler).
func (c *Context) FunctionTarget(key string) any {
	arn := cfn.GetAtt(FunctionLogicalID(key), "Arn")
	if a, ok := c.aliases[key]; ok {
		return cfn.Join(":", arn, a.name)
	}
	return arn
}

// FunctionAlias returns the alias name and logical ID of a function's
// target alias, if it has one (permissions and integrations DependsOn it).
func (c *Context) FunctionAlias(key string) (name, logicalID string, ok bool) {
	a, ok := c.aliases[key]
	return a.name, a.logicalID, ok
}

// FunctionVersionLogicalID is the function's AWS::Lambda::Version ID, "" if
// it is not versioned.
func (c *Context) FunctionVersionLogicalID(key string) string { return c.versionIDs[key] }

// HasDefaultRole reports whether the stack has IamRoleLambdaExecution, to
// which event compilers add the statements their sources need.
func (c *Context) HasDefaultRole() bool { return c.Template.Resource(RoleLogicalID) != nil }

// AddRoleStatements appends statements to IamRoleLambdaExecution's policy
// (v3 does this only when the default role exists). It reports whether
// the role exists.
func (c *Context) AddRoleStatements(stmts ...any) bool {
	doc := c.rolePolicyDocument()
	if doc == nil {
		return false
	}
	list, _ := doc["Statement"].([]any)
	doc["Statement"] = append(list, stmts...)
	return true
}

// unionRoleStatement appends a statement unless an equal one exists
// (v3's _.unionWith(…, _.isEqual)).
func (c *Context) unionRoleStatement(stmt map[string]any) {
	doc := c.rolePolicyDocument()
	if doc == nil {
		return
	}
	list, _ := doc["Statement"].([]any)
	for _, s := range list {
		if jsonEqual(s, stmt) {
			return
		}
	}
	doc["Statement"] = append(list, stmt)
}

func (c *Context) rolePolicyDocument() map[string]any {
	role := c.Template.Resource(RoleLogicalID)
	if role == nil {
		return nil
	}
	props, _ := role["Properties"].(map[string]any)
	pols, _ := props["Policies"].([]any)
	if len(pols) == 0 {
		return nil
	}
	p0, _ := pols[0].(map[string]any)
	doc, _ := p0["PolicyDocument"].(map[string]any)
	return doc
}

// FunctionArtifact is the absolute path of the zip a function deploys:
// what packaging produced, else where v3 would have put it.
func (c *Context) FunctionArtifact(f *service.Function) string {
	if p := c.Artifacts.Functions[f.Key]; p != "" {
		return p
	}
	if f.Package.Artifact != "" {
		return c.abs(f.Package.Artifact)
	}
	if c.Svc.Package.Artifact != "" {
		return c.abs(c.Svc.Package.Artifact)
	}
	if c.Artifacts.ServiceArtifact != "" && !c.Svc.Package.Individually && !f.Package.Individually {
		return c.Artifacts.ServiceArtifact
	}
	name := c.Svc.Name + ".zip"
	if c.Svc.Package.Individually || f.Package.Individually {
		name = f.Key + ".zip"
	}
	return filepath.Join(c.Svc.Dir, ".serverless", name)
}

// LayerArtifact is the absolute path of a layer's zip.
func (c *Context) LayerArtifact(l *service.Layer) string {
	if p := c.Artifacts.Layers[l.Key]; p != "" {
		return p
	}
	if a := l.Raw.Get("package").Get("artifact").Scalar0(); a != "" {
		return c.abs(a)
	}
	return filepath.Join(c.Svc.Dir, ".serverless", l.Key+".zip")
}

func (c *Context) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Svc.Dir, p)
}

// fileHash is base64(SHA-256(file)), v3's getHashForFilePath, memoised.
// A missing file hashes as empty: compile still runs (golden tests, a
// failed packaging reported elsewhere) and the version ID stays stable.
func (c *Context) fileHash(path string) string {
	if h, ok := c.fileHashes[path]; ok {
		return h
	}
	sum := sha256.New()
	if f, err := os.Open(path); err == nil {
		io.Copy(sum, f)
		f.Close()
	}
	h := base64.StdEncoding.EncodeToString(sum.Sum(nil))
	c.fileHashes[path] = h
	return h
}
