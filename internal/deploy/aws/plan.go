package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nimbusfw/nimbus/internal/packaging"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Plan is what a deploy would change, read from a CloudFormation change
// set that is created, described and deleted without being executed.
type Plan struct {
	Stack string `json:"stack"`
	// NewStack is true when the stack does not exist yet: every resource
	// is an addition.
	NewStack  bool             `json:"newStack"`
	Resources []ResourceChange `json:"resources"`
	// Functions lists functions whose code differs from the deployed code.
	Functions []FunctionChange `json:"functions"`
}

// ResourceChange is one row of the plan.
type ResourceChange struct {
	Action    string `json:"action"` // Add, Modify, Remove, Import, Dynamic
	LogicalID string `json:"logicalId"`
	Type      string `json:"type"`
	// Replacement is "True", "Conditional" or "" (Modify only).
	Replacement string   `json:"replacement,omitempty"`
	IAM         bool     `json:"iam,omitempty"`
	Details     []string `json:"details,omitempty"`
}

// FunctionChange says a function's code will change.
type FunctionChange struct {
	Function    string `json:"function"`
	LocalSHA256 string `json:"localSha256"`
	// DeployedSHA256 is "" when the function is not deployed yet.
	DeployedSHA256 string `json:"deployedSha256,omitempty"`
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool { return len(p.Resources) > 0 || len(p.Functions) > 0 }

// Replacements counts resources that would be replaced.
func (p *Plan) Replacements() int {
	n := 0
	for _, r := range p.Resources {
		if r.Replacement == "True" || r.Replacement == "Conditional" {
			n++
		}
	}
	return n
}

// FunctionArtifact pairs a deployed function name with its local zip.
type FunctionArtifact struct {
	Name     string
	Artifact string
}

// MakePlan previews the deploy of b. functions maps each deployed function
// name to its local artifact, for the code comparison.
func MakePlan(ctx context.Context, c *Clients, b *Bundle, functions []FunctionArtifact) (*Plan, error) {
	plan := &Plan{Stack: b.StackName}
	st, err := readyStack(ctx, c.CloudFormation, b.StackName, NopReporter{})
	if err != nil {
		return nil, err
	}
	if st == nil {
		plan.NewStack = true
		var t struct {
			Resources map[string]struct{ Type string } `json:"Resources"`
		}
		if err := json.Unmarshal(b.Template, &t); err != nil {
			return nil, err
		}
		for id, r := range t.Resources {
			plan.Resources = append(plan.Resources, ResourceChange{Action: "Add", LogicalID: id, Type: r.Type, IAM: isIAM(r.Type)})
		}
	} else {
		// Deploy would be skipped: the plan is empty, whatever a change set
		// would say about the new artifact directory's S3 keys.
		bucket, err := deploymentBucket(ctx, c, b, st)
		if err != nil {
			return nil, err
		}
		changed, err := CheckForChanges(ctx, c, b, bucket)
		if err != nil {
			return nil, err
		}
		if !changed {
			return plan, nil
		}
		if plan.Resources, err = changeSetPreview(ctx, c, b, st); err != nil {
			return nil, err
		}
	}
	sort.Slice(plan.Resources, func(i, j int) bool {
		a, b := plan.Resources[i], plan.Resources[j]
		if a.Action != b.Action {
			return actionOrder(a.Action) < actionOrder(b.Action)
		}
		return a.LogicalID < b.LogicalID
	})
	plan.Functions, err = codeChanges(ctx, c.Lambda, functions)
	return plan, err
}

func actionOrder(a string) int {
	switch a {
	case "Add":
		return 0
	case "Modify":
		return 1
	case "Remove":
		return 2
	}
	return 3
}

func isIAM(typ string) bool {
	return strings.HasPrefix(typ, "AWS::IAM::") || typ == "AWS::Lambda::Permission" ||
		strings.HasSuffix(typ, "Policy") || strings.HasSuffix(typ, "BucketPolicy")
}

// changeSetPreview uploads the template beside the deployments (outside
// any timestamped directory, so the change check and rollback never see
// it), creates a change set, reads it and deletes both.
func changeSetPreview(ctx context.Context, c *Clients, b *Bundle, st *cftypes.Stack) ([]ResourceChange, error) {
	bucket, err := deploymentBucket(ctx, c, b, st)
	if err != nil {
		return nil, err
	}
	stamp := fmt.Sprint(time.Now().UnixMilli())
	key := b.ServicePrefix() + "plan-" + stamp + "/" + CompiledTemplateFile
	put := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(string(b.Template))}
	// A bucket policy may refuse unencrypted objects, as it would a deploy.
	b.Encryption.applyToPut(put)
	if _, err := c.S3.PutObject(ctx, put); err != nil {
		return nil, CredentialsError(err)
	}
	defer removeDirectory(c.S3, bucket, b.ServicePrefix()+"plan-"+stamp+"/")
	name := b.StackName + "-plan-" + stamp
	in := &cloudformation.CreateChangeSetInput{
		StackName: aws.String(b.StackName), ChangeSetName: aws.String(name), ChangeSetType: cftypes.ChangeSetTypeUpdate,
		TemplateURL: aws.String(c.TemplateURL(bucket, key)), Capabilities: capabilities(b.Template),
		Tags: sharedTags(b), RoleARN: roleARN(b), NotificationARNs: notificationARNs(b),
		Parameters: b.StackParameters, RollbackConfiguration: b.RollbackConfiguration,
	}
	if _, err := c.CloudFormation.CreateChangeSet(ctx, in); err != nil {
		return nil, CredentialsError(err)
	}
	defer c.CloudFormation.DeleteChangeSet(context.Background(), &cloudformation.DeleteChangeSetInput{StackName: aws.String(b.StackName), ChangeSetName: aws.String(name)})
	var out []ResourceChange
	interval := minPollInterval
	for {
		var token *string
		out = out[:0]
		var desc *cloudformation.DescribeChangeSetOutput
		for {
			desc, err = c.CloudFormation.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{
				StackName: aws.String(b.StackName), ChangeSetName: aws.String(name), NextToken: token,
			})
			if err != nil {
				return nil, CredentialsError(err)
			}
			for _, ch := range desc.Changes {
				if rc := ch.ResourceChange; rc != nil {
					out = append(out, resourceChange(rc))
				}
			}
			if desc.NextToken == nil || desc.Status != cftypes.ChangeSetStatusCreateComplete {
				break
			}
			token = desc.NextToken
		}
		switch desc.Status {
		case cftypes.ChangeSetStatusCreateComplete:
			return out, nil
		case cftypes.ChangeSetStatusFailed:
			if changeSetWithoutChanges(str(desc.StatusReason)) {
				return nil, nil
			}
			return nil, fmt.Errorf("change set failed: %s", str(desc.StatusReason))
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

func resourceChange(rc *cftypes.ResourceChange) ResourceChange {
	r := ResourceChange{
		Action: string(rc.Action), LogicalID: str(rc.LogicalResourceId), Type: str(rc.ResourceType),
		Replacement: string(rc.Replacement),
	}
	if r.Replacement == "False" {
		r.Replacement = ""
	}
	r.IAM = isIAM(r.Type)
	for _, d := range rc.Details {
		if d.Target == nil {
			continue
		}
		detail := string(d.Target.Attribute)
		if n := str(d.Target.Name); n != "" {
			detail += "." + n
		}
		if d.Target.RequiresRecreation == cftypes.RequiresRecreationAlways {
			detail += " (requires replacement)"
		}
		r.Details = append(r.Details, detail)
	}
	return r
}

// codeChanges compares each function's local zip with the deployed code.
func codeChanges(ctx context.Context, l Lambda, functions []FunctionArtifact) ([]FunctionChange, error) {
	out := make([]*FunctionChange, len(functions))
	err := parallel(ctx, len(functions), 8, func(i int) error {
		f := functions[i]
		if f.Artifact == "" || strings.Contains(f.Artifact, "://") {
			return nil
		}
		local, err := packaging.FileSHA256(f.Artifact)
		if err != nil {
			return err
		}
		deployed := ""
		if resp, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(f.Name)}); err == nil && resp.Configuration != nil {
			deployed = str(resp.Configuration.CodeSha256)
		}
		if deployed != local {
			out[i] = &FunctionChange{Function: f.Name, LocalSHA256: local, DeployedSHA256: deployed}
		}
		return nil
	})
	var changes []FunctionChange
	for _, c := range out {
		if c != nil {
			changes = append(changes, *c)
		}
	}
	return changes, err
}
