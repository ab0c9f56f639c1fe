package nimbus

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/nimbusfw/nimbus/internal/config"
	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/lift"
	"github.com/nimbusfw/nimbus/internal/service"
)

// Deploy-related types, re-exported so SDK users can name them.
type (
	// Reporter receives deploy progress: steps and live stack events.
	Reporter = deployaws.Reporter
	// StackEvent is one CloudFormation stack event.
	StackEvent = deployaws.StackEvent
	// StackFailure is a stack operation that failed, with the resource
	// events that caused it.
	StackFailure = deployaws.StackFailure
	// Deployment is one timestamped deployment in the deployment bucket.
	Deployment = deployaws.Deployment
	// StackInfo describes a deployed stack.
	StackInfo = deployaws.StackInfo
)

// SkipMessage is printed when a deploy finds nothing changed (as v3).
const SkipMessage = deployaws.SkipMessage

// EmptyChangeSetMessage is printed when CloudFormation found nothing to
// change in the change set (as v3, instead of the outputs).
const EmptyChangeSetMessage = deployaws.EmptyChangeSetMessage

// DeployOptions control Deploy.
type DeployOptions struct {
	// Force deploys even when nothing changed (--force).
	Force bool
	// Package options for the packaging step; PackageDir set means "deploy
	// this existing package" (--package) instead of packaging again.
	Package    PackageOptions
	PackageDir string
	// Reporter receives progress (may be nil).
	Reporter Reporter
	// NoValidate skips CloudFormation's ValidateTemplate call.
	NoValidate bool
}

// DeployResult says what a deploy did.
type DeployResult struct {
	Skipped       bool
	NoStackUpdate bool
	// EmptyChangeSet is NoStackUpdate from a change set (see
	// EmptyChangeSetMessage); the upload was removed again, as in v3.
	EmptyChangeSet bool
	Created        bool
	Stack          string
	Bucket         string
	// ArtifactDirectory is the S3 folder of this deployment.
	ArtifactDirectory string
	Outputs           map[string]string
	Package           *PackageResult
}

// awsClients connects to AWS for the project's region and profile.
func (p *Project) awsClients(ctx context.Context) (*deployaws.Clients, error) {
	return deployaws.NewClients(ctx, p.Service.Region, p.Service.Options["aws-profile"])
}

// Deploy packages the service (unless given a package) and deploys it
// through CloudFormation as serverless v3 does.
func Deploy(ctx context.Context, p *Project, opts DeployOptions) (*DeployResult, error) {
	c, err := p.awsClients(ctx)
	if err != nil {
		return nil, err
	}
	var pkg *PackageResult
	if opts.PackageDir != "" {
		pkg, err = ReadPackage(p, opts.PackageDir)
	} else {
		pkg, err = Package(ctx, p, opts.Package)
	}
	if err != nil {
		return nil, err
	}
	b, err := bundle(p.Service, pkg)
	if err != nil {
		return nil, err
	}
	// serverless-lift's before:deploy:deploy and after:deploy:deploy hooks
	// upload website files around the stack deploy.
	sites := lift.Websites(p.Service.Root)
	uploadedBefore, err := deployaws.UploadAssetsBeforeDeploy(ctx, c, b.StackName, p.Service.Dir, sites, opts.Reporter)
	if err != nil {
		return nil, err
	}
	res, err := deployaws.Deploy(ctx, c, b, deployaws.DeployOptions{
		Force: opts.Force, Reporter: opts.Reporter, Validate: !opts.NoValidate, Service: p.Service,
	})
	if err != nil {
		return nil, err
	}
	if err := deployaws.UploadWebsitesAfterDeploy(ctx, c, p.Service.Dir, sites, res.Outputs, uploadedBefore, opts.Reporter); err != nil {
		return nil, err
	}
	return &DeployResult{
		Skipped: res.Skipped, NoStackUpdate: res.NoStackUpdate, EmptyChangeSet: res.EmptyChangeSet, Created: res.Created,
		Stack: b.StackName, Bucket: res.Bucket, ArtifactDirectory: res.ArtifactDirectory,
		Outputs: res.Outputs, Package: pkg,
	}, nil
}

// ReadPackage reads a package directory written earlier by Package.
func ReadPackage(p *Project, dir string) (*PackageResult, error) {
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(p.Service.Dir, dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a package directory (run nimbus package first): %w", dir, err)
	}
	var state map[string]any
	if err := json.Unmarshal(raw, &state); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	artifactDir, _ := state["package"].(map[string]any)["artifactDirectoryName"].(string)
	return &PackageResult{Dir: dir, ArtifactDirectoryName: artifactDir, State: state}, nil
}

// bundle gathers what the deploy engine ships from a package directory and
// the provider settings that shape the stack operation.
func bundle(svc *service.Service, pkg *PackageResult) (*deployaws.Bundle, error) {
	b := baseBundle(svc)
	b.ArtifactDirectoryName = pkg.ArtifactDirectoryName
	var err error
	if b.Template, err = os.ReadFile(filepath.Join(pkg.Dir, UpdateStackTemplateFile)); err != nil {
		return nil, err
	}
	if b.State, err = os.ReadFile(filepath.Join(pkg.Dir, StateFile)); err != nil {
		return nil, err
	}
	if core, err := os.ReadFile(filepath.Join(pkg.Dir, CreateStackTemplateFile)); err == nil {
		b.CoreTemplate = core
	}
	seen := map[string]bool{}
	add := func(path string) {
		if path == "" || seen[path] || strings.Contains(path, "://") {
			return
		}
		seen[path] = true
		b.Artifacts = append(b.Artifacts, path)
	}
	for _, a := range pkg.Artifacts.Artifacts {
		add(a.Path)
	}
	// A package read back from its directory lists no artifacts, and the
	// prebuilt ones (package.artifact) are not in it: they deploy from
	// where the config says.
	prebuilt, err := deployaws.PrebuiltArtifacts(svc)
	if err != nil {
		return nil, err
	}
	for _, path := range prebuilt {
		add(path)
	}
	// Zips the compile stage adds (custom-resources.zip) live in the package
	// directory too; v3 hashes and uploads every zip there.
	zips, _ := filepath.Glob(filepath.Join(pkg.Dir, "*.zip"))
	sort.Strings(zips)
	for _, z := range zips {
		add(z)
	}
	return b, nil
}

// baseBundle is the part of a bundle read from the service alone: enough
// for list, rollback, remove and info.
func baseBundle(svc *service.Service) *deployaws.Bundle {
	prov := svc.Provider.Raw
	b := &deployaws.Bundle{
		Service: svc.Name, Stage: svc.Stage, Region: svc.Region,
		StackName: svc.StackName(), Prefix: svc.Provider.DeploymentPrefix,
		Direct:          prov.Get("deploymentMethod").StringOr("") == "direct",
		RoleARN:         firstString(prov.Lookup("iam", "deploymentRole"), prov.Get("cfnRole")),
		DisableRollback: prov.Get("disableRollback").Truthy(),
	}
	if b.Prefix == "" {
		b.Prefix = "serverless"
	}
	switch db := prov.Get("deploymentBucket"); {
	case db == nil:
	case db.Kind == config.String:
		b.Bucket = db.Scalar()
		b.BucketKey, b.BucketPos = "provider.deploymentBucket", db.Pos
	case db.Kind == config.Map:
		b.Bucket = db.Get("name").Scalar0()
		if name := db.Get("name"); name != nil {
			b.BucketKey, b.BucketPos = "provider.deploymentBucket.name", name.Pos
		}
		b.Encryption = deployaws.BucketEncryption{
			ServerSideEncryption: db.Get("serverSideEncryption").Scalar0(),
			KMSKeyID:             db.Get("sseKMSKeyId").Scalar0(),
			CustomerAlgorithm:    db.Get("sseCustomerAlgorithim").Scalar0(),
			CustomerKey:          db.Get("sseCustomerKey").Scalar0(),
		}
		for _, key := range []string{"tags", "blockPublicAccess", "versioning"} {
			n := db.Get(key)
			switch {
			case n == nil, n.Kind == config.Null, n.Kind == config.Bool && !n.Truthy(), n.Kind == config.Map && len(n.Entries()) == 0:
			default:
				b.BucketOnlyCreatedSettings = append(b.BucketOnlyCreatedSettings, key)
			}
		}
		if n, ok := db.Get("maxPreviousDeploymentArtifacts").Int(); ok {
			b.MaxPreviousArtifacts = int(n)
			if n == 0 {
				b.MaxPreviousArtifacts = deployaws.KeepNoArtifacts
			}
		}
	}
	if tags := prov.Get("stackTags"); tags != nil {
		b.StackTags = map[string]string{}
		for _, p := range tags.Entries() {
			b.StackTags[p.Key] = p.Value.Scalar()
		}
	}
	for _, arn := range prov.Get("notificationArns").List() {
		b.NotificationARNs = append(b.NotificationARNs, arn.Scalar())
	}
	// A policy without statements would forbid every update, so v3 sets
	// none then.
	if pol := prov.Get("stackPolicy"); pol != nil && pol.Kind == config.Seq && len(pol.Items) > 0 {
		doc := config.NewMap(pol.Pos)
		doc.Set("Statement", pol)
		b.StackPolicy, _ = doc.MarshalJSON()
	}
	_, b.S3Accelerate = svc.Options["aws-s3-accelerate"]
	b.StackParameters = stackParameters(prov.Get("stackParameters"))
	b.RollbackConfiguration = rollbackConfiguration(prov.Get("rollbackConfiguration"))
	for _, f := range svc.Functions {
		b.FunctionNames = append(b.FunctionNames, f.Name)
	}
	return b
}

// stackParameters reads provider.stackParameters (CloudFormation's
// Parameter shape, which the schema checks).
func stackParameters(n *config.Node) []cftypes.Parameter {
	var out []cftypes.Parameter
	for _, item := range n.List() {
		var p cftypes.Parameter
		if v := item.Get("ParameterKey"); v != nil {
			p.ParameterKey = aws.String(v.Scalar())
		}
		if v := item.Get("ParameterValue"); v != nil {
			p.ParameterValue = aws.String(v.Scalar())
		}
		if v := item.Get("ResolvedValue"); v != nil {
			p.ResolvedValue = aws.String(v.Scalar())
		}
		if v, ok := item.Get("UsePreviousValue").Boolean(); ok {
			p.UsePreviousValue = aws.Bool(v)
		}
		out = append(out, p)
	}
	return out
}

// rollbackConfiguration reads provider.rollbackConfiguration; nil when unset.
func rollbackConfiguration(n *config.Node) *cftypes.RollbackConfiguration {
	if n == nil || n.Kind != config.Map {
		return nil
	}
	rc := &cftypes.RollbackConfiguration{}
	if m, ok := n.Get("MonitoringTimeInMinutes").Int(); ok {
		rc.MonitoringTimeInMinutes = aws.Int32(int32(m))
	}
	for _, t := range n.Get("RollbackTriggers").List() {
		rc.RollbackTriggers = append(rc.RollbackTriggers, cftypes.RollbackTrigger{
			Arn: aws.String(t.Get("Arn").Scalar0()), Type: aws.String(t.Get("Type").Scalar0()),
		})
	}
	return rc
}

func firstString(nodes ...*config.Node) string {
	for _, n := range nodes {
		if s := n.Scalar0(); s != "" {
			return s
		}
	}
	return ""
}

// DeployWarnings are the warnings v3's deploy gives before it starts
// (deploy/lib/extended-validate.js): a function with a timeout over 30
// seconds behind a synchronous http event, since API Gateway answers after
// 30 seconds whatever the function does. Only the function's own timeout
// counts, as in v3.
func DeployWarnings(p *Project) diag.Diagnostics {
	var ds diag.Diagnostics
	for _, f := range p.Service.Functions {
		t := f.Raw.Get("timeout")
		secs, ok := t.Int()
		if !ok || secs <= 30 {
			continue
		}
		for _, e := range f.Events {
			if e.Type == "http" && !(e.Value != nil && e.Value.Kind == config.Map && e.Value.Get("async").Truthy()) {
				ds.Warnf(t.Pos, "functions."+f.Key+".timeout",
					"Function %s has timeout of %d seconds, however, it's attached to API Gateway so it's automatically limited to 30 seconds.", f.Key, secs)
				break
			}
		}
	}
	return ds
}

// ListDeployments lists the deployments in the deployment bucket, oldest
// first (`deploy list`).
func ListDeployments(ctx context.Context, p *Project) ([]*Deployment, error) {
	c, err := p.awsClients(ctx)
	if err != nil {
		return nil, err
	}
	return deployaws.ListDeployments(ctx, c, baseBundle(p.Service))
}

// Rollback updates the stack to an earlier deployment's template.
// timestamp is a date or milliseconds, as `rollback -t` takes it.
func Rollback(ctx context.Context, p *Project, timestamp string, rep Reporter) (*Deployment, error) {
	ms, err := deployaws.ParseTimestamp(timestamp)
	if err != nil {
		return nil, err
	}
	c, err := p.awsClients(ctx)
	if err != nil {
		return nil, err
	}
	return deployaws.Rollback(ctx, c, baseBundle(p.Service), ms, rep)
}

// Remove empties the deployment bucket and deletes the stack.
func Remove(ctx context.Context, p *Project, rep Reporter) error {
	c, err := p.awsClients(ctx)
	if err != nil {
		return err
	}
	b := baseBundle(p.Service)
	// serverless-lift's before:remove hook empties the website buckets.
	if err := deployaws.EmptyWebsiteBuckets(ctx, c, b.StackName, lift.Websites(p.Service.Root), rep); err != nil {
		return err
	}
	return deployaws.Remove(ctx, c, b, rep)
}

// LambdaEdgeFunctions lists the functions with cloudFront events. CloudFront
// keeps their replicas for a while after the distribution is deleted, so
// Remove cannot delete them (they are retained); callers remind the user
// to, as serverless v3 does before removing.
func LambdaEdgeFunctions(p *Project) []string {
	var names []string
	for _, e := range p.Service.EventsOf("cloudFront") {
		if n := len(names); n == 0 || names[n-1] != e.Function.Name {
			names = append(names, e.Function.Name)
		}
	}
	return names
}

// Info describes the deployed stack.
func Info(ctx context.Context, p *Project) (*StackInfo, error) {
	c, err := p.awsClients(ctx)
	if err != nil {
		return nil, err
	}
	return deployaws.Info(ctx, c, baseBundle(p.Service))
}
