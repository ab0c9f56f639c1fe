package aws_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	apigwtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// TestSkippedDeployRestoresStageSettingsOnMoto turns the stage's tracing
// off behind the stack's back, then deploys the unchanged service: the
// deploy is skipped, and the stage update that v3 runs after every deploy
// turns tracing back on.
func TestSkippedDeployRestoresStageSettingsOnMoto(t *testing.T) {
	useDedicatedMoto(t, "deploys to moto")
	dir := t.TempDir()
	files := map[string]string{
		"handler.js": "exports.items = async () => ({ statusCode: 200, body: 'ok' });\n",
		"serverless.yml": `service: shop
provider:
  name: aws
  runtime: nodejs20.x
  tracing:
    apiGateway: true
functions:
  items:
    handler: handler.items
    events:
      - http: GET items
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	deploy := func() *nimbus.DeployResult {
		t.Helper()
		res, err := deployDir(ctx, t, dir, nimbus.DeployOptions{NoValidate: true})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := deploy(); res.Skipped {
		t.Fatal("first deploy was skipped")
	}
	c, err := deployaws.NewClients(ctx, "us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	apis, err := c.APIGateway.GetRestApis(ctx, &apigateway.GetRestApisInput{})
	if err != nil || len(apis.Items) != 1 {
		t.Fatalf("REST APIs: %v, %v", apis, err)
	}
	id := apis.Items[0].Id
	tracing := func() bool {
		t.Helper()
		st, err := c.APIGateway.GetStage(ctx, &apigateway.GetStageInput{RestApiId: id, StageName: aws.String("dev")})
		if err != nil {
			t.Fatal(err)
		}
		return st.TracingEnabled
	}
	if !tracing() {
		t.Fatal("tracing is off after the first deploy")
	}
	if _, err := c.APIGateway.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: id, StageName: aws.String("dev"),
		PatchOperations: []apigwtypes.PatchOperation{{Op: apigwtypes.OpReplace, Path: aws.String("/tracingEnabled"), Value: aws.String("false")}}}); err != nil {
		t.Fatal(err)
	}
	if tracing() {
		t.Fatal("moto kept tracing on after turning it off")
	}
	if res := deploy(); !res.Skipped {
		t.Fatalf("unchanged service was deployed again: %+v", res)
	}
	if !tracing() {
		t.Error("tracing stays off after the skipped deploy; v3 turns it back on")
	}
}
