package aws_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// TestDeployToAStackUnderReviewFailsAtOnceOnMoto leaves the service's stack
// in REVIEW_IN_PROGRESS (a CREATE change set nobody executed), then
// deploys: v3 refuses at once with its inactive-stack message. Nimbus used
// to treat the stack as missing and create a second change set, which moto
// executes on a second stack of that name, and then wait forever on the
// first one.
func TestDeployToAStackUnderReviewFailsAtOnceOnMoto(t *testing.T) {
	useDedicatedMoto(t, "deploys to moto")
	dir := t.TempDir()
	for name, text := range map[string]string{
		"handler.js":     "exports.hello = async () => 'ok';\n",
		"serverless.yml": "service: pending\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  hello:\n    handler: handler.hello\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := deployaws.NewClients(ctx, "us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CloudFormation.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String("pending-dev"), ChangeSetName: aws.String("someone-elses"), ChangeSetType: cftypes.ChangeSetTypeCreate,
		TemplateBody: aws.String(`{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}`),
	}); err != nil {
		t.Fatal(err)
	}
	p, err := nimbus.Load(ctx, nimbus.Options{Dir: dir, Stage: "dev", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = nimbus.Deploy(ctx, p, nimbus.DeployOptions{NoValidate: true})
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("deploy kept waiting on the stack under review")
	}
	var inactive *deployaws.InactiveStackError
	if !errors.As(err, &inactive) || inactive.Stack != "pending-dev" || inactive.Status != "REVIEW_IN_PROGRESS" {
		t.Fatalf("err = %v, want v3's inactive-stack refusal", err)
	}
	stacks, err := c.CloudFormation.(*cloudformation.Client).ListStacks(ctx, &cloudformation.ListStacksInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stacks.StackSummaries) != 1 {
		t.Errorf("stacks = %d, want only the one under review (nothing created beside it)", len(stacks.StackSummaries))
	}
	// The message's advice works: remove, then deploy.
	if err := nimbus.Remove(ctx, p, nil); err != nil {
		t.Fatalf("remove the stack under review: %v", err)
	}
	res, err := nimbus.Deploy(ctx, p, nimbus.DeployOptions{NoValidate: true})
	if err != nil || !res.Created {
		t.Fatalf("deploy after remove: %+v, %v", res, err)
	}
}
