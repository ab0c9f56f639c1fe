package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/nimbusfw/nimbus/internal/service"
)

// DeployOptions tune Deploy.
type DeployOptions struct {
	// Force skips the "nothing changed" check (--force).
	Force bool
	// Reporter receives progress (default: none).
	Reporter Reporter
	// UploadConcurrency bounds parallel uploads (default 8; v3 uses 3).
	UploadConcurrency int
	// Validate runs ValidateTemplate on the uploaded template first, as v3 does.
	Validate bool
	// Service, when set, has Deploy end with v3's REST API stage update
	// (UpdateRestAPIStage), after a skipped deploy too.
	Service *service.Service
}

// DeployResult says what happened.
type DeployResult struct {
	// Skipped is true when nothing changed ("No changes to deploy.").
	Skipped bool
	// NoStackUpdate is true when CloudFormation found nothing to change
	// (an empty change set, or a direct update with no updates).
	NoStackUpdate bool
	// EmptyChangeSet is NoStackUpdate from a change set: as v3, this
	// deployment's upload was removed again and the run reports
	// EmptyChangeSetMessage instead of the stack outputs.
	EmptyChangeSet bool
	// Created is true when this deploy created the stack.
	Created bool
	Bucket  string
	// ArtifactDirectory is the S3 folder this deployment uploaded.
	ArtifactDirectory string
	Stack             *cftypes.Stack
	Outputs           map[string]string
}

// SkipMessage is v3's message when nothing changed.
const SkipMessage = "No changes to deploy. Deployment skipped."

// EmptyChangeSetMessage is v3's message when the change set was empty.
const EmptyChangeSetMessage = "Change set did not include any changes to be deployed."

// Deploy runs serverless v3's deploy flow: create the stack from the core
// template when missing, check for changes, upload, validate, update through
// a change set (or directly), then prune old artifact directories; with
// opts.Service, then update the REST API stage.
func Deploy(ctx context.Context, c *Clients, b *Bundle, opts DeployOptions) (*DeployResult, error) {
	res, err := deployStack(ctx, c, b, opts)
	if err != nil || opts.Service == nil {
		return res, err
	}
	// v3 runs the stage update from the after:deploy:deploy hook, which
	// follows the deploy whether or not the change check skipped it: stage
	// settings changed outside the stack (or a previous run that stopped
	// before them) are applied again even when nothing else changed.
	if err := UpdateRestAPIStage(ctx, c, opts.Service, b.Template, b.StackName, opts.Reporter); err != nil {
		if res.Skipped {
			return nil, fmt.Errorf("stack %s has no changes to deploy, but %w", b.StackName, err)
		}
		return nil, fmt.Errorf("stack %s is deployed, but %w", b.StackName, err)
	}
	return res, nil
}

// deployStack is Deploy up to the stack update and the pruning.
func deployStack(ctx context.Context, c *Clients, b *Bundle, opts DeployOptions) (*DeployResult, error) {
	rep := opts.Reporter
	if rep == nil {
		rep = NopReporter{}
	}
	if err := checkStackName(b.StackName); err != nil {
		return nil, err
	}
	res := &DeployResult{ArtifactDirectory: b.ArtifactDirectoryName}
	st, err := waitReady(ctx, c.CloudFormation, b.StackName, rep, true)
	if err != nil {
		return nil, err
	}
	putOpts := uploadOptions(c, b, st, rep)
	// With a named bucket the core template holds no resource, so a new
	// stack is created later, from the full template once it is uploaded.
	createLater := st == nil && b.Bucket != ""
	if st == nil && !createLater {
		rep.Step("Creating CloudFormation stack " + b.StackName)
		if st, err = createStack(ctx, c, b, stackTemplate{body: b.CoreTemplate}, nil, rep); err != nil {
			return nil, err
		}
		res.Created = true
	}
	bucket := b.Bucket
	if bucket != "" {
		if err := checkNamedBucket(ctx, c, b); err != nil {
			return nil, err
		}
		if w := unappliedBucketWarning(b); w != "" {
			rep.Step(w)
		}
	} else {
		bucket, err = deploymentBucket(ctx, c, b, st)
		if errors.Is(err, errNoBucketInStack) && len(b.CoreTemplate) > 0 {
			if st, err = addBucketToStack(ctx, c, b, rep); err == nil {
				bucket, err = deploymentBucket(ctx, c, b, st)
			}
		}
		if err != nil {
			return nil, err
		}
		if err := checkStackBucket(ctx, c, b, bucket); err != nil {
			return nil, err
		}
	}
	res.Bucket = bucket

	if !opts.Force && !res.Created && !createLater {
		changed, err := CheckForChanges(ctx, c, b, bucket)
		if err != nil {
			return nil, err
		}
		if !changed {
			res.Skipped = true
			res.Stack = st
			res.Outputs = outputsOf(ctx, c, b, st)
			return res, nil
		}
	}

	if err := fixLogSubscriptionFilters(ctx, c, b, opts.Service); err != nil {
		return nil, err
	}

	rep.Step("Uploading artifacts to s3://" + bucket + "/" + b.ArtifactDirectoryName)
	if err := upload(ctx, c.S3, b, bucket, uploadConcurrency(opts.UploadConcurrency), putOpts...); err != nil {
		removeDirectory(c.S3, bucket, b.ArtifactDirectoryName+"/")
		return nil, err
	}
	templateURL := c.TemplateURL(bucket, b.ArtifactDirectoryName+"/"+CompiledTemplateFile)
	if opts.Validate {
		rep.Step("Validating template")
		if _, err := c.CloudFormation.ValidateTemplate(ctx, &cloudformation.ValidateTemplateInput{TemplateURL: aws.String(templateURL)}); err != nil {
			removeDirectory(c.S3, bucket, b.ArtifactDirectoryName+"/")
			return nil, fmt.Errorf("the compiled template is invalid: %w", err)
		}
	}

	if createLater {
		rep.Step("Creating CloudFormation stack " + b.StackName)
		if st, err = createStack(ctx, c, b, stackTemplate{url: templateURL}, b.StackParameters, rep); err != nil {
			// Nothing runs this upload: a refused or failed creation
			// leaves no stack to use it.
			if !interrupted(err) {
				removeDirectory(c.S3, bucket, b.ArtifactDirectoryName+"/")
			}
			return nil, err
		}
		res.Created = true
	} else {
		var changed bool
		if st, changed, err = updateDeployedStack(ctx, c, b, bucket, templateURL, rep); err != nil {
			return nil, err
		}
		res.NoStackUpdate = !changed
		res.EmptyChangeSet = !changed && !b.Direct
	}
	res.Stack = st
	res.Outputs = outputsOf(ctx, c, b, st)
	if res.EmptyChangeSet {
		// v3's cleanupArtifactsForEmptyChangeSet: the stack does not run this
		// upload, so the previous deployment stays the newest.
		if err := removeDirectory(c.S3, bucket, b.ArtifactDirectoryName+"/"); err != nil {
			rep.Step("Warning: could not remove the unused deployment artifacts: " + err.Error())
		}
		return res, nil
	}
	if err := pruneDeployments(ctx, c.S3, b, bucket); err != nil {
		rep.Step("Warning: could not remove old deployment artifacts: " + err.Error())
	}
	return res, nil
}

// updateDeployedStack applies the uploaded template to the existing stack
// and waits; changed is false when CloudFormation found nothing to change.
func updateDeployedStack(ctx context.Context, c *Clients, b *Bundle, bucket, templateURL string, rep Reporter) (*cftypes.Stack, bool, error) {
	rep.Step("Updating CloudFormation stack " + b.StackName)
	since := time.Now().Add(-time.Second)
	seen := seenEvents(ctx, c.CloudFormation, b.StackName)
	changed, err := updateStack(ctx, c, b, stackTemplate{url: templateURL})
	if err != nil {
		// The update was refused or never started, so this upload is not
		// what the stack runs: remove it and the previous deployment stays
		// the newest, for the change check and rollback. An interrupted run
		// keeps it, as CloudFormation may be applying it.
		if !interrupted(err) {
			removeDirectory(c.S3, bucket, b.ArtifactDirectoryName+"/")
		}
		return nil, false, err
	}
	if !changed {
		st, err := describeStack(ctx, c.CloudFormation, b.StackName)
		return st, false, err
	}
	st, err := waitForStack(ctx, c.CloudFormation, b.StackName, since, seen, rep)
	if err != nil {
		var sf *StackFailure
		if errors.As(err, &sf) {
			removeDirectory(c.S3, bucket, b.ArtifactDirectoryName+"/")
		}
		return nil, false, err
	}
	if err := applyStackPolicy(ctx, c.CloudFormation, b, rep); err != nil {
		return nil, false, err
	}
	return st, true, nil
}

// uploadConcurrency is the caller's bound, else v3's
// SLS_MAX_CONCURRENT_ARTIFACTS_UPLOADS when set (users lower it on slow
// links), else 0 for parallel's default of 8.
func uploadConcurrency(given int) int {
	if given > 0 {
		return given
	}
	if n, err := strconv.Atoi(strings.TrimSpace(os.Getenv("SLS_MAX_CONCURRENT_ARTIFACTS_UPLOADS"))); err == nil && n > 0 {
		return n
	}
	return 0
}

// uploadOptions turns on S3 Transfer Acceleration for the uploads under
// --aws-s3-accelerate, as v3 does (create-stack.js, aws/request.js): an
// existing stack whose bucket was created without acceleration (no
// ServerlessDeploymentBucketAccelerated output) uploads normally this
// time, while this deploy's template turns acceleration on; a new stack's
// bucket and a named bucket are used accelerated.
func uploadOptions(c *Clients, b *Bundle, existing *cftypes.Stack, rep Reporter) []func(*s3.Options) {
	if !b.S3Accelerate {
		return nil
	}
	if c.Endpoint != "" {
		rep.Step("Not using S3 Transfer Acceleration: AWS_ENDPOINT_URL points S3 at " + c.Endpoint)
		return nil
	}
	if b.Bucket == "" && existing != nil {
		if _, ok := StackOutputs(existing)["ServerlessDeploymentBucketAccelerated"]; !ok {
			rep.Step("Not using S3 Transfer Acceleration (1st deploy)")
			return nil
		}
	}
	rep.Step("Using S3 Transfer Acceleration Endpoint")
	return []func(*s3.Options){func(o *s3.Options) { o.UseAccelerate = true }}
}

// invalidStackName is v3's test of a stack name (create-stack.js): a
// non-letter first character, or any character but letters, digits and
// hyphens.
var invalidStackName = regexp.MustCompile(`^[^a-zA-Z].+|.*[^a-zA-Z0-9-].*`)

// checkStackName refuses, before anything is created, a stack name
// CloudFormation would refuse (v3's INVALID_STACK_NAME_ERROR). A stage
// given with --stage, such as "dev_1", can make one out of a valid service.
func checkStackName(name string) error {
	if invalidStackName.MatchString(name) || len(name) > 128 {
		return fmt.Errorf("the stack service name %q is not valid. A service name should only contain alphanumeric "+
			"(case sensitive) and hyphens. It should start with an alphabetic character and shouldn't exceed 128 characters", name)
	}
	return nil
}

// readyStack returns the stack when it exists and no operation is running
// on it (waiting for one that is), nil when there is no stack or only a
// change set that was never executed (for plan and rollback).
func readyStack(ctx context.Context, cf CloudFormation, name string, rep Reporter) (*cftypes.Stack, error) {
	return waitReady(ctx, cf, name, rep, false)
}

// stepsOnly passes a reporter the steps (such as the still-waiting notice)
// but not the stack events of an operation this run did not start.
type stepsOnly struct{ Reporter }

func (stepsOnly) StackEvent(StackEvent) {}

// InactiveStackError is v3's refusal to deploy to a stack in
// REVIEW_IN_PROGRESS (create-stack.js, AWS_CLOUDFORMATION_INACTIVE_STACK):
// such a stack waits for someone to execute its change set, so nothing
// this deploy does can move it on.
type InactiveStackError struct {
	Stack, Status string
	// Waited is how long the stack stayed there after this run executed
	// its change set (0: it was found there before anything started).
	Waited time.Duration
}

func (e *InactiveStackError) Error() string {
	if e.Waited > 0 {
		return fmt.Sprintf("the CloudFormation stack %s stayed in the '%s' state for %s after its change set was executed, "+
			"so it will not settle: another change set may have been created for the same stack name. "+
			"Check the stack in the CloudFormation console, or run 'nimbus remove' and deploy again", e.Stack, e.Status, e.Waited.Round(time.Second))
	}
	return fmt.Sprintf("service cannot be deployed as the CloudFormation stack %s is in the '%s' state. "+
		"This may signal either that the stack is currently deployed by a different entity, "+
		"or that the previous deployment failed and was left in an abnormal state, "+
		"in which case you can mitigate the issue by running 'nimbus remove'", e.Stack, e.Status)
}

// waitReady is readyStack; refuseInactive makes a stack in
// REVIEW_IN_PROGRESS an InactiveStackError, as v3's deploy does.
func waitReady(ctx context.Context, cf CloudFormation, name string, rep Reporter, refuseInactive bool) (*cftypes.Stack, error) {
	if rep == nil {
		rep = NopReporter{}
	}
	st, err := describeStack(ctx, cf, name)
	if isStackMissing(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	status := string(st.StackStatus)
	switch {
	case status == "REVIEW_IN_PROGRESS" && refuseInactive:
		return nil, &InactiveStackError{Stack: name, Status: status}
	case status == "REVIEW_IN_PROGRESS":
		// Only an unexecuted change set: nothing is deployed yet.
		return nil, nil
	case strings.HasSuffix(status, "_IN_PROGRESS"):
		rep.Step(fmt.Sprintf("Stack %s is busy (%s): waiting for it to finish", name, status))
		st, err = waitForStack(ctx, cf, name, time.Now(), nil, stepsOnly{rep})
		var sf *StackFailure
		if err != nil && !errors.As(err, &sf) {
			return nil, err
		}
		if st != nil && st.StackStatus == cftypes.StackStatusDeleteComplete {
			return nil, nil
		}
	case status == "ROLLBACK_COMPLETE", status == "ROLLBACK_FAILED", status == "CREATE_FAILED", status == "DELETE_FAILED":
		return nil, fmt.Errorf("stack %s is in %s and cannot be updated: remove it (nimbus remove) and deploy again", name, status)
	}
	return st, nil
}

func sharedTags(b *Bundle) []cftypes.Tag {
	tags := map[string]string{"STAGE": b.Stage}
	for k, v := range b.StackTags {
		for dk := range tags {
			if strings.EqualFold(dk, k) {
				delete(tags, dk)
			}
		}
		tags[k] = v
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]cftypes.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, cftypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

func capabilities(template []byte) []cftypes.Capability {
	caps := []cftypes.Capability{cftypes.CapabilityCapabilityIam, cftypes.CapabilityCapabilityNamedIam}
	if bytes.Contains(template, []byte(`"Transform"`)) {
		caps = append(caps, cftypes.CapabilityCapabilityAutoExpand)
	}
	return caps
}

// notificationARNs is provider.notificationArns, and an empty list when
// none are given: v3 always sends the list, and CloudFormation keeps a
// stack's topics when the parameter is left out, so topics removed from
// the config would go on receiving events.
func notificationARNs(b *Bundle) []string {
	if b.NotificationARNs == nil {
		return []string{}
	}
	return b.NotificationARNs
}

func roleARN(b *Bundle) *string {
	if b.RoleARN == "" {
		return nil
	}
	return aws.String(b.RoleARN)
}

// createStack creates the stack from t and waits for it: the core template
// before the first upload, or the uploaded full template for a stack whose
// named bucket needs no core stack (v3's createFallback). Through a change
// set CREATE, or CreateStack with deploymentMethod: direct. params are
// provider.stackParameters, which only the full template declares.
func createStack(ctx context.Context, c *Clients, b *Bundle, t stackTemplate, params []cftypes.Parameter, rep Reporter) (*cftypes.Stack, error) {
	since := time.Now().Add(-time.Second)
	url, body, text := t.source(b)
	if b.Direct {
		_, err := c.CloudFormation.CreateStack(ctx, createStackInput(b, &cloudformation.CreateStackInput{
			TemplateURL: url, TemplateBody: body, Capabilities: capabilities(text), Parameters: params,
		}))
		if err != nil {
			return nil, CredentialsError(err)
		}
	} else if _, err := runChangeSet(ctx, c.CloudFormation, b, cftypes.ChangeSetTypeCreate, &cloudformation.CreateChangeSetInput{
		TemplateURL: url, TemplateBody: body, Parameters: params,
	}); err != nil {
		return nil, err
	}
	return waitForStack(ctx, c.CloudFormation, b.StackName, since, nil, rep)
}

// createStackInput completes a direct CreateStack as v3's
// get-create-stack-params does: a failed creation deletes the stack
// (OnFailure DELETE), unless provider.disableRollback keeps it to inspect;
// no rollback configuration (v3 sends none with CreateStack).
func createStackInput(b *Bundle, in *cloudformation.CreateStackInput) *cloudformation.CreateStackInput {
	in.StackName = aws.String(b.StackName)
	in.Tags = sharedTags(b)
	in.RoleARN = roleARN(b)
	in.NotificationARNs = notificationARNs(b)
	if b.DisableRollback {
		in.DisableRollback = aws.Bool(true)
	} else {
		in.OnFailure = cftypes.OnFailureDelete
	}
	return in
}

// applyStackPolicy sets provider.stackPolicy after a change set updated the
// stack, as v3's update-stack.js does: only for change-set deploys (a direct
// update carries the policy in UpdateStack), only after the stack changed,
// and after the update because the policy may name resources it added. A
// create, an empty change set or a skipped deploy leaves the policy alone.
func applyStackPolicy(ctx context.Context, cf CloudFormation, b *Bundle, rep Reporter) error {
	if b.Direct || len(b.StackPolicy) == 0 {
		return nil
	}
	rep.Step("Setting stack policy")
	if _, err := cf.SetStackPolicy(ctx, &cloudformation.SetStackPolicyInput{
		StackName: aws.String(b.StackName), StackPolicyBody: aws.String(string(b.StackPolicy)),
	}); err != nil {
		return fmt.Errorf("stack %s is updated, but its stack policy (provider.stackPolicy) could not be set: %w", b.StackName, CredentialsError(err))
	}
	return nil
}

// stackTemplate is the template a create or update applies: the uploaded
// one (url), or one sent inline (body: the core template, or the deployed
// template plus the deployment bucket for a stack that lost its bucket).
type stackTemplate struct {
	url  string
	body []byte
}

// source is the template as CloudFormation's inputs take it, and its text
// (the capabilities it needs depend on it; an uploaded one is b.Template).
func (t stackTemplate) source(b *Bundle) (url, body *string, text []byte) {
	if t.body != nil {
		return nil, aws.String(string(t.body)), t.body
	}
	return aws.String(t.url), nil, b.Template
}

// updateStack applies a template with v3's update parameters
// (get-update-stack-params.js, get-create-change-set-params.js); it reports
// false when CloudFormation found nothing to change.
func updateStack(ctx context.Context, c *Clients, b *Bundle, t stackTemplate) (bool, error) {
	url, body, text := t.source(b)
	if b.Direct {
		in := &cloudformation.UpdateStackInput{
			StackName: aws.String(b.StackName), TemplateURL: url, TemplateBody: body, Capabilities: capabilities(text),
			Tags: sharedTags(b), RoleARN: roleARN(b), NotificationARNs: notificationARNs(b),
			Parameters: b.StackParameters, RollbackConfiguration: b.RollbackConfiguration,
		}
		if b.DisableRollback {
			in.DisableRollback = aws.Bool(true)
		}
		if len(b.StackPolicy) > 0 {
			in.StackPolicyBody = aws.String(string(b.StackPolicy))
		}
		_, err := c.CloudFormation.UpdateStack(ctx, in)
		if err != nil && strings.Contains(err.Error(), "No updates are to be performed") {
			return false, nil
		}
		return err == nil, CredentialsError(err)
	}
	return runChangeSet(ctx, c.CloudFormation, b, cftypes.ChangeSetTypeUpdate, &cloudformation.CreateChangeSetInput{
		TemplateURL: url, TemplateBody: body, Parameters: b.StackParameters,
	})
}

// ChangeSetName is v3's change set name for a stack.
func ChangeSetName(stack string) string { return stack + "-change-set" }

// runChangeSet creates a change set, waits for it, and executes it unless
// it holds no changes (then it is deleted and false returned).
func runChangeSet(ctx context.Context, cf CloudFormation, b *Bundle, typ cftypes.ChangeSetType, in *cloudformation.CreateChangeSetInput) (bool, error) {
	desc, err := createChangeSet(ctx, cf, b, typ, in)
	if err != nil {
		return false, err
	}
	if desc == nil {
		return false, nil
	}
	exec := &cloudformation.ExecuteChangeSetInput{StackName: aws.String(b.StackName), ChangeSetName: aws.String(ChangeSetName(b.StackName))}
	if b.DisableRollback {
		exec.DisableRollback = aws.Bool(true)
	}
	_, err = cf.ExecuteChangeSet(ctx, exec)
	return err == nil, CredentialsError(err)
}

// createChangeSet creates the named change set (replacing a stale one) and
// waits until it is ready. It returns nil when the change set is empty
// (after deleting it).
func createChangeSet(ctx context.Context, cf CloudFormation, b *Bundle, typ cftypes.ChangeSetType, in *cloudformation.CreateChangeSetInput) (*cloudformation.DescribeChangeSetOutput, error) {
	name := ChangeSetName(b.StackName)
	// A change set left by an interrupted run would block this one.
	cf.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{StackName: aws.String(b.StackName), ChangeSetName: aws.String(name)})
	in.StackName = aws.String(b.StackName)
	in.ChangeSetName = aws.String(name)
	in.ChangeSetType = typ
	in.Capabilities = capabilities(b.Template)
	in.Tags = sharedTags(b)
	in.RoleARN = roleARN(b)
	in.NotificationARNs = notificationARNs(b)
	in.RollbackConfiguration = b.RollbackConfiguration
	if _, err := cf.CreateChangeSet(ctx, in); err != nil {
		return nil, CredentialsError(err)
	}
	interval := minPollInterval
	for {
		desc, err := cf.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String(b.StackName), ChangeSetName: aws.String(name)})
		if err != nil {
			return nil, CredentialsError(err)
		}
		switch desc.Status {
		case cftypes.ChangeSetStatusCreateComplete:
			if len(desc.Changes) == 0 && typ == cftypes.ChangeSetTypeUpdate {
				cf.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{StackName: aws.String(b.StackName), ChangeSetName: aws.String(name)})
				return nil, nil
			}
			return desc, nil
		case cftypes.ChangeSetStatusFailed:
			reason := str(desc.StatusReason)
			if changeSetWithoutChanges(reason) {
				cf.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{StackName: aws.String(b.StackName), ChangeSetName: aws.String(name)})
				return nil, nil
			}
			return nil, fmt.Errorf("change set %s failed: %s", name, reason)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
		if interval < pollInterval {
			interval *= 2
		}
	}
}

// changeSetWithoutChanges matches CloudFormation's reasons for an empty
// change set (v3's is-change-set-without-changes).
func changeSetWithoutChanges(reason string) bool {
	return strings.Contains(reason, "The submitted information didn't contain changes") ||
		strings.Contains(reason, "No updates are to be performed")
}

// interrupted reports whether err is the run being cancelled (Ctrl-C).
func interrupted(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// deploymentBucket is the named bucket, else the stack's output or resource.
func deploymentBucket(ctx context.Context, c *Clients, b *Bundle, st *cftypes.Stack) (string, error) {
	if b.Bucket != "" {
		return b.Bucket, nil
	}
	if name := StackOutputs(st)["ServerlessDeploymentBucketName"]; name != "" {
		return name, nil
	}
	// Change-set deploys on some emulators do not compute outputs: read the
	// physical ID of the bucket resource instead (listing, which every
	// emulator implements robustly, rather than a filtered describe).
	var token *string
	for {
		resp, err := c.CloudFormation.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String(b.StackName), NextToken: token})
		if err != nil {
			return "", CredentialsError(err)
		}
		for _, r := range resp.StackResourceSummaries {
			if str(r.LogicalResourceId) == "ServerlessDeploymentBucket" && str(r.PhysicalResourceId) != "" {
				return str(r.PhysicalResourceId), nil
			}
		}
		if resp.NextToken == nil {
			break
		}
		token = resp.NextToken
	}
	return "", fmt.Errorf("%w: stack %s has no ServerlessDeploymentBucketName output", errNoBucketInStack, b.StackName)
}

// errNoBucketInStack is a stack without a deployment bucket: one deployed
// with a named bucket that the config no longer names.
var errNoBucketInStack = errors.New("cannot find the deployment bucket")

// CheckForChanges implements v3's check: compare the sorted hashes of the
// local template, state and artifacts with the newest deployment's
// filesha256 metadata, and deploy anyway when an object is newer than the
// oldest function (a previous deploy did not finish).
func CheckForChanges(ctx context.Context, c *Clients, b *Bundle, bucket string) (bool, error) {
	objects, err := listAll(ctx, c.S3, bucket, b.ServicePrefix())
	if err != nil {
		if strings.Contains(err.Error(), "NoSuchBucket") {
			return false, fmt.Errorf("the deployment bucket %q does not exist: create it to reuse stack %q, or remove the stack", bucket, b.StackName)
		}
		return false, err
	}
	newest := newestDeployment(objects)
	if len(newest) == 0 {
		return true, nil
	}
	remote := make([]string, len(newest))
	var latest time.Time
	var mu sync.Mutex
	errs := parallel(ctx, len(newest), 8, func(i int) error {
		in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: newest[i].Key}
		b.Encryption.applyToHead(in)
		h, err := c.S3.HeadObject(ctx, in)
		if err != nil {
			return err
		}
		remote[i] = h.Metadata["filesha256"]
		mu.Lock()
		if t := aws.ToTime(newest[i].LastModified); t.After(latest) {
			latest = t
		}
		mu.Unlock()
		return nil
	})
	if errs != nil {
		return false, errs
	}
	local, err := b.LocalHashes()
	if err != nil {
		return false, err
	}
	sort.Strings(remote)
	if strings.Join(remote, ",") != strings.Join(local, ",") {
		return true, nil
	}
	earliest := earliestFunctionChange(ctx, c.Lambda, b.FunctionNames)
	return latest.After(earliest), nil
}

// earliestFunctionChange is the oldest LastModified among the functions;
// a missing function counts as the epoch, so the deploy goes ahead.
func earliestFunctionChange(ctx context.Context, l Lambda, names []string) time.Time {
	earliest := time.Time{}
	first := true
	var mu sync.Mutex
	parallel(ctx, len(names), 8, func(i int) error {
		t := time.Unix(0, 0)
		if resp, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(names[i])}); err == nil && resp.Configuration != nil {
			if parsed, err := time.Parse("2006-01-02T15:04:05.000-0700", str(resp.Configuration.LastModified)); err == nil {
				t = parsed
			} else if parsed, err := time.Parse(time.RFC3339Nano, str(resp.Configuration.LastModified)); err == nil {
				t = parsed
			}
		}
		mu.Lock()
		if first || t.Before(earliest) {
			earliest, first = t, false
		}
		mu.Unlock()
		return nil
	})
	if first {
		return time.Unix(0, 0)
	}
	return earliest
}

func listAll(ctx context.Context, c S3, bucket, prefix string) ([]s3types.Object, error) {
	var out []s3types.Object
	var token *string
	for {
		resp, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), ContinuationToken: token})
		if err != nil {
			return nil, CredentialsError(err)
		}
		out = append(out, resp.Contents...)
		if !aws.ToBool(resp.IsTruncated) || resp.NextContinuationToken == nil {
			return out, nil
		}
		token = resp.NextContinuationToken
	}
}

// newestDeployment returns the objects of the newest timestamped directory.
func newestDeployment(objects []s3types.Object) []s3types.Object {
	dirs := groupDeployments(objects)
	if len(dirs) == 0 {
		return nil
	}
	return dirs[len(dirs)-1].Objects
}

// parallel runs fn(0..n-1) with at most limit at once; first error wins.
func parallel(ctx context.Context, n, limit int, fn func(i int) error) error {
	if limit <= 0 {
		limit = 8
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			once.Do(func() { first = ctx.Err() })
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				once.Do(func() { first = err })
			}
		}(i)
	}
	wg.Wait()
	return first
}

// outputsOf returns the stack outputs, with endpoints derived from the API
// resources when the stack reports none.
func outputsOf(ctx context.Context, c *Clients, b *Bundle, st *cftypes.Stack) map[string]string {
	if info, err := Info(ctx, c, b); err == nil {
		return info.Outputs
	}
	return StackOutputs(st)
}
