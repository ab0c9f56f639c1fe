package aws

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	apigwtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// restStageGateway is one REST API "dev-svc" (id api1) with a deployment
// and its dev stage; it records the stage patches it receives.
type restStageGateway struct {
	APIGateway
	mu      sync.Mutex
	patches []string
}

func (g *restStageGateway) GetRestApis(context.Context, *apigateway.GetRestApisInput, ...func(*apigateway.Options)) (*apigateway.GetRestApisOutput, error) {
	return &apigateway.GetRestApisOutput{Items: []apigwtypes.RestApi{{Id: aws.String("api1"), Name: aws.String("dev-svc")}}}, nil
}

func (g *restStageGateway) GetDeployments(context.Context, *apigateway.GetDeploymentsInput, ...func(*apigateway.Options)) (*apigateway.GetDeploymentsOutput, error) {
	return &apigateway.GetDeploymentsOutput{Items: []apigwtypes.Deployment{{Id: aws.String("dep1")}}}, nil
}

func (g *restStageGateway) GetStage(_ context.Context, in *apigateway.GetStageInput, _ ...func(*apigateway.Options)) (*apigateway.GetStageOutput, error) {
	return &apigateway.GetStageOutput{StageName: in.StageName, DeploymentId: aws.String("dep1")}, nil
}

func (g *restStageGateway) UpdateStage(_ context.Context, in *apigateway.UpdateStageInput, _ ...func(*apigateway.Options)) (*apigateway.UpdateStageOutput, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range in.PatchOperations {
		g.patches = append(g.patches, aws.ToString(in.RestApiId)+"/"+aws.ToString(in.StageName)+" "+string(p.Op)+" "+aws.ToString(p.Path)+"="+aws.ToString(p.Value))
	}
	return &apigateway.UpdateStageOutput{}, nil
}

type accountIdentity struct{}

func (accountIdentity) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return &sts.GetCallerIdentityOutput{Account: aws.String("123456789012"), Arn: aws.String("arn:aws:iam::123456789012:user/ci")}, nil
}

// restBundle is testBundle with a REST API, its deployment and an http
// function in the template.
func restBundle(t *testing.T, dir string) *Bundle {
	b := testBundle(t, dir)
	b.Template = []byte(`{"Resources":{
  "HelloLambdaFunction":{"Type":"AWS::Lambda::Function","Properties":{"Code":{"S3Key":"serverless/svc/dev/` + dir + `/svc.zip"}}},
  "ApiGatewayRestApi":{"Type":"AWS::ApiGateway::RestApi","Properties":{"Name":"dev-svc"}},
  "ApiGatewayDeployment` + dir[:13] + `":{"Type":"AWS::ApiGateway::Deployment","Properties":{"RestApiId":{"Ref":"ApiGatewayRestApi"},"StageName":"dev"}}}}`)
	return b
}

func TestSkippedDeployStillUpdatesTheRestAPIStage(t *testing.T) {
	svc := loadTestService(t, t.TempDir(), `service: svc
provider:
  name: aws
  tracing:
    apiGateway: true
functions:
  hello:
    handler: h.hello
    events:
      - http: GET hello
`)
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	api := &restStageGateway{}
	c := &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{lastModified: time.Now().Add(time.Hour)},
		APIGateway: api, STS: accountIdentity{}, Region: "us-east-1"}
	ctx := context.Background()
	if _, err := Deploy(ctx, c, restBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{Service: svc}); err != nil {
		t.Fatal(err)
	}
	want := "api1/dev replace /tracingEnabled=true"
	if strings.Join(api.patches, "\n") != want {
		t.Fatalf("after the deploy, stage patches = %q, want %q", api.patches, want)
	}
	api.patches = nil

	rep := &recordingReporter{}
	res, err := Deploy(ctx, c, restBundle(t, "1700000099999-2023-11-14T22:14:59.999Z"), DeployOptions{Service: svc, Reporter: rep})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Skipped {
		t.Fatalf("unchanged deploy was not skipped: %+v", res)
	}
	if strings.Join(api.patches, "\n") != want {
		t.Errorf("after the skipped deploy, stage patches = %q, want %q", api.patches, want)
	}
	if !strings.Contains(strings.Join(rep.steps, "\n"), "Updating API Gateway stage dev") {
		t.Errorf("steps %q do not report the stage update", rep.steps)
	}
}

func TestSkippedDeployWithoutStageSettingsCallsNoAPIGateway(t *testing.T) {
	svc := loadTestService(t, t.TempDir(), `service: svc
provider:
  name: aws
functions:
  hello:
    handler: h.hello
    events:
      - http: GET hello
`)
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	// No API Gateway or STS client: any stage call would fail the deploy.
	c := &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{lastModified: time.Now().Add(time.Hour)}, Region: "us-east-1"}
	ctx := context.Background()
	for _, dir := range []string{"1700000000000-2023-11-14T22:13:20.000Z", "1700000099999-2023-11-14T22:14:59.999Z"} {
		if _, err := Deploy(ctx, c, restBundle(t, dir), DeployOptions{Service: svc}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStageUpdateFailureAfterASkippedDeploySaysNothingChanged(t *testing.T) {
	svc := loadTestService(t, t.TempDir(), `service: svc
provider:
  name: aws
  logs:
    restApi: true
functions:
  hello:
    handler: h.hello
    events:
      - http: GET hello
`)
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	s3 := newFakeS3(testBucket)
	ctx := context.Background()
	plain := &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{lastModified: time.Now().Add(time.Hour)}}
	if _, err := Deploy(ctx, plain, restBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	// The stage update needs API Gateway and STS; without them it fails.
	_, err := Deploy(ctx, plain, restBundle(t, "1700000099999-2023-11-14T22:14:59.999Z"), DeployOptions{Service: svc})
	if err == nil || !strings.HasPrefix(err.Error(), "stack svc-dev has no changes to deploy, but updating the API Gateway stage") {
		t.Errorf("error = %v", err)
	}
}
