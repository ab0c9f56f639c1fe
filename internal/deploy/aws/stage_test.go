// The stage tests live in the external test package so the end-to-end one
// can deploy through pkg/nimbus, which imports this package.
package aws_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	apigwtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/nimbusfw/nimbus/internal/config"
	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// fakeAPIGateway holds REST APIs with their deployments and stages and
// records every call that changes something.
type fakeAPIGateway struct {
	apis        []apigwtypes.RestApi
	deployments map[string][]string                   // API id → deployment ids
	stages      map[string]*apigateway.GetStageOutput // "api/stage" → stage
	pageSize    int
	calls       []string
	created     []*apigateway.CreateStageInput
	updates     []*apigateway.UpdateStageInput
	tagged      []*apigateway.TagResourceInput
	untagged    []*apigateway.UntagResourceInput
	updateErr   error
}

func (f *fakeAPIGateway) GetRestApis(_ context.Context, in *apigateway.GetRestApisInput, _ ...func(*apigateway.Options)) (*apigateway.GetRestApisOutput, error) {
	f.calls = append(f.calls, "GetRestApis")
	start := 0
	if in.Position != nil {
		start = len(aws.ToString(in.Position))
	}
	end := len(f.apis)
	out := &apigateway.GetRestApisOutput{}
	if f.pageSize > 0 && start+f.pageSize < end {
		end = start + f.pageSize
		out.Position = aws.String(strings.Repeat("p", end))
	}
	out.Items = f.apis[start:end]
	return out, nil
}

func (f *fakeAPIGateway) GetDeployments(_ context.Context, in *apigateway.GetDeploymentsInput, _ ...func(*apigateway.Options)) (*apigateway.GetDeploymentsOutput, error) {
	f.calls = append(f.calls, "GetDeployments")
	out := &apigateway.GetDeploymentsOutput{}
	for _, id := range f.deployments[aws.ToString(in.RestApiId)] {
		out.Items = append(out.Items, apigwtypes.Deployment{Id: aws.String(id)})
	}
	return out, nil
}

func (f *fakeAPIGateway) GetStage(_ context.Context, in *apigateway.GetStageInput, _ ...func(*apigateway.Options)) (*apigateway.GetStageOutput, error) {
	f.calls = append(f.calls, "GetStage")
	if st, ok := f.stages[aws.ToString(in.RestApiId)+"/"+aws.ToString(in.StageName)]; ok {
		return st, nil
	}
	return nil, &apigwtypes.NotFoundException{Message: aws.String("Invalid stage identifier specified")}
}

func (f *fakeAPIGateway) CreateStage(_ context.Context, in *apigateway.CreateStageInput, _ ...func(*apigateway.Options)) (*apigateway.CreateStageOutput, error) {
	f.calls = append(f.calls, "CreateStage")
	f.created = append(f.created, in)
	return &apigateway.CreateStageOutput{}, nil
}

func (f *fakeAPIGateway) UpdateStage(_ context.Context, in *apigateway.UpdateStageInput, _ ...func(*apigateway.Options)) (*apigateway.UpdateStageOutput, error) {
	f.calls = append(f.calls, "UpdateStage")
	f.updates = append(f.updates, in)
	return &apigateway.UpdateStageOutput{}, f.updateErr
}

func (f *fakeAPIGateway) TagResource(_ context.Context, in *apigateway.TagResourceInput, _ ...func(*apigateway.Options)) (*apigateway.TagResourceOutput, error) {
	f.calls = append(f.calls, "TagResource")
	f.tagged = append(f.tagged, in)
	return &apigateway.TagResourceOutput{}, nil
}

func (f *fakeAPIGateway) UntagResource(_ context.Context, in *apigateway.UntagResourceInput, _ ...func(*apigateway.Options)) (*apigateway.UntagResourceOutput, error) {
	f.calls = append(f.calls, "UntagResource")
	f.untagged = append(f.untagged, in)
	return &apigateway.UntagResourceOutput{}, nil
}

// fakeStackResources lists the stack's resources one per page, so paging
// is exercised.
type fakeStackResources struct {
	deployaws.CloudFormation // other calls panic: the stage update must not make them
	resources                map[string]string
	calls                    int
}

func (f *fakeStackResources) ListStackResources(_ context.Context, in *cloudformation.ListStackResourcesInput, _ ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error) {
	f.calls++
	ids := make([]string, 0, len(f.resources))
	for id := range f.resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	i := len(aws.ToString(in.NextToken))
	if i >= len(ids) {
		return &cloudformation.ListStackResourcesOutput{}, nil
	}
	out := &cloudformation.ListStackResourcesOutput{StackResourceSummaries: []cftypes.StackResourceSummary{{
		LogicalResourceId: aws.String(ids[i]), PhysicalResourceId: aws.String(f.resources[ids[i]]),
	}}}
	if i+1 < len(ids) {
		out.NextToken = aws.String(strings.Repeat("n", i+1))
	}
	return out, nil
}

type fakeIdentity struct {
	arn   string
	calls int
}

func (f *fakeIdentity) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	f.calls++
	return &sts.GetCallerIdentityOutput{Account: aws.String("123456789012"), Arn: aws.String(f.arn)}, nil
}

// fakeLogGroups answers DeleteLogGroup as AWS does for a group that was
// never created.
type fakeLogGroups struct {
	deployaws.Logs
	deleted []string
}

func (f *fakeLogGroups) DeleteLogGroup(_ context.Context, in *cloudwatchlogs.DeleteLogGroupInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error) {
	f.deleted = append(f.deleted, aws.ToString(in.LogGroupName))
	return nil, &logstypes.ResourceNotFoundException{Message: aws.String("The specified log group does not exist.")}
}

type stepRecorder struct{ steps []string }

func (r *stepRecorder) Step(msg string)                 { r.steps = append(r.steps, msg) }
func (r *stepRecorder) StackEvent(deployaws.StackEvent) {}

// stageFixture is a deployed stack "shop-dev" whose template holds REST
// API abc123 with one deployment and its stage.
type stageFixture struct {
	api   *fakeAPIGateway
	cf    *fakeStackResources
	who   *fakeIdentity
	logs  *fakeLogGroups
	rep   *stepRecorder
	c     *deployaws.Clients
	stack string
}

func newStageFixture() *stageFixture {
	f := &stageFixture{
		api: &fakeAPIGateway{
			apis:        []apigwtypes.RestApi{{Id: aws.String("abc123"), Name: aws.String("dev-shop")}},
			deployments: map[string][]string{"abc123": {"dep1"}},
			stages:      map[string]*apigateway.GetStageOutput{"abc123/dev": {StageName: aws.String("dev")}},
		},
		cf: &fakeStackResources{resources: map[string]string{
			"ApiGatewayDeployment1700000000000": "dep1",
			"ApiGatewayRestApi":                 "abc123",
			"ApiGatewayResourceItems":           "res1",
		}},
		who:   &fakeIdentity{arn: "arn:aws:iam::123456789012:user/ci"},
		logs:  &fakeLogGroups{},
		rep:   &stepRecorder{},
		stack: "shop-dev",
	}
	f.c = &deployaws.Clients{CloudFormation: f.cf, APIGateway: f.api, STS: f.who, Logs: f.logs, Region: "us-east-1"}
	return f
}

func (f *stageFixture) run(t *testing.T, svc *service.Service, template string) error {
	t.Helper()
	return deployaws.UpdateRestAPIStage(context.Background(), f.c, svc, []byte(template), f.stack, f.rep)
}

// restTemplate is the shape v3 compiles for http events: one RestApi and a
// Deployment referring to it.
const restTemplate = `{"Resources": {
  "ApiGatewayRestApi": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "dev-shop"}},
  "ApiGatewayResourceItems": {"Type": "AWS::ApiGateway::Resource", "Properties": {"RestApiId": {"Ref": "ApiGatewayRestApi"}}},
  "ApiGatewayDeployment1700000000000": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": {"Ref": "ApiGatewayRestApi"}, "StageName": "dev"}}
}}`

const noRestTemplate = `{"Resources": {"ItemsLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": {}}}}`

func stageTestService(t *testing.T, provider, events string) *service.Service {
	t.Helper()
	yml := "service: shop\nprovider:\n  name: aws\n" + provider + "functions:\n  items:\n    handler: h.items\n" + events
	root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return service.New(root, ".", "serverless.yml", map[string]string{"stage": "dev", "region": "us-east-1"})
}

const httpEvent = "    events:\n      - http: GET items\n"

func patchOps(in *apigateway.UpdateStageInput) [][3]string {
	var ops [][3]string
	for _, p := range in.PatchOperations {
		ops = append(ops, [3]string{string(p.Op), aws.ToString(p.Path), aws.ToString(p.Value)})
	}
	return ops
}

func TestStageUpdateAppliesTracingLogsMetricsAndTags(t *testing.T) {
	f := newStageFixture()
	f.api.stages["abc123/dev"].Tags = map[string]string{
		"team": "old", "retired": "yes", "aws:cloudformation:stack-name": "shop-dev",
	}
	svc := stageTestService(t, `  tracing:
    apiGateway: true
  logs:
    restApi: true
  apiGateway:
    metrics: true
  stackTags:
    owner: platform
  tags:
    team: core
    cost: 10
`, httpEvent)
	if err := f.run(t, svc, restTemplate); err != nil {
		t.Fatal(err)
	}
	if len(f.api.updates) != 1 {
		t.Fatalf("UpdateStage calls = %d, want 1 (calls %v)", len(f.api.updates), f.api.calls)
	}
	up := f.api.updates[0]
	if aws.ToString(up.RestApiId) != "abc123" || aws.ToString(up.StageName) != "dev" {
		t.Errorf("UpdateStage on %s/%s, want abc123/dev", aws.ToString(up.RestApiId), aws.ToString(up.StageName))
	}
	wantOps := [][3]string{
		{"replace", "/tracingEnabled", "true"},
		{"replace", "/*/*/metrics/enabled", "true"},
		{"replace", "/accessLogSettings/destinationArn", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/api-gateway/shop-dev"},
		{"replace", "/accessLogSettings/format", "requestId: $context.requestId, ip: $context.identity.sourceIp, caller: $context.identity.caller, user: $context.identity.user, requestTime: $context.requestTime, httpMethod: $context.httpMethod, resourcePath: $context.resourcePath, status: $context.status, protocol: $context.protocol, responseLength: $context.responseLength"},
		{"replace", "/*/*/logging/dataTrace", "true"},
		{"replace", "/*/*/logging/loglevel", "INFO"},
	}
	if got := patchOps(up); !reflect.DeepEqual(got, wantOps) {
		t.Errorf("patch operations:\n got %q\nwant %q", got, wantOps)
	}
	stageARN := "arn:aws:apigateway:us-east-1::/restapis/abc123/stages/dev"
	if len(f.api.tagged) != 1 || aws.ToString(f.api.tagged[0].ResourceArn) != stageARN {
		t.Fatalf("TagResource calls: %+v", f.api.tagged)
	}
	if want := map[string]string{"owner": "platform", "team": "core", "cost": "10"}; !reflect.DeepEqual(f.api.tagged[0].Tags, want) {
		t.Errorf("tags applied = %v, want %v", f.api.tagged[0].Tags, want)
	}
	if len(f.api.untagged) != 1 || !reflect.DeepEqual(f.api.untagged[0].TagKeys, []string{"retired"}) ||
		aws.ToString(f.api.untagged[0].ResourceArn) != stageARN {
		t.Errorf("UntagResource calls: %+v (aws: tags must stay)", f.api.untagged)
	}
	if len(f.api.created) != 0 {
		t.Errorf("created an existing stage: %+v", f.api.created)
	}
	if len(f.logs.deleted) != 0 {
		t.Errorf("deleted the access-log group %v although access logging is on", f.logs.deleted)
	}
	if contains(f.api.calls, "GetRestApis") {
		t.Error("looked the API up by name although the stack holds it")
	}
	if !reflect.DeepEqual(f.rep.steps, []string{"Updating API Gateway stage dev"}) {
		t.Errorf("reported steps %q", f.rep.steps)
	}
}

func TestStageUpdateCreatesMissingStageAndDropsAccessLogGroup(t *testing.T) {
	f := newStageFixture()
	svc := stageTestService(t, `  apiGateway:
    stage: v1
  logs:
    restApi:
      accessLogging: false
      level: ERROR
`, httpEvent)
	if err := f.run(t, svc, restTemplate); err != nil {
		t.Fatalf("a missing log group must not fail the update: %v", err)
	}
	if len(f.api.created) != 1 || aws.ToString(f.api.created[0].StageName) != "v1" ||
		aws.ToString(f.api.created[0].DeploymentId) != "dep1" || aws.ToString(f.api.created[0].RestApiId) != "abc123" {
		t.Fatalf("CreateStage calls: %+v", f.api.created)
	}
	want := [][3]string{
		{"remove", "/accessLogSettings", ""},
		{"replace", "/*/*/logging/dataTrace", "true"},
		{"replace", "/*/*/logging/loglevel", "ERROR"},
	}
	if len(f.api.updates) != 1 || !reflect.DeepEqual(patchOps(f.api.updates[0]), want) || aws.ToString(f.api.updates[0].StageName) != "v1" {
		t.Fatalf("UpdateStage calls: %v", f.api.calls)
	}
	if !reflect.DeepEqual(f.logs.deleted, []string{"/aws/api-gateway/shop-v1"}) {
		t.Errorf("deleted log groups %v", f.logs.deleted)
	}
	if len(f.api.tagged)+len(f.api.untagged) != 0 {
		t.Error("tagged a stage although no tags are configured")
	}
}

func TestStageUpdateLeavesMatchingTagsAlone(t *testing.T) {
	f := newStageFixture()
	f.api.stages["abc123/dev"].Tags = map[string]string{"team": "core", "aws:cloudformation:logical-id": "x"}
	svc := stageTestService(t, "  tags:\n    team: core\n", httpEvent)
	if err := f.run(t, svc, restTemplate); err != nil {
		t.Fatal(err)
	}
	// v3 compares the whole map, aws: tags included, so it re-applies the
	// same tags; it never removes aws: ones.
	if len(f.api.untagged) != 0 || len(f.api.updates) != 0 {
		t.Errorf("calls %v: nothing to patch or untag", f.api.calls)
	}
	if len(f.api.tagged) != 1 || !reflect.DeepEqual(f.api.tagged[0].Tags, map[string]string{"team": "core"}) {
		t.Errorf("TagResource calls: %+v", f.api.tagged)
	}

	f = newStageFixture()
	f.api.stages["abc123/dev"].Tags = map[string]string{"team": "core"}
	if err := f.run(t, svc, restTemplate); err != nil {
		t.Fatal(err)
	}
	if len(f.api.tagged)+len(f.api.untagged)+len(f.api.updates) != 0 {
		t.Errorf("calls %v for a stage already as configured", f.api.calls)
	}
}

func TestStageUpdateSkipsServicesWithoutARestAPI(t *testing.T) {
	cases := map[string]struct{ provider, events, template string }{
		"nothing configured":   {"", httpEvent, restTemplate},
		"tags but no rest api": {"  tags:\n    team: core\n", "", noRestTemplate},
		"external rest api": {"  tracing:\n    apiGateway: true\n  apiGateway:\n    restApiId: ext1\n    restApiRootResourceId: root1\n",
			httpEvent, noRestTemplate},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newStageFixture()
			if err := f.run(t, stageTestService(t, tc.provider, tc.events), tc.template); err != nil {
				t.Fatal(err)
			}
			if len(f.api.calls) != 0 || f.cf.calls != 0 || f.who.calls != 0 || len(f.rep.steps) != 0 {
				t.Errorf("made calls: apigateway %v, stack %d, sts %d, steps %q", f.api.calls, f.cf.calls, f.who.calls, f.rep.steps)
			}
		})
	}
}

func TestStageUpdateFindsARestAPIOutsideTheStackByName(t *testing.T) {
	f := newStageFixture()
	f.who.arn = "arn:aws-cn:iam::123456789012:user/ci"
	f.api.apis = []apigwtypes.RestApi{
		{Id: aws.String("zzz1"), Name: aws.String("other")},
		{Id: aws.String("zzz2"), Name: aws.String("another")},
		{Id: aws.String("abc123"), Name: aws.String("dev-shop")},
	}
	f.api.pageSize = 1
	svc := stageTestService(t, "  tags:\n    team: core\n", httpEvent)
	if err := f.run(t, svc, noRestTemplate); err != nil {
		t.Fatal(err)
	}
	if f.cf.calls != 0 {
		t.Error("listed stack resources although the template holds no REST API")
	}
	if len(f.api.tagged) != 1 || aws.ToString(f.api.tagged[0].ResourceArn) != "arn:aws-cn:apigateway:us-east-1::/restapis/abc123/stages/dev" {
		t.Errorf("TagResource calls: %+v", f.api.tagged)
	}
}

func TestStageUpdateFailsWhenTheRestAPICannotBeResolved(t *testing.T) {
	f := newStageFixture()
	f.api.apis = nil
	svc := stageTestService(t, "  tracing:\n    apiGateway: true\n", httpEvent)
	if err := f.run(t, svc, noRestTemplate); !errors.Is(err, deployaws.ErrRestAPINotResolved) {
		t.Fatalf("err = %v, want ErrRestAPINotResolved", err)
	}

	// Tags alone are no reason to fail: v3 lets them go.
	f = newStageFixture()
	f.api.apis = nil
	if err := f.run(t, stageTestService(t, "  tags:\n    a: b\n", httpEvent), noRestTemplate); err != nil {
		t.Fatal(err)
	}
}

func TestStageUpdateErrorIsOneLine(t *testing.T) {
	f := newStageFixture()
	f.api.updateErr = &smithy.OperationError{ServiceID: "API Gateway", OperationName: "UpdateStage",
		Err: &apigwtypes.BadRequestException{Message: aws.String("Invalid method setting path")}}
	err := f.run(t, stageTestService(t, "  tracing:\n    apiGateway: false\n", httpEvent), restTemplate)
	if err == nil {
		t.Fatal("UpdateStage failure was not reported")
	}
	want := "updating API Gateway stage dev of REST API abc123: BadRequestException: Invalid method setting path"
	if err.Error() != want {
		t.Errorf("err = %q\nwant %q", err, want)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestStageUpdateAgainstMoto deploys a service with an http event through
// Nimbus onto moto and reads the stage back: moto's CloudFormation creates
// the REST API and its stage, and its API Gateway implements GetStage (with
// tags), UpdateStage, TagResource and UntagResource for it. moto has no
// GetTags, which is why the current tags come from GetStage, as in v3.
func TestStageUpdateAgainstMoto(t *testing.T) {
	useDedicatedMoto(t, "deploys to moto")
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("handler.js", "exports.items = async () => ({ statusCode: 200, body: 'ok' });\n")
	yml := func(extra string) string {
		return `service: shop
provider:
  name: aws
  runtime: nodejs20.x
  tracing:
    apiGateway: true
  apiGateway:
    metrics: true
  logs:
    restApi:
      level: ERROR
` + extra + `functions:
  items:
    handler: handler.items
    events:
      - http: GET items
`
	}
	ctx := context.Background()
	deploy := func(extra string) *apigateway.GetStageOutput {
		t.Helper()
		write("serverless.yml", yml(extra))
		rep := &stepRecorder{}
		if _, err := deployDir(ctx, t, dir, nimbus.DeployOptions{NoValidate: true, Force: true, Reporter: rep}); err != nil {
			t.Fatal(err)
		}
		if !contains(rep.steps, "Updating API Gateway stage dev") {
			t.Errorf("steps %q lack the stage update", rep.steps)
		}
		c, err := deployaws.NewClients(ctx, "us-east-1", "")
		if err != nil {
			t.Fatal(err)
		}
		apis, err := c.APIGateway.GetRestApis(ctx, &apigateway.GetRestApisInput{})
		if err != nil || len(apis.Items) != 1 {
			t.Fatalf("REST APIs: %v, %v", apis, err)
		}
		st, err := c.APIGateway.GetStage(ctx, &apigateway.GetStageInput{RestApiId: apis.Items[0].Id, StageName: aws.String("dev")})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	st := deploy("  tags:\n    team: core\n    retired: soon\n")
	if !st.TracingEnabled {
		t.Error("tracing is off")
	}
	ms := st.MethodSettings["*/*"]
	if !ms.MetricsEnabled || !ms.DataTraceEnabled || aws.ToString(ms.LoggingLevel) != "ERROR" {
		t.Errorf("method settings */* = %+v", ms)
	}
	if st.AccessLogSettings == nil || aws.ToString(st.AccessLogSettings.DestinationArn) != "arn:aws:logs:us-east-1:123456789012:log-group:/aws/api-gateway/shop-dev" {
		t.Errorf("access log settings = %+v", st.AccessLogSettings)
	}
	if want := map[string]string{"team": "core", "retired": "soon"}; !reflect.DeepEqual(st.Tags, want) {
		t.Errorf("stage tags = %v, want %v", st.Tags, want)
	}

	st = deploy("  tags:\n    team: web\n")
	if want := map[string]string{"team": "web"}; !reflect.DeepEqual(st.Tags, want) {
		t.Errorf("after redeploy, stage tags = %v, want %v", st.Tags, want)
	}
}
