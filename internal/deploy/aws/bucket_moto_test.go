package aws_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// TestNamedDeploymentBucketOnMoto deploys into a bucket the user owns, as
// v3 does: the stack is created from the full template (there is no core
// stack to create), every object is encrypted as deploymentBucket says,
// and the bucket's own tags, public access block and versioning stay as
// the user set them (v3 applies deploymentBucket.tags, blockPublicAccess
// and versioning only to the bucket it creates). A bucket that is missing
// or in another region stops the deploy before anything changes.
func TestNamedDeploymentBucketOnMoto(t *testing.T) {
	useDedicatedMoto(t, "deploys to moto")
	ctx := context.Background()
	c, err := deployaws.NewClients(ctx, "us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	s3c := c.S3.(*s3.Client)
	const bucket = "team-artifacts"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	userTags := []s3types.Tag{{Key: aws.String("owner"), Value: aws.String("platform")}}
	if _, err := s3c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{TagSet: userTags}}); err != nil {
		t.Fatal(err)
	}
	userBlock := &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(false), IgnorePublicAcls: aws.Bool(false), RestrictPublicBuckets: aws.Bool(false)}
	if _, err := s3c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucket), PublicAccessBlockConfiguration: userBlock}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("eu-artifacts"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "handler.js"), []byte("exports.hello = async () => ({});\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deployConfig := func(deploymentBucket string) (*nimbus.DeployResult, []string, error) {
		t.Helper()
		yml := `service: owned
provider:
  name: aws
  runtime: nodejs20.x
` + deploymentBucket + `functions:
  hello:
    handler: handler.hello
`
		if err := os.WriteFile(filepath.Join(dir, "serverless.yml"), []byte(yml), 0o644); err != nil {
			t.Fatal(err)
		}
		rep := &stepRecorder{}
		res, err := deployDir(ctx, t, dir, nimbus.DeployOptions{NoValidate: true, Reporter: rep})
		return res, rep.steps, err
	}
	deploy := func(bucketName string) (*nimbus.DeployResult, []string, error) {
		t.Helper()
		return deployConfig(`  deploymentBucket:
    name: ` + bucketName + `
    serverSideEncryption: AES256
    blockPublicAccess: true
    versioning: true
    tags:
      team: blue
`)
	}

	// A bucket in another region, or none, stops the deploy first.
	if _, _, err := deploy("eu-artifacts"); err == nil || !strings.Contains(err.Error(), `serverless.yml:6:11: provider.deploymentBucket.name: deployment bucket "eu-artifacts" is in eu-west-1, but the service deploys to us-east-1`) {
		t.Errorf("deploy into a bucket in eu-west-1: error %v", err)
	}
	if _, _, err := deploy("no-such-bucket"); err == nil || !strings.Contains(err.Error(), `serverless.yml:6:11: provider.deploymentBucket.name: could not locate deployment bucket "no-such-bucket"`) {
		t.Errorf("deploy into a missing bucket: error %v", err)
	}
	if _, err := c.CloudFormation.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("owned-dev")}); err == nil {
		t.Error("a refused deploy created the stack")
	}

	res, steps, err := deploy(bucket)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Bucket != bucket {
		t.Errorf("first deploy: %+v", res)
	}
	if !contains(steps, "Warning: provider.deploymentBucket.tags, blockPublicAccess, versioning apply only to the bucket serverless creates; bucket team-artifacts keeps its own settings (as with serverless v3)") {
		t.Errorf("steps %q lack the warning about unapplied bucket settings", steps)
	}
	resources, err := c.CloudFormation.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String("owned-dev")})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resources.StackResourceSummaries {
		if aws.ToString(r.LogicalResourceId) == "ServerlessDeploymentBucket" {
			t.Error("the stack created a deployment bucket of its own")
		}
	}
	objects, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("serverless/owned/dev/")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objects.Contents {
		names = append(names, filepath.Base(aws.ToString(o.Key)))
		head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		if head.ServerSideEncryption != s3types.ServerSideEncryptionAes256 {
			t.Errorf("%s is stored with encryption %q, want AES256", aws.ToString(o.Key), head.ServerSideEncryption)
		}
	}
	if want := []string{"compiled-cloudformation-template.json", "owned.zip", "serverless-state.json"}; !reflect.DeepEqual(names, want) {
		t.Errorf("objects in %s: %q, want %q", bucket, names, want)
	}

	tags, err := s3c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Key) != "owner" || aws.ToString(tags.TagSet[0].Value) != "platform" {
		t.Errorf("bucket tags = %+v, want the user's owner=platform only", tags.TagSet)
	}
	block, err := s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if got := block.PublicAccessBlockConfiguration; !reflect.DeepEqual(got, userBlock) {
		t.Errorf("public access block = %+v, want the user's %+v", got, userBlock)
	}
	versioning, err := s3c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if versioning.Status != "" {
		t.Errorf("bucket versioning = %q, want it left off", versioning.Status)
	}

	// Unchanged: the change check reads the named bucket and skips.
	res, _, err = deploy(bucket)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Skipped {
		t.Errorf("second deploy of an unchanged service: %+v", res)
	}

	// The config stops naming the bucket: the stack gets its own bucket
	// first (v3 adds the core template's resources), then deploys there.
	res, steps, err = deployConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if res.Bucket == bucket || res.Bucket == "" {
		t.Fatalf("deployed into %q, want the stack's own bucket", res.Bucket)
	}
	if !contains(steps, "Deployment bucket not found: updating stack owned-dev to include it") {
		t.Errorf("steps %q", steps)
	}
	own, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(res.Bucket), Prefix: aws.String(res.ArtifactDirectory + "/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(own.Contents) != 3 {
		t.Errorf("the stack's bucket holds %d objects of this deployment, want 3", len(own.Contents))
	}
}
