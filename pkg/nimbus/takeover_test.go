package nimbus

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
	"github.com/nimbusfw/nimbus/internal/testutil/motoserver"
)

// perDeployID matches the logical IDs that legitimately change on every
// serverless deploy: the API deployment (named by the run's timestamp) and
// function versions (named by a hash that covers the zip bytes).
var perDeployID = regexp.MustCompile(`^(ApiGatewayDeployment\d+|.+LambdaVersion[A-Za-z0-9]+)$`)

// TestTakeOverStackDeployedByServerlessV3 deploys a corpus service's stack
// from serverless v3's own compiled template, then asks Nimbus for a plan:
// the same logical IDs must line up, so nothing is replaced and only the
// per-deploy resources come and go.
func TestTakeOverStackDeployedByServerlessV3(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("shared corpus not present")
	}
	ep, stop := motoserver.StartDedicated(t)
	defer stop()
	for _, kv := range motoserver.EnvFor(ep) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	for _, name := range []string{"aws-golang-http-get-post", "aws-node-http-api-dynamodb", "aws-node-scheduled-cron"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := stubService(t, name)
			p, err := Load(ctx, Options{Dir: dir, Stage: "dev", Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			pkg, err := Package(ctx, p, PackageOptions{})
			if err != nil {
				t.Fatal(err)
			}
			v3Template, err := os.ReadFile(filepath.Join(corpusDir, "public", name, "expected/sls3/cloudformation-template-update-stack.json"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := p.awsClients(ctx)
			if err != nil {
				t.Fatal(err)
			}
			deployV3Stack(t, c, p.Service.StackName(), pkg, v3Template)

			plan, err := MakePlan(ctx, p, PackageOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if plan.NewStack {
				t.Fatal("Nimbus did not find the stack v3 deployed")
			}
			for _, r := range plan.Resources {
				if r.Replacement != "" {
					t.Errorf("%s (%s) would be replaced", r.LogicalID, r.Type)
				}
				if (r.Action == "Add" || r.Action == "Remove") && !perDeployID.MatchString(r.LogicalID) {
					t.Errorf("%s %s (%s): the logical IDs of v3 and Nimbus differ", r.Action, r.LogicalID, r.Type)
				}
			}
		})
	}
}

// deployV3Stack creates the stack from the core template, puts Nimbus' zips
// at the S3 keys v3's template names, and updates the stack to v3's template.
func deployV3Stack(t *testing.T, c *deployaws.Clients, stack string, pkg *PackageResult, v3Template []byte) {
	t.Helper()
	ctx := context.Background()
	core, err := os.ReadFile(filepath.Join(pkg.Dir, CreateStackTemplateFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CloudFormation.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(string(core))}); err != nil {
		t.Fatal(err)
	}
	bucket, err := deployaws.Bucket(ctx, c, &deployaws.Bundle{StackName: stack})
	if err != nil {
		t.Fatalf("deployment bucket: %v", err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(v3Template, &tmpl); err != nil {
		t.Fatal(err)
	}
	for _, r := range tmpl.Resources {
		code, _ := r.Properties["Code"].(map[string]any)
		if r.Type != "AWS::Lambda::Function" || code == nil {
			continue
		}
		key, _ := code["S3Key"].(string)
		zip, err := os.ReadFile(filepath.Join(pkg.Dir, filepath.Base(key)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(string(zip))}); err != nil {
			t.Fatal(err)
		}
	}
	caps := []cftypes.Capability{cftypes.CapabilityCapabilityIam, cftypes.CapabilityCapabilityNamedIam}
	if _, err := c.CloudFormation.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String(stack), ChangeSetName: aws.String("v3"), ChangeSetType: cftypes.ChangeSetTypeUpdate,
		TemplateBody: aws.String(string(v3Template)), Capabilities: caps,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CloudFormation.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String("v3")}); err != nil {
		t.Fatalf("deploying v3's template: %v", err)
	}
}
