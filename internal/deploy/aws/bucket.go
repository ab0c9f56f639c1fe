package aws

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// What serverless v3 does with provider.deploymentBucket when it names a
// bucket the user owns (read from lib/plugins/aws/deploy and package/lib):
//
//   - tags, blockPublicAccess, versioning and skipPolicySetup only shape
//     the ServerlessDeploymentBucket resource of the core template, and that
//     resource is dropped when a name is given: v3 never tags the named
//     bucket, never puts a public access block or versioning on it, and
//     removes no tags from it. Nimbus does the same, and says so.
//   - Every deploy (forced, skipped or first) first checks the bucket with
//     GetBucketLocation: it must exist and be in the service's region.
//   - Every object uploaded (template, state, zips) carries the bucket's
//     encryption settings: serverSideEncryption, sseKMSKeyId and the SSE-C
//     trio sseCustomerAlgorithim (sic), sseCustomerKey, sseCustomerKeyMD5.
//     They apply to the stack's own bucket too.
//   - maxPreviousDeploymentArtifacts bounds the kept deployments, and
//     versioning makes remove delete every object version.
//   - With no stack yet, v3 does not create the core stack (it would hold
//     no resource): it uploads first and creates the stack from the full
//     template.

// BucketEncryption is deploymentBucket's per-object encryption settings.
type BucketEncryption struct {
	// ServerSideEncryption is AES256 or aws:kms.
	ServerSideEncryption string
	KMSKeyID             string
	// CustomerAlgorithm and CustomerKey select SSE-C. The key is the raw
	// key as written in the config; S3 receives it base64-encoded with its
	// MD5, as the JavaScript SDK v3 runs on sends it. It is a secret: it
	// never goes into a message.
	CustomerAlgorithm string
	CustomerKey       string
}

// sseC is the SSE-C algorithm, key and key MD5 as S3 expects them (nil
// where unset).
func (e BucketEncryption) sseC() (algorithm, key, keyMD5 *string) {
	if e.CustomerAlgorithm != "" {
		algorithm = aws.String(e.CustomerAlgorithm)
	}
	if e.CustomerKey != "" {
		sum := md5.Sum([]byte(e.CustomerKey))
		key = aws.String(base64.StdEncoding.EncodeToString([]byte(e.CustomerKey)))
		keyMD5 = aws.String(base64.StdEncoding.EncodeToString(sum[:]))
	}
	return algorithm, key, keyMD5
}

// kmsKeyID is sseKMSKeyId, nil when unset.
func (e BucketEncryption) kmsKeyID() *string {
	if e.KMSKeyID == "" {
		return nil
	}
	return aws.String(e.KMSKeyID)
}

func (e BucketEncryption) applyToPut(in *s3.PutObjectInput) {
	in.ServerSideEncryption = s3types.ServerSideEncryption(e.ServerSideEncryption)
	in.SSEKMSKeyId = e.kmsKeyID()
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = e.sseC()
}

// applyToCopy encrypts the copy as the upload would be, and reads an
// SSE-C source with the same key (the source is this deploy's upload).
func (e BucketEncryption) applyToCopy(in *s3.CopyObjectInput) {
	in.ServerSideEncryption = s3types.ServerSideEncryption(e.ServerSideEncryption)
	in.SSEKMSKeyId = e.kmsKeyID()
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = e.sseC()
	in.CopySourceSSECustomerAlgorithm, in.CopySourceSSECustomerKey, in.CopySourceSSECustomerKeyMD5 = e.sseC()
}

// applyToHead lets the change check read the metadata of SSE-C objects,
// which S3 refuses without the key.
func (e BucketEncryption) applyToHead(in *s3.HeadObjectInput) {
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = e.sseC()
}

// checkNamedBucket is v3's check of a user-named deployment bucket: it
// must exist and be in the region the service deploys to.
func checkNamedBucket(ctx context.Context, c *Clients, b *Bundle) error {
	out, err := c.S3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(b.Bucket)})
	if err != nil {
		return bucketError(b, fmt.Sprintf("could not locate deployment bucket %q: %s", b.Bucket, apiMessage(err)),
			"Create the bucket in "+b.Region+", or fix the name.")
	}
	region := string(out.LocationConstraint)
	switch region {
	case "":
		region = "us-east-1"
	case "EU":
		region = "eu-west-1"
	}
	if b.Region != "" && region != b.Region {
		return bucketError(b, fmt.Sprintf("deployment bucket %q is in %s, but the service deploys to %s", b.Bucket, region, b.Region),
			"Lambda reads code only from a bucket in its own region: name a bucket in "+b.Region+".")
	}
	return nil
}

// checkStackBucket is v3's check that the stack's own bucket still exists:
// CloudFormation cannot recreate a bucket deleted behind its back.
func checkStackBucket(ctx context.Context, c *Clients, b *Bundle, bucket string) error {
	_, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	var missing *s3types.NotFound
	var noBucket *s3types.NoSuchBucket
	if errors.As(err, &missing) || errors.As(err, &noBucket) {
		return fmt.Errorf("the deployment bucket %s of stack %s was removed outside CloudFormation: recreate it, or remove the service (nimbus remove) and deploy again", bucket, b.StackName)
	}
	return fmt.Errorf("could not access the deployment bucket %s: %s", bucket, apiMessage(err))
}

// addBucketToStack is v3's step for a stack without a deployment bucket
// (deployed with a named bucket the config no longer names): it updates
// the stack with its current template plus the core template's bucket
// resources and outputs, sent with the parameters of every other update
// (as v3's ensure-valid-bucket-exists.js does), and waits.
func addBucketToStack(ctx context.Context, c *Clients, b *Bundle, rep Reporter) (*cftypes.Stack, error) {
	rep.Step("Deployment bucket not found: updating stack " + b.StackName + " to include it")
	out, err := c.CloudFormation.GetTemplate(ctx, &cloudformation.GetTemplateInput{
		StackName: aws.String(b.StackName), TemplateStage: cftypes.TemplateStageOriginal,
	})
	if err != nil {
		return nil, CredentialsError(err)
	}
	current, err := parseStackTemplate(aws.ToString(out.TemplateBody))
	if err != nil {
		return nil, fmt.Errorf("adding the deployment bucket to stack %s: %w", b.StackName, err)
	}
	var core map[string]any
	if err := json.Unmarshal(b.CoreTemplate, &core); err != nil {
		return nil, err
	}
	for _, section := range []string{"Resources", "Outputs"} {
		merged, _ := current[section].(map[string]any)
		if merged == nil {
			merged = map[string]any{}
		}
		add, _ := core[section].(map[string]any)
		for k, v := range add {
			merged[k] = v
		}
		current[section] = merged
	}
	body, err := json.Marshal(current)
	if err != nil {
		return nil, err
	}
	since := time.Now().Add(-time.Second)
	seen := seenEvents(ctx, c.CloudFormation, b.StackName)
	if _, err := updateStack(ctx, c, b, stackTemplate{body: body}); err != nil {
		return nil, err
	}
	return waitForStack(ctx, c.CloudFormation, b.StackName, since, seen, rep)
}

// bucketError is a problem with the named bucket, at its key in the config.
func bucketError(b *Bundle, summary, detail string) error {
	key := b.BucketKey
	if key == "" {
		key = "provider.deploymentBucket"
	}
	return diag.Diagnostics{{Severity: diag.Error, Pos: b.BucketPos, Path: key, Width: len(b.Bucket), Summary: summary, Detail: detail}}.Err()
}

// parseStackTemplate reads a deployed template, JSON or (written by
// another tool) YAML with CloudFormation's short tags, as v3 does.
func parseStackTemplate(body string) (map[string]any, error) {
	out := map[string]any{}
	if strings.TrimSpace(body) == "" {
		return out, nil
	}
	if json.Unmarshal([]byte(body), &out) == nil {
		return out, nil
	}
	root, ds := config.Parse("stack template", []byte(body), diag.NewSources())
	if ds.HasErrors() {
		return nil, fmt.Errorf("could not parse the stack's template: %w", ds.Err())
	}
	if m, ok := root.Interface().(map[string]any); ok {
		return m, nil
	}
	return nil, fmt.Errorf("could not parse the stack's template: it is not a mapping")
}

// unappliedBucketWarning tells which deploymentBucket settings a named
// bucket does not get ("" when none is set).
func unappliedBucketWarning(b *Bundle) string {
	if b.Bucket == "" || len(b.BucketOnlyCreatedSettings) == 0 {
		return ""
	}
	return fmt.Sprintf("Warning: provider.deploymentBucket.%s apply only to the bucket serverless creates; bucket %s keeps its own settings (as with serverless v3)",
		strings.Join(b.BucketOnlyCreatedSettings, ", "), b.Bucket)
}
