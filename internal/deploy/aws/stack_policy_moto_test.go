package aws_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// TestChangeSetDeploySetsStackPolicyOnMoto deploys through change sets (the
// default method) and reads the policy back with GetStackPolicy: none while
// provider.stackPolicy is an empty list, provider.stackPolicy's statements
// once they are given and the stack changes.
func TestChangeSetDeploySetsStackPolicyOnMoto(t *testing.T) {
	useDedicatedMoto(t, "deploys to moto")
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config := func(policy, memory string) string {
		return `service: guarded
provider:
  name: aws
  runtime: nodejs20.x
  memorySize: ` + memory + `
  stackPolicy: ` + policy + `
functions:
  hello:
    handler: handler.hello
`
	}
	write("handler.js", "exports.hello = async () => 'ok';\n")
	ctx := context.Background()
	deploy := func() *nimbus.DeployResult {
		t.Helper()
		res, err := deployDir(ctx, t, dir, nimbus.DeployOptions{NoValidate: true})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	c, err := deployaws.NewClients(ctx, "us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	policy := func() string {
		t.Helper()
		out, err := c.CloudFormation.(*cloudformation.Client).GetStackPolicy(ctx, &cloudformation.GetStackPolicyInput{StackName: aws.String("guarded-dev")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.StackPolicyBody)
	}

	write("serverless.yml", config("[]", "512"))
	if res := deploy(); !res.Created {
		t.Fatalf("first deploy did not create the stack: %+v", res)
	}
	if got := policy(); got != "" {
		t.Fatalf("an empty stackPolicy list set the policy %s", got)
	}

	write("serverless.yml", config(`
    - Effect: Allow
      Principal: "*"
      Action: "Update:*"
      Resource: "*"
    - Effect: Deny
      Principal: "*"
      Action: ["Update:Replace", "Update:Delete"]
      Resource: LogicalResourceId/HelloLambdaFunction`, "1024"))
	if res := deploy(); res.Skipped || res.NoStackUpdate {
		t.Fatalf("changed memory size was not deployed: %+v", res)
	}
	var doc struct {
		Statement []struct {
			Effect   string
			Action   any
			Resource string
		}
	}
	got := policy()
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatalf("policy %q: %v", got, err)
	}
	if len(doc.Statement) != 2 || doc.Statement[1].Effect != "Deny" || doc.Statement[1].Resource != "LogicalResourceId/HelloLambdaFunction" {
		t.Errorf("stack policy = %s, want provider.stackPolicy's two statements", got)
	}
}
