package customresources

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nimbusfw/nimbus/internal/testutil/motoserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	motoserver.Stop()
	os.Exit(code)
}

// sdkModules is where the AWS SDK for JavaScript v3 the handlers import
// lives on this machine (the Lambda runtime provides it in AWS).
func sdkModules(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("..", "..", "..", "..", "tools", "node_modules"))
	if _, err := os.Stat(filepath.Join(dir, "@aws-sdk", "client-s3")); err != nil {
		t.Skip("@aws-sdk/client-s3 not installed under tools/node_modules")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	return dir
}

// cfnResponder stands in for CloudFormation's pre-signed response URL and
// hands back the documents handlers PUT to it.
func cfnResponder(t *testing.T) (url string, responses <-chan map[string]any) {
	t.Helper()
	ch := make(chan map[string]any, 4)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var doc map[string]any
		_ = json.Unmarshal(body, &doc)
		ch <- doc
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/response?signed=1", ch
}

// runHandler invokes a handler the way Lambda would, with moto as AWS.
func runHandler(t *testing.T, endpoint, handler string, event map[string]any) {
	t.Helper()
	ev, _ := json.Marshal(event)
	script := `require('./` + handler + `').handler(` + string(ev) + `, {
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:svc-dev-custom-resource-existing-s3',
  logStreamName: 'test'})`
	cmd := exec.Command("node", "-e", script)
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), append(motoserver.EnvFor(endpoint),
		"NODE_PATH="+sdkModules(t), "AWS_ENDPOINT_URL="+endpoint, "AWS_REGION=us-east-1")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("handler: %v\n%s", err, out)
	}
}

// nodeSetup runs JavaScript against moto with the SDK on NODE_PATH; opts
// holds client options for it.
func nodeSetup(t *testing.T, endpoint, body string) string {
	t.Helper()
	script := "const opts = { region: 'us-east-1', endpoint: process.env.AWS_ENDPOINT_URL, forcePathStyle: true };\n" +
		"(async () => {\n" + body + "\n})().catch((e) => { console.error(e); process.exit(1); });"
	cmd := exec.Command("node", "-e", script)
	cmd.Env = append(os.Environ(), append(motoserver.EnvFor(endpoint), "NODE_PATH="+sdkModules(t), "AWS_ENDPOINT_URL="+endpoint)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s%s", err, out, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// createFunctions creates Lambda functions (and their role) in moto.
const createFunctions = `
const { IAMClient, CreateRoleCommand } = require('@aws-sdk/client-iam');
const { LambdaClient, CreateFunctionCommand } = require('@aws-sdk/client-lambda');
const role = await new IAMClient(opts).send(new CreateRoleCommand({ RoleName: 'fn-role',
  AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }));
for (const name of FUNCTIONS) {
  await new LambdaClient(opts).send(new CreateFunctionCommand({ FunctionName: name, Runtime: 'nodejs18.x',
    Role: role.Role.Arn, Handler: 'h.h', Code: { ZipFile: Buffer.from('PK\x05\x06' + '\0'.repeat(18), 'binary') } }));
}`

// expectResponse waits for the handler's answer to CloudFormation.
func expectResponse(t *testing.T, responses <-chan map[string]any, kind string) {
	t.Helper()
	select {
	case doc := <-responses:
		if doc["Status"] != "SUCCESS" || doc["RequestId"] != "req-"+kind {
			t.Fatalf("%s response: %v", kind, doc)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s response sent to CloudFormation", kind)
	}
}

func customResourceEvent(kind, url, logicalID, typ string, props map[string]any) map[string]any {
	return map[string]any{
		"RequestType": kind, "ResponseURL": url, "StackId": "stack", "RequestId": "req-" + kind,
		"LogicalResourceId": logicalID, "ResourceType": typ, "ResourceProperties": props,
	}
}

func awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region: "us-east-1",
		// Signed requests: moto routes some APIs by the signature's service.
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		}),
		BaseEndpoint: aws.String(endpoint),
	}
}

// TestS3HandlerSubscribesAndUnsubscribesAgainstMoto runs the Custom::S3
// handler's Create and Delete against moto: the function must gain the
// bucket notification and the invoke permission, another subscriber's entry
// must survive, and Delete must take back only what Create added.
func TestS3HandlerSubscribesAndUnsubscribesAgainstMoto(t *testing.T) {
	modules := sdkModules(t)
	endpoint := motoserver.Endpoint(t)
	motoserver.Reset(t)
	url, responses := cfnResponder(t)

	setup := exec.Command("node", "-e", `
const { S3Client, CreateBucketCommand, PutBucketNotificationConfigurationCommand } = require('@aws-sdk/client-s3');
const { IAMClient, CreateRoleCommand } = require('@aws-sdk/client-iam');
const { LambdaClient, CreateFunctionCommand } = require('@aws-sdk/client-lambda');
const opts = { region: 'us-east-1', endpoint: process.env.AWS_ENDPOINT_URL, forcePathStyle: true };
(async () => {
  const s3 = new S3Client(opts);
  await s3.send(new CreateBucketCommand({ Bucket: 'existing-bucket' }));
  const role = await new IAMClient(opts).send(new CreateRoleCommand({ RoleName: 'fn-role',
    AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }));
  const lambda = new LambdaClient(opts);
  for (const name of ['svc-dev-first', 'other-fn']) {
    await lambda.send(new CreateFunctionCommand({ FunctionName: name, Runtime: 'nodejs18.x',
      Role: role.Role.Arn, Handler: 'h.h', Code: { ZipFile: Buffer.from('PK\x05\x06' + '\0'.repeat(18), 'binary') } }));
  }
  await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: 'existing-bucket',
    NotificationConfiguration: { LambdaFunctionConfigurations: [{ Id: 'other-fn-abc',
      LambdaFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:other-fn', Events: ['s3:ObjectRemoved:*'] }] } }));
})().catch((e) => { console.error(e); process.exit(1); });`)
	setup.Env = append(os.Environ(), append(motoserver.EnvFor(endpoint), "NODE_PATH="+modules, "AWS_ENDPOINT_URL="+endpoint)...)
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}

	props := map[string]any{
		"FunctionName": "svc-dev-first",
		"BucketName":   "existing-bucket",
		"BucketConfigs": []any{map[string]any{
			"Event": "s3:ObjectCreated:*", "Rules": []any{map[string]any{"Prefix": "uploads/"}},
		}},
	}
	event := func(kind string) map[string]any {
		return map[string]any{
			"RequestType": kind, "ResponseURL": url, "StackId": "stack", "RequestId": "req-" + kind,
			"LogicalResourceId": "FirstCustomS31", "ResourceType": "Custom::S3", "ResourceProperties": props,
		}
	}
	expectStatus := func(kind string) {
		t.Helper()
		select {
		case doc := <-responses:
			if doc["Status"] != "SUCCESS" || doc["RequestId"] != "req-"+kind {
				t.Fatalf("%s response: %v", kind, doc)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no %s response sent to CloudFormation", kind)
		}
	}

	ctx := context.Background()
	s3c := s3.NewFromConfig(awsConfig(endpoint), func(o *s3.Options) { o.UsePathStyle = true })
	lc := lambda.NewFromConfig(awsConfig(endpoint))

	runHandler(t, endpoint, "s3/handler", event("Create"))
	expectStatus("Create")
	notif, err := s3c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("existing-bucket")})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range notif.LambdaFunctionConfigurations {
		ids = append(ids, aws.ToString(c.Id))
	}
	if len(ids) != 2 || ids[0] != "other-fn-abc" || !strings.HasPrefix(ids[1], "svc-dev-first-") {
		t.Fatalf("after Create, notifications = %v; want the other subscriber kept and ours added", ids)
	}
	policy, err := lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("svc-dev-first")})
	if err != nil {
		t.Fatalf("the function has no resource policy after Create: %v", err)
	}
	if p := aws.ToString(policy.Policy); !strings.Contains(p, "svc-dev-first-existing-bucket") || !strings.Contains(p, "s3.amazonaws.com") {
		t.Errorf("policy lacks the S3 invoke statement: %s", p)
	}

	runHandler(t, endpoint, "s3/handler", event("Delete"))
	expectStatus("Delete")
	notif, err = s3c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("existing-bucket")})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(notif.LambdaFunctionConfigurations); n != 1 || aws.ToString(notif.LambdaFunctionConfigurations[0].Id) != "other-fn-abc" {
		t.Errorf("after Delete, %d notifications remain; want only the other subscriber's", n)
	}
	if policy, err := lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("svc-dev-first")}); err == nil &&
		strings.Contains(aws.ToString(policy.Policy), "svc-dev-first-existing-bucket") {
		t.Errorf("Delete left the invoke permission: %s", aws.ToString(policy.Policy))
	}
}

// TestCognitoHandlerSetsTriggersAgainstMoto attaches a function to an
// existing pool found by name and detaches it again, keeping the pool's own
// settings and other functions' triggers.
func TestCognitoHandlerSetsTriggersAgainstMoto(t *testing.T) {
	endpoint := motoserver.Endpoint(t)
	sdkModules(t)
	motoserver.Reset(t)
	url, responses := cfnResponder(t)
	nodeSetup(t, endpoint, "const FUNCTIONS = ['svc-dev-trigger'];"+createFunctions+`
const { CognitoIdentityProviderClient, CreateUserPoolCommand } = require('@aws-sdk/client-cognito-identity-provider');
await new CognitoIdentityProviderClient(opts).send(new CreateUserPoolCommand({ PoolName: 'legacy-pool',
  MfaConfiguration: 'OFF', LambdaConfig: { PostConfirmation: 'arn:aws:lambda:us-east-1:123456789012:function:other' } }));`)
	props := map[string]any{
		"FunctionName": "svc-dev-trigger", "UserPoolName": "legacy-pool",
		"UserPoolConfigs": []any{map[string]any{"Trigger": "PreSignUp"}, map[string]any{"Trigger": "PreTokenGeneration"}},
	}
	describe := `
const { CognitoIdentityProviderClient, ListUserPoolsCommand, DescribeUserPoolCommand } = require('@aws-sdk/client-cognito-identity-provider');
const c = new CognitoIdentityProviderClient(opts);
const pools = await c.send(new ListUserPoolsCommand({ MaxResults: 10 }));
const pool = await c.send(new DescribeUserPoolCommand({ UserPoolId: pools.UserPools[0].Id }));
console.log(JSON.stringify({ lambda: pool.UserPool.LambdaConfig, mfa: pool.UserPool.MfaConfiguration }));`
	fn := "arn:aws:lambda:us-east-1:123456789012:function:svc-dev-trigger"

	runHandler(t, endpoint, "cognito-user-pool/handler", customResourceEvent("Create", url, "TriggerCustomCognitoUserPool1", "Custom::CognitoUserPool", props))
	expectResponse(t, responses, "Create")
	var got struct {
		Lambda map[string]any
		Mfa    string
	}
	if err := json.Unmarshal([]byte(nodeSetup(t, endpoint, describe)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Lambda["PreSignUp"] != fn || got.Lambda["PreTokenGeneration"] != fn || got.Lambda["PostConfirmation"] == nil || got.Mfa != "OFF" {
		t.Fatalf("after Create: %+v", got)
	}

	runHandler(t, endpoint, "cognito-user-pool/handler", customResourceEvent("Delete", url, "TriggerCustomCognitoUserPool1", "Custom::CognitoUserPool", props))
	expectResponse(t, responses, "Delete")
	got.Lambda = nil
	if err := json.Unmarshal([]byte(nodeSetup(t, endpoint, describe)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Lambda["PreSignUp"] != nil || got.Lambda["PostConfirmation"] == nil {
		t.Errorf("after Delete: %+v; want only the other function's trigger", got)
	}
}

// TestEventBridgeHandlerManagesRuleAgainstMoto creates a rule with its
// target on a bus the handler creates, then removes all three.
func TestEventBridgeHandlerManagesRuleAgainstMoto(t *testing.T) {
	endpoint := motoserver.Endpoint(t)
	sdkModules(t)
	motoserver.Reset(t)
	url, responses := cfnResponder(t)
	nodeSetup(t, endpoint, "const FUNCTIONS = ['svc-dev-listener'];"+createFunctions)
	props := map[string]any{
		"FunctionName": "svc-dev-listener",
		"EventBridgeConfig": map[string]any{
			"RuleName": "svc-dev-listener-rule-1", "State": "ENABLED", "EventBus": "legacy-bus",
			"Pattern": map[string]any{"source": []any{"saas.app"}}, "Input": map[string]any{"key": "value"},
		},
	}
	describe := `
const { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand, ListEventBusesCommand } = require('@aws-sdk/client-eventbridge');
const e = new EventBridgeClient(opts);
const buses = (await e.send(new ListEventBusesCommand({}))).EventBuses.map((b) => b.Name);
let targets = [];
if (buses.includes('legacy-bus')) {
  const r = await e.send(new ListRulesCommand({ EventBusName: 'legacy-bus' }));
  if (r.Rules.length) targets = (await e.send(new ListTargetsByRuleCommand({ Rule: r.Rules[0].Name, EventBusName: 'legacy-bus' }))).Targets;
  console.log(JSON.stringify({ buses, rules: r.Rules.map((x) => x.Name), targets }));
} else console.log(JSON.stringify({ buses, rules: [], targets }));`

	runHandler(t, endpoint, "event-bridge/handler", customResourceEvent("Create", url, "ListenerCustomEventBridge1", "Custom::EventBridge", props))
	expectResponse(t, responses, "Create")
	var got struct {
		Buses, Rules []string
		Targets      []struct{ Id, Arn, Input string }
	}
	if err := json.Unmarshal([]byte(nodeSetup(t, endpoint, describe)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rules) != 1 || got.Rules[0] != "svc-dev-listener-rule-1" || len(got.Targets) != 1 ||
		got.Targets[0].Id != "svc-dev-listener-rule-1-target" || got.Targets[0].Input != `{"key":"value"}` {
		t.Fatalf("after Create: %+v", got)
	}

	runHandler(t, endpoint, "event-bridge/handler", customResourceEvent("Delete", url, "ListenerCustomEventBridge1", "Custom::EventBridge", props))
	expectResponse(t, responses, "Delete")
	got.Rules, got.Targets = nil, nil
	if err := json.Unmarshal([]byte(nodeSetup(t, endpoint, describe)), &got); err != nil {
		t.Fatal(err)
	}
	for _, b := range got.Buses {
		if b == "legacy-bus" {
			t.Errorf("after Delete the bus the handler created remains: %+v", got)
		}
	}
}

// TestAPIGatewayCloudWatchRoleHandlerAgainstMoto points the account-wide
// API Gateway logging role at the role given in the resource properties.
// (moto lacks the AWS managed logging policy, so the path that creates
// serverlessApiGatewayCloudWatchRole cannot run there.)
func TestAPIGatewayCloudWatchRoleHandlerAgainstMoto(t *testing.T) {
	endpoint := motoserver.Endpoint(t)
	sdkModules(t)
	motoserver.Reset(t)
	url, responses := cfnResponder(t)
	roleArn := nodeSetup(t, endpoint, `
const { IAMClient, CreateRoleCommand } = require('@aws-sdk/client-iam');
const role = await new IAMClient(opts).send(new CreateRoleCommand({ RoleName: 'apigw-logs',
  AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }));
console.log(role.Role.Arn);`)
	runHandler(t, endpoint, "api-gateway-cloud-watch-role/handler",
		customResourceEvent("Create", url, "CustomApiGatewayAccountCloudWatchRole", "Custom::ApiGatewayAccountCloudWatchRole",
			map[string]any{"RoleArn": roleArn}))
	expectResponse(t, responses, "Create")
	got := nodeSetup(t, endpoint, `
const { APIGatewayClient, GetAccountCommand } = require('@aws-sdk/client-api-gateway');
console.log((await new APIGatewayClient(opts).send(new GetAccountCommand({}))).cloudwatchRoleArn);`)
	if got != roleArn {
		t.Errorf("account cloudwatchRoleArn = %q, want %q", got, roleArn)
	}
}
