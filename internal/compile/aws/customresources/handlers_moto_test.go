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
