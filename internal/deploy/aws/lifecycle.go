package aws

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Bucket finds the deployment bucket of an existing stack.
func Bucket(ctx context.Context, c *Clients, b *Bundle) (string, error) {
	if b.Bucket != "" {
		return b.Bucket, nil
	}
	st, err := describeStack(ctx, c.CloudFormation, b.StackName)
	if err != nil {
		if isStackMissing(err) {
			return "", fmt.Errorf("stack %s does not exist: deploy the service first", b.StackName)
		}
		return "", err
	}
	return deploymentBucket(ctx, c, b, st)
}

// ListDeployments returns the deployments in the bucket, oldest first (v3's
// `deploy list`).
func ListDeployments(ctx context.Context, c *Clients, b *Bundle) ([]*Deployment, error) {
	bucket, err := Bucket(ctx, c, b)
	if err != nil {
		return nil, err
	}
	objects, err := listAll(ctx, c.S3, bucket, b.ServicePrefix())
	if err != nil {
		return nil, err
	}
	return groupDeployments(objects), nil
}

// ParseTimestamp reads a rollback target the way v3 does: a date string,
// else a number of milliseconds.
func ParseTimestamp(s string) (int64, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05Z", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a date nor a timestamp in milliseconds", s)
	}
	return ms, nil
}

// Rollback updates the stack to the template of the deployment stamped
// timestamp (milliseconds) and waits for it.
func Rollback(ctx context.Context, c *Clients, b *Bundle, timestamp int64, rep Reporter) (*Deployment, error) {
	if rep == nil {
		rep = NopReporter{}
	}
	deps, err := ListDeployments(ctx, c, b)
	if err != nil {
		return nil, err
	}
	if len(deps) == 0 {
		return nil, fmt.Errorf("no deployments of %s (stage %s) found in the deployment bucket", b.Service, b.Stage)
	}
	var target *Deployment
	for _, d := range deps {
		if d.Timestamp == timestamp {
			target = d
		}
	}
	if target == nil {
		return nil, fmt.Errorf("no deployment with timestamp %d: run `nimbus deploy list` to see them", timestamp)
	}
	hasTemplate := false
	for _, f := range target.Files {
		hasTemplate = hasTemplate || f == CompiledTemplateFile
	}
	if !hasTemplate {
		return nil, fmt.Errorf("deployment %d has no %s to roll back to", timestamp, CompiledTemplateFile)
	}
	bucket, err := Bucket(ctx, c, b)
	if err != nil {
		return nil, err
	}
	if _, err := readyStack(ctx, c.CloudFormation, b.StackName, rep); err != nil {
		return nil, err
	}
	// The template's own content decides capabilities (AUTO_EXPAND for
	// transforms), so read it back.
	obj, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(target.Dir + "/" + CompiledTemplateFile)})
	if err != nil {
		return nil, err
	}
	defer obj.Body.Close()
	template, err := io.ReadAll(obj.Body)
	if err != nil {
		return nil, err
	}
	rb := *b
	rb.Template = template
	rep.Step(fmt.Sprintf("Rolling back %s to deployment %d", b.StackName, timestamp))
	since := time.Now().Add(-time.Second)
	seen := seenEvents(ctx, c.CloudFormation, b.StackName)
	changed, err := updateStack(ctx, c, &rb, stackTemplate{url: c.TemplateURL(bucket, target.Dir+"/"+CompiledTemplateFile)})
	if err != nil {
		return nil, err
	}
	if changed {
		if _, err := waitForStack(ctx, c.CloudFormation, b.StackName, since, seen, rep); err != nil {
			return nil, err
		}
		// v3's rollback runs the same update step as deploy, policy included.
		if err := applyStackPolicy(ctx, c.CloudFormation, &rb, rep); err != nil {
			return nil, err
		}
	}
	return target, nil
}

// Remove empties the service's folder in the deployment bucket, deletes the
// stack and waits until it is gone.
func Remove(ctx context.Context, c *Clients, b *Bundle, rep Reporter) error {
	if rep == nil {
		rep = NopReporter{}
	}
	st, err := describeStack(ctx, c.CloudFormation, b.StackName)
	if isStackMissing(err) {
		return fmt.Errorf("stack %s does not exist", b.StackName)
	}
	if err != nil {
		return err
	}
	if bucket, err := deploymentBucket(ctx, c, b, st); err == nil {
		rep.Step("Removing objects from s3://" + bucket)
		if err := emptyBucket(ctx, c.S3, bucket, b, b.Bucket == ""); err != nil {
			return err
		}
	}
	rep.Step("Removing CloudFormation stack " + b.StackName)
	since := time.Now().Add(-time.Second)
	seen := seenEvents(ctx, c.CloudFormation, b.StackName)
	if _, err := c.CloudFormation.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(b.StackName), RoleARN: roleARN(b)}); err != nil {
		return CredentialsError(err)
	}
	// Poll by name: a deleted stack looked up by ID may come back on some
	// emulators, and by name it simply disappears.
	st, err = waitForStack(ctx, c.CloudFormation, b.StackName, since, seen, rep)
	if err != nil {
		return err
	}
	if st.StackStatus != cftypes.StackStatusDeleteComplete {
		return fmt.Errorf("stack %s ended in %s", b.StackName, st.StackStatus)
	}
	return nil
}

// emptyBucket deletes the service's objects; a stack-owned bucket is
// emptied entirely (every version too) so CloudFormation can delete it.
func emptyBucket(ctx context.Context, c S3, bucket string, b *Bundle, ownedByStack bool) error {
	prefix := b.ServicePrefix()
	if ownedByStack {
		prefix = ""
	}
	objects, err := listAll(ctx, c, bucket, prefix)
	if err != nil {
		if strings.Contains(err.Error(), "NoSuchBucket") {
			return nil
		}
		return err
	}
	if err := deleteObjects(ctx, c, bucket, objects); err != nil {
		return err
	}
	// Versioned buckets keep old versions and delete markers.
	var keyMarker, versionMarker *string
	for {
		resp, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix), KeyMarker: keyMarker, VersionIdMarker: versionMarker})
		if err != nil {
			return nil // not versioned or not supported: nothing more to do
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range resp.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range resp.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) > 0 {
			if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
				return err
			}
		}
		if !aws.ToBool(resp.IsTruncated) {
			return nil
		}
		keyMarker, versionMarker = resp.NextKeyMarker, resp.NextVersionIdMarker
	}
}

// StackInfo is what `info` shows about a deployed stack.
type StackInfo struct {
	Stack     string
	Status    string
	Outputs   map[string]string
	Resources []StackResource
}

// StackResource is one resource of a deployed stack.
type StackResource struct {
	LogicalID, PhysicalID, Type, Status string
}

// Info reads a deployed stack's status, outputs and resources.
func Info(ctx context.Context, c *Clients, b *Bundle) (*StackInfo, error) {
	st, err := describeStack(ctx, c.CloudFormation, b.StackName)
	if err != nil {
		if isStackMissing(err) {
			return nil, fmt.Errorf("stack %s does not exist: deploy the service first", b.StackName)
		}
		return nil, err
	}
	info := &StackInfo{Stack: b.StackName, Status: string(st.StackStatus), Outputs: StackOutputs(st)}
	defer func() { deriveEndpoints(info.Outputs, info.Resources, b.Region, b.Stage) }()
	var token *string
	for {
		resp, err := c.CloudFormation.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String(b.StackName), NextToken: token})
		if err != nil {
			return nil, err
		}
		for _, r := range resp.StackResourceSummaries {
			info.Resources = append(info.Resources, StackResource{
				LogicalID: str(r.LogicalResourceId), PhysicalID: str(r.PhysicalResourceId),
				Type: str(r.ResourceType), Status: string(r.ResourceStatus),
			})
		}
		if resp.NextToken == nil {
			return info, nil
		}
		token = resp.NextToken
	}
}

// deriveEndpoints fills the endpoint outputs from the API resources when
// the stack has no computed outputs (emulators that skip them on change
// sets), using the URL forms API Gateway documents.
func deriveEndpoints(outputs map[string]string, resources []StackResource, region, stage string) {
	for _, r := range resources {
		if r.PhysicalID == "" {
			continue
		}
		switch {
		case r.LogicalID == "ApiGatewayRestApi" && outputs["ServiceEndpoint"] == "":
			outputs["ServiceEndpoint"] = fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/%s", r.PhysicalID, region, stage)
		case r.LogicalID == "HttpApi" && outputs["HttpApiUrl"] == "":
			outputs["HttpApiUrl"] = fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com", r.PhysicalID, region)
		case r.LogicalID == "WebsocketsApi" && outputs["ServiceEndpointWebsocket"] == "":
			outputs["ServiceEndpointWebsocket"] = fmt.Sprintf("wss://%s.execute-api.%s.amazonaws.com/%s", r.PhysicalID, region, stage)
		}
	}
}
