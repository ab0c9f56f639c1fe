package variables

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/nimbusfw/nimbus/internal/testutil/motoserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	motoserver.Stop()
	os.Exit(code)
}

const motoStackTemplate = `{
  "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "stack-made-bucket"}}},
  "Outputs": {
    "ServiceEndpoint": {"Value": "https://api.example.com/dev"},
    "BucketName": {"Value": {"Ref": "Bucket"}}
  }
}`

// seedMoto creates, through the AWS APIs, what the variables below read.
func seedMoto(t *testing.T) {
	t.Helper()
	motoserver.Setenv(t)
	motoserver.Reset(t)
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	cf := cloudformation.NewFromConfig(cfg)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("shared-infra"), TemplateBody: aws.String(motoStackTemplate)}); err != nil {
		t.Fatalf("create stack: %v", err)
	}
	sm := ssm.NewFromConfig(cfg)
	for name, p := range map[string]Parameter{
		"/svc/dev/name":   {Type: "String", Value: "orders"},
		"/svc/dev/azs":    {Type: "StringList", Value: "us-east-1a,us-east-1b"},
		"/svc/dev/dbpass": {Type: "SecureString", Value: "hunter2"},
		"/svc/dev/creds":  {Type: "SecureString", Value: `{"user":"admin","port":5432}`},
	} {
		if _, err := sm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(p.Value),
			Type: ssmtypes.ParameterType(p.Type)}); err != nil {
			t.Fatalf("put parameter %s: %v", name, err)
		}
	}
	euCfg := cfg.Copy()
	euCfg.Region = "eu-west-1"
	if _, err := ssm.NewFromConfig(euCfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/svc/dev/name"),
		Value: aws.String("orders-eu"), Type: ssmtypes.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("svc-config")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("svc-config"), Key: aws.String("dev/banner.txt"),
		Body: strings.NewReader("hello from s3")}); err != nil {
		t.Fatal(err)
	}
}

// TestRemoteSourcesAgainstMoto resolves every remote source with the real
// aws-sdk-go-v2 client against moto_server.
func TestRemoteSourcesAgainstMoto(t *testing.T) {
	seedMoto(t)
	doc := `
provider:
  region: us-east-1
custom:
  endpoint: ${cf:shared-infra.ServiceEndpoint}
  bucket: ${cf(us-east-1):shared-infra.BucketName}
  missingStack: ${cf:no-such-stack.X, 'fallback'}
  name: ${ssm:/svc/${sls:stage}/name}
  nameEu: ${ssm(eu-west-1):/svc/dev/name}
  azs: ${ssm:/svc/dev/azs}
  azsRaw: ${ssm(raw):/svc/dev/azs}
  dbpass: ${ssm:/svc/dev/dbpass}
  dsn: postgres://admin:${ssm:/svc/dev/dbpass}@db
  creds: ${ssm:/svc/dev/creds}
  missingParam: ${ssm:/svc/dev/nope, 'none'}
  banner: ${s3:svc-config/dev/banner.txt}
  missingObject: ${s3:svc-config/nope.txt, 'no-object'}
  account: ${aws:accountId}
`
	got, ds := resolveYAML(t, doc, Options{AWS: nil, CLIOptions: map[string]string{"stage": "dev"}})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	custom := got.Get("custom")
	want := map[string]string{
		"endpoint": `"https://api.example.com/dev"`, "bucket": `"stack-made-bucket"`, "missingStack": `"fallback"`,
		"name": `"orders"`, "nameEu": `"orders-eu"`, "azs": `["us-east-1a","us-east-1b"]`, "azsRaw": `"us-east-1a,us-east-1b"`,
		"dbpass": `"hunter2"`, "dsn": `"postgres://admin:hunter2@db"`, "creds": `{"user":"admin","port":5432}`,
		"missingParam": `"none"`, "banner": `"hello from s3"`, "missingObject": `"no-object"`, "account": `"123456789012"`,
	}
	for k, w := range want {
		if g := jsonOf(t, custom.Get(k)); g != w {
			t.Errorf("custom.%s = %s, want %s", k, g, w)
		}
	}
	for k, sensitive := range map[string]bool{"dbpass": true, "dsn": true, "creds": true, "name": false, "azs": false} {
		if isSensitive(custom.Get(k)) != sensitive {
			t.Errorf("custom.%s sensitive = %v, want %v", k, !sensitive, sensitive)
		}
	}
}

func TestMissingRemoteValuesFailAgainstMoto(t *testing.T) {
	seedMoto(t)
	_, ds := resolveYAML(t, "a: ${ssm:/svc/dev/nope}\nb: ${cf:no-such-stack.X}\nc: ${s3:svc-config/nope.txt}\n", Options{AWS: nil})
	errs := ds.Errors()
	want := []string{`Value not found at "ssm" source`, `Value not found at "cf" source`, `Value not found at "s3" source`}
	if len(errs) != len(want) {
		t.Fatalf("got %v", ds.Err())
	}
	for i, w := range want {
		if !strings.Contains(errs[i].Summary, w) {
			t.Errorf("error %d = %q, want %q", i, errs[i].Summary, w)
		}
	}
}
