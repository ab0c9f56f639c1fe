package aws

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/service"
)

// compileEventsYAML compiles an inline serverless.yml (no variables).
func compileEventsYAML(t testing.TB, yml string) (*cfn.Template, diag.Diagnostics) {
	t.Helper()
	root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	svc := service.New(root, ".", "serverless.yml", map[string]string{"stage": "dev", "region": "us-east-1"})
	return Compile(Input{
		Service:               svc,
		Artifacts:             packaging.Result{Functions: map[string]string{}, Layers: map[string]string{}},
		ArtifactDirectoryName: "serverless/svc/dev/1700000000000-2023-11-14T22:13:20.000Z",
		InstanceID:            "1700000000000",
	})
}

const eventsHeader = `service: svc
provider:
  name: aws
  runtime: nodejs18.x
functions:
  fn:
    handler: handler.main
    events:
`

// TestEventErrorsPointAtTheSetting covers the configurations serverless v3
// rejects while compiling events: each must become a diagnostic with v3's
// message, the event's key path and the line of the offending setting.
func TestEventErrorsPointAtTheSetting(t *testing.T) {
	cases := []struct {
		name, events, message, path string
		line                        int
	}{
		{
			name: "schedule name with several rates",
			events: `      - schedule:
          rate: [rate(1 hour), rate(2 hours)]
          name: two
`,
			message: "You cannot specify a name when defining more than one rate expression",
			path:    "functions.fn.events[0].schedule.name", line: 11,
		},
		{
			name: "schedule timezone without scheduler",
			events: `      - schedule:
          rate: ['cron(0 1 * * ? *)']
          timezone: Europe/Paris
`,
			message: `"timezone" is only supported with "scheduler" mode`,
			path:    "functions.fn.events[0].schedule.timezone", line: 11,
		},
		{
			name: "s3 intrinsic bucket not marked existing",
			events: `      - s3:
          bucket:
            Ref: Bucket
`,
			message: `you need to specify that the bucket is existing via "existing: true" property`,
			path:    "functions.fn.events[0].s3.bucket", line: 10,
		},
		{
			name: "s3 invalid bucket name",
			events: `      - s3: Not_A_Bucket
`,
			message: "Not_A_Bucket - Bucket name must conform to pattern",
			path:    "functions.fn.events[0].s3", line: 9,
		},
		{
			name: "sns intrinsic arn without topicName",
			events: `      - sns:
          arn:
            Ref: Topic
`,
			message: `Missing "sns.topicName" setting`,
			path:    "functions.fn.events[0].sns.topicName", line: 10,
		},
		{
			name: "stream AT_TIMESTAMP without timestamp",
			events: `      - stream:
          arn: arn:aws:kinesis:us-east-1:1:stream/s
          consumer: true
          startingPosition: AT_TIMESTAMP
`,
			message: "You must specify startingPositionTimestamp for function: fn when startingPosition is AT_TIMESTAMP",
			path:    "functions.fn.events[0].stream.startingPosition", line: 12,
		},
		{
			name: "sqs arn v3 cannot name",
			events: `      - sqs:
          arn:
            Fn::Sub: arn:aws:sqs:us-east-1:1:q
`,
			message: "cannot tell the queue name",
			path:    "functions.fn.events[0].sqs", line: 10,
		},
		{
			name: "kafka subnet without security group",
			events: `      - kafka:
          accessConfigurations:
            vpcSubnet: [subnet-1]
          topic: t
          bootstrapServers: [b:9092]
`,
			message: `You must specify at least one "vpcSecurityGroup" accessConfiguration for function: fn`,
			path:    "functions.fn.events[0].kafka.accessConfigurations", line: 10,
		},
		{
			name: "alb listener arn",
			events: `      - alb:
          listenerArn: arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x
          priority: 1
          conditions:
            path: /
`,
			message: `Invalid ALB listenerArn in function "fn".`,
			path:    "functions.fn.events[0].alb.listenerArn", line: 10,
		},
		{
			name: "cloudwatchLog over the per-group limit",
			events: `      - cloudwatchLog: /aws/lambda/x
      - cloudwatchLog: /aws/lambda/x
      - cloudwatchLog: /aws/lambda/x
`,
			message: "Only 2 subscription filters can be configured per log group.",
			path:    "functions.fn.events[2].cloudwatchLog", line: 11,
		},
		{
			name: "cognito custom sender without KMS key",
			events: `      - cognitoUserPool:
          pool: p
          trigger: CustomSMSSender
`,
			message: "KMS Key must be set when using a Custom Sender Source Trigger",
			path:    "functions.fn.events[0].cognitoUserPool", line: 11,
		},
		{
			name: "existing s3 event on two buckets",
			events: `      - s3: {bucket: one-bucket, existing: true}
      - s3: {bucket: two-bucket, existing: true}
`,
			message: `Only one S3 Bucket can be configured per function. In "svc-dev-fn" you're attempting to configure "one-bucket" and "two-bucket" at the same time.`,
			path:    "functions.fn.events[1].s3.bucket", line: 10,
		},
		{
			name: "eventBridge retry policy on custom resources",
			events: `      - eventBridge:
          pattern: {source: [x]}
          retryPolicy: {maximumRetryAttempts: 1}
`,
			message: "Configuring RetryPolicy is not supported for EventBridge integration backed by Custom Resources",
			path:    "functions.fn.events[0].eventBridge.retryPolicy", line: 11,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			yml := eventsHeader + tc.events
			if strings.Contains(tc.name, "custom resources") {
				yml = strings.Replace(yml, "  runtime: nodejs18.x\n", "  runtime: nodejs18.x\n  eventBridge: {useCloudFormation: false}\n", 1)
			}
			_, ds := compileEventsYAML(t, yml)
			errs := ds.Errors()
			if len(errs) != 1 {
				t.Fatalf("want one error, got %v", ds)
			}
			d := errs[0]
			if !strings.Contains(d.Summary, tc.message) {
				t.Errorf("message %q does not contain %q", d.Summary, tc.message)
			}
			if d.Path != tc.path {
				t.Errorf("path = %q, want %q", d.Path, tc.path)
			}
			wantLine := tc.line
			if strings.Contains(tc.name, "custom resources") {
				wantLine++
			}
			explained := map[string]bool{"s3 invalid bucket name": true, "s3 intrinsic bucket not marked existing": true,
				"schedule name with several rates": true, "sns intrinsic arn without topicName": true, "existing s3 event on two buckets": true}
			if explained[tc.name] && d.Detail == "" {
				t.Error("this error must say how to fix it (Detail)")
			}
			if d.Pos.Line != wantLine {
				t.Errorf("line = %d, want %d (%s)", d.Pos.Line, wantLine, d.Pos)
			}
		})
	}
}

func TestForceDeployStampsTheCustomResource(t *testing.T) {
	defer func(orig func() int64) { forceDeployMillis = orig }(forceDeployMillis)
	forceDeployMillis = func() int64 { return 1234 }
	tmpl, ds := compileEventsYAML(t, eventsHeader+`      - s3: {bucket: old-bucket, existing: true, forceDeploy: true}
`)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	props := tmpl.Resource("FnCustomS31")["Properties"].(map[string]any)
	if props["ForceDeploy"] != int64(1234) {
		t.Errorf("ForceDeploy = %v, want the deploy time", props["ForceDeploy"])
	}
	if !UsesCustomResources(tmpl) {
		t.Error("UsesCustomResources must report the S3 handler")
	}
}

func TestCustomResourcesArtifactWrittenOnlyWhenUsed(t *testing.T) {
	dir := t.TempDir()
	plain, ds := compileEventsYAML(t, eventsHeader+"      - s3: new-bucket-here\n")
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if path, err := WriteCustomResourcesArtifact(dir, plain); err != nil || path != "" {
		t.Fatalf("a template without custom resources needs no zip: %q, %v", path, err)
	}
	existing, ds := compileEventsYAML(t, eventsHeader+"      - s3: {bucket: old-bucket, existing: true}\n")
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	path, err := WriteCustomResourcesArtifact(dir, existing)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || filepath.Base(path) != "custom-resources.zip" {
		t.Fatalf("zip not written: %q, %v", path, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	handler := existing.Resource(CustomResourceFunctionLogicalIDOf(CustomResourceS3))["Properties"].(map[string]any)["Handler"].(string)
	file := strings.TrimSuffix(handler, ".handler") + ".js"
	found := false
	for _, f := range zr.File {
		found = found || f.Name == file
	}
	if !found {
		t.Errorf("the zip lacks %s, the file the template's Handler %q loads", file, handler)
	}
}

func TestCustomResourcesFollowDeploymentSettings(t *testing.T) {
	tmpl, ds := compileEventsYAML(t, strings.Replace(eventsHeader, "  runtime: nodejs18.x\n",
		"  runtime: nodejs18.x\n  deploymentBucket: {name: my-deploys}\n  iam: {deploymentRole: arn:aws:iam::1:role/deployer}\n  logs: {frameworkLambda: true}\n  logRetentionInDays: 7\n", 1)+
		`      - s3: {bucket: old-bucket, existing: true}
`)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	fn := tmpl.Resource(CustomResourceFunctionLogicalIDOf(CustomResourceS3))
	props := fn["Properties"].(map[string]any)
	if code := props["Code"].(map[string]any); code["S3Bucket"] != "my-deploys" {
		t.Errorf("S3Bucket = %v, want the configured deployment bucket", code["S3Bucket"])
	}
	if props["Role"] != "arn:aws:iam::1:role/deployer" {
		t.Errorf("Role = %v, want the deployment role", props["Role"])
	}
	if tmpl.Resource(CustomResourcesRoleLogicalID) != nil {
		t.Error("no custom-resources role may be created when a deployment role is given")
	}
	lg := tmpl.Resource("CustomDashresourceDashexistingDashs3LogGroup")
	if lg == nil || lg["Properties"].(map[string]any)["RetentionInDays"] != int64(7) {
		t.Errorf("frameworkLambda logs need a log group with the retention: %v", lg)
	}
	if deps := fn["DependsOn"].([]any); len(deps) != 1 || deps[0] != "CustomDashresourceDashexistingDashs3LogGroup" {
		t.Errorf("DependsOn = %v", deps)
	}
}

func TestALBHealthCheckCannotBeDisabledAndSaysSo(t *testing.T) {
	tmpl, ds := compileEventsYAML(t, eventsHeader+`      - alb:
          listenerArn: arn:aws:elasticloadbalancing:us-east-1:1:listener/app/a/b/c
          priority: 1
          healthCheck:
            enabled: false
          conditions:
            path: /
`)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	tg := tmpl.Resource(AlbTargetGroupLogicalID("fn", "b", false))
	if tg["Properties"].(map[string]any)["HealthCheckEnabled"] != true {
		t.Errorf("v3 keeps health checks on: %v", tg)
	}
	w := ds.Warnings()
	if len(w) != 1 || w[0].Path != "functions.fn.events[0].alb.healthCheck.enabled" || w[0].Pos.Line != 13 {
		t.Errorf("want one warning at the enabled setting, got %v", w)
	}
}

func TestLodashMergeKeepsUnsetValuesAndMergesArraysByIndex(t *testing.T) {
	dst := map[string]any{"a": []any{"x", "y"}, "b": map[string]any{"c": 1}, "keep": true}
	got := lodashMergeValue(dst, map[string]any{"a": []any{"z"}, "b": map[string]any{"d": 2}, "keep": nil}).(map[string]any)
	if a := got["a"].([]any); len(a) != 2 || a[0] != "z" || a[1] != "y" {
		t.Errorf("arrays merge index by index: %v", a)
	}
	if b := got["b"].(map[string]any); b["c"] != 1 || b["d"] != 2 {
		t.Errorf("maps merge key by key: %v", b)
	}
	if got["keep"] != true {
		t.Error("undefined must not overwrite")
	}
}

func TestCommonLogGroupPrefix(t *testing.T) {
	for _, tc := range []struct {
		groups []string
		want   string
	}{
		{[]string{"/aws/lambda/a"}, "/aws/lambda/a"},
		{[]string{"/aws/lambda/abc", "/aws/lambda/abd"}, "/aws/lambda/ab*"},
		{[]string{"/aws/x*", "/aws/x*"}, "/aws/x*"},
		{[]string{"/one", "/two/longer"}, "/*"},
	} {
		if got := commonLogGroupPrefix(tc.groups); got != tc.want {
			t.Errorf("commonLogGroupPrefix(%v) = %q, want %q", tc.groups, got, tc.want)
		}
	}
}

func TestValidBucketName(t *testing.T) {
	for name, want := range map[string]bool{
		"my-bucket": true, "a.b.c": true, "192.168.1.1": false, "Upper": false,
		"-leading": false, "trailing-": false, "x": true, "a..b": false,
	} {
		if got := validBucketName(name); got != want {
			t.Errorf("validBucketName(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzEventCompilers feeds arbitrary event values to every compiler: bad
// input must turn into diagnostics, never a panic.
func FuzzEventCompilers(f *testing.F) {
	for _, seed := range []string{
		"schedule: rate(1 hour)", "schedule: {rate: [cron(1 2 3 4 5 6)], input: {body: '{'}}",
		"sqs: {arn: {Fn::Join: [':', []]}}", "sns: {arn: {Ref: X}, topicName: t, redrivePolicy: {deadLetterTargetArn: x}}",
		"s3: {bucket: b, rules: [{prefix: a}, 3]}", "s3: {bucket: {Ref: B}, existing: true}",
		"stream: {arn: x, destinations: {onFailure: {arn: {Ref: Q}}}}", "stream: {arn: {Ref: S}, type: kinesis, consumer: true}",
		"iot: {sql: 1}", "iotFleetProvisioning: {templateBody: [1]}", "alexaSkill: {appId: 1}",
		"alexaSmartHome: x", "cloudwatchEvent: {event: {a: '\"'}, input: 'q\"'}", "cloudwatchLog: {logGroup: '\"'}",
		"cognitoUserPool: {pool: p, trigger: CustomSMSSender, kmsKeyId: k, existing: true}",
		"eventBridge: {eventBus: {Fn::GetAtt: [B, Name]}, input: [1]}", "alb: {listenerArn: {Ref: L}, priority: x, conditions: {header: 1}}",
		"kafka: {accessConfigurations: {saslPlainAuth: 1}, topic: t}", "msk: {arn: {Ref: C}}",
		"activemq: {queue: [1]}", "rabbitmq: null",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, event string) {
		yml := eventsHeader + "      - " + event + "\n"
		root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
		if ds.HasErrors() || root == nil {
			return
		}
		svc := service.New(root, ".", "serverless.yml", map[string]string{"stage": "dev", "region": "us-east-1"})
		Compile(Input{Service: svc, Artifacts: packaging.Result{Functions: map[string]string{}, Layers: map[string]string{}}})
	})
}
