package aws

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const ownedBucket = "team-artifacts"

// namedBucketBundle is testBundle deploying into the user's bucket: v3
// writes no create-stack template then.
func namedBucketBundle(t *testing.T, dir string) *Bundle {
	b := testBundle(t, dir)
	b.Bucket = ownedBucket
	b.CoreTemplate = nil
	return b
}

func TestNamedBucketFirstDeployCreatesTheStackFromTheUploadedTemplate(t *testing.T) {
	cf := &fakeCloudFormation{scripts: [][]step{{
		{status: "CREATE_IN_PROGRESS"},
		{status: "CREATE_COMPLETE", events: []fakeEvent{{"HelloLambdaFunction", "AWS::Lambda::Function", "CREATE_COMPLETE", ""}}},
	}}}
	s3 := newFakeS3(ownedBucket)
	b := namedBucketBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
	res, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, b, DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Bucket != ownedBucket || res.Skipped {
		t.Errorf("result = %+v", res)
	}
	if len(cf.changeSets) != 1 {
		t.Fatalf("change sets = %d, want one CREATE (no core stack first); calls %v", len(cf.changeSets), cf.calls)
	}
	cs := cf.changeSets[0]
	wantURL := "https://s3.amazonaws.com/" + ownedBucket + "/" + b.ArtifactDirectoryName + "/" + CompiledTemplateFile
	if cs.ChangeSetType != "CREATE" || aws.ToString(cs.TemplateURL) != wantURL || cs.TemplateBody != nil {
		t.Errorf("change set %s from URL %q (body %v), want CREATE from %s", cs.ChangeSetType, aws.ToString(cs.TemplateURL), cs.TemplateBody != nil, wantURL)
	}
	// The template must be in the bucket before the stack reads it.
	if got := s3.keys(ownedBucket, b.ArtifactDirectoryName+"/"); len(got) != 3 {
		t.Errorf("uploaded %v", got)
	}
	if strings.Contains(strings.Join(cf.calls, " "), "CreateChangeSet:UPDATE") {
		t.Errorf("calls %v: a new stack needs no update", cf.calls)
	}
}

func TestNamedBucketFailedCreationRemovesItsUpload(t *testing.T) {
	cf := &fakeCloudFormation{scripts: [][]step{{
		{status: "CREATE_IN_PROGRESS"},
		{status: "ROLLBACK_COMPLETE", events: []fakeEvent{{"HelloLambdaFunction", "AWS::Lambda::Function", "CREATE_FAILED", "Resource handler returned message: bad role"}}},
	}}}
	s3 := newFakeS3(ownedBucket)
	_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, namedBucketBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{})
	if err == nil || !strings.Contains(err.Error(), "bad role") {
		t.Fatalf("error = %v, want the resource failure", err)
	}
	if left := s3.keys(ownedBucket, ""); len(left) != 0 {
		t.Errorf("the failed creation left %v in the bucket", left)
	}
}

func TestNamedBucketMustExistInTheServiceRegion(t *testing.T) {
	for _, tc := range []struct {
		name, location, region, want string
	}{
		{"missing", "-", "us-east-1", `provider.deploymentBucket: could not locate deployment bucket "team-artifacts": NoSuchBucket`},
		{"other region", "eu-central-1", "us-east-1", `provider.deploymentBucket: deployment bucket "team-artifacts" is in eu-central-1, but the service deploys to us-east-1`},
		{"EU means eu-west-1", "EU", "eu-west-1", ""},
		{"empty means us-east-1", "", "us-east-1", ""},
		{"empty is not eu-west-1", "", "eu-west-1", `is in us-east-1, but the service deploys to eu-west-1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s3 := newFakeS3()
			if tc.location != "-" {
				s3 = newFakeS3(ownedBucket)
				s3.regions = map[string]string{ownedBucket: tc.location}
			}
			// An existing stack: the check also guards updates.
			cf := existingStack("UPDATE_COMPLETE")
			cf.scripts = [][]step{updateOK}
			b := namedBucketBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
			b.Region = tc.region
			_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, b, DeployOptions{Force: true})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error = %v, want %q", err, tc.want)
			case tc.want != "" && len(s3.puts) > 0:
				t.Errorf("uploaded %v before refusing the bucket", s3.puts)
			}
		})
	}
}

func TestBucketEncryptionGoesOnEveryUploadCopyAndCheck(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK, updateOK}
	s3 := newFakeS3(testBucket)
	c := &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{lastModified: time.Now().Add(time.Hour)}}
	b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
	// Two names for the same bytes: the second is a server-side copy.
	b.Artifacts = append(b.Artifacts, copyOf(t, b.Artifacts[0], "other.zip"))
	b.Encryption = BucketEncryption{ServerSideEncryption: "aws:kms", KMSKeyID: "alias/deploy", CustomerAlgorithm: "AES256", CustomerKey: "0123456789abcdef0123456789abcdef"}
	if _, err := Deploy(context.Background(), c, b, DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	wantKey := base64.StdEncoding.EncodeToString([]byte(b.Encryption.CustomerKey))
	sum := md5.Sum([]byte(b.Encryption.CustomerKey))
	wantMD5 := base64.StdEncoding.EncodeToString(sum[:])
	if len(s3.putInputs) != 3 || len(s3.copyInputs) != 1 {
		t.Fatalf("puts %v, copies %v", s3.puts, s3.copies)
	}
	for _, in := range s3.putInputs {
		if in.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(in.SSEKMSKeyId) != "alias/deploy" ||
			aws.ToString(in.SSECustomerAlgorithm) != "AES256" || aws.ToString(in.SSECustomerKey) != wantKey || aws.ToString(in.SSECustomerKeyMD5) != wantMD5 {
			t.Errorf("PutObject %s encryption: sse %q kms %q sse-c %q key ok %v md5 ok %v", aws.ToString(in.Key), in.ServerSideEncryption,
				aws.ToString(in.SSEKMSKeyId), aws.ToString(in.SSECustomerAlgorithm), aws.ToString(in.SSECustomerKey) == wantKey, aws.ToString(in.SSECustomerKeyMD5) == wantMD5)
		}
	}
	cp := s3.copyInputs[0]
	if cp.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(cp.SSECustomerKey) != wantKey ||
		aws.ToString(cp.CopySourceSSECustomerKey) != wantKey || aws.ToString(cp.CopySourceSSECustomerKeyMD5) != wantMD5 ||
		aws.ToString(cp.CopySourceSSECustomerAlgorithm) != "AES256" {
		t.Errorf("CopyObject is not encrypted like the uploads, or cannot read its SSE-C source")
	}

	// The change check must send the key to read SSE-C objects' metadata.
	s3.heads = nil
	b2 := testBundle(t, "1700000099999-2023-11-14T22:14:59.999Z")
	b2.Artifacts = append(b2.Artifacts, copyOf(t, b2.Artifacts[0], "other.zip"))
	b2.Encryption = b.Encryption
	res, err := Deploy(context.Background(), c, b2, DeployOptions{})
	if err != nil || !res.Skipped {
		t.Fatalf("unchanged redeploy: %+v, %v", res, err)
	}
	if len(s3.heads) == 0 {
		t.Fatal("the change check read no metadata")
	}
	for _, in := range s3.heads {
		if aws.ToString(in.SSECustomerKey) != wantKey || aws.ToString(in.SSECustomerAlgorithm) != "AES256" {
			t.Errorf("HeadObject %s without the SSE-C key", aws.ToString(in.Key))
		}
	}
}

// copyOf writes the bytes of path to a file named name in a new folder.
func copyOf(t *testing.T, path, name string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	twin := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(twin, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return twin
}

func TestNoBucketWarningWithoutANamedBucket(t *testing.T) {
	b := &Bundle{BucketOnlyCreatedSettings: []string{"tags"}}
	if w := unappliedBucketWarning(b); w != "" {
		t.Errorf("the stack's own bucket gets tags through its template, yet: %q", w)
	}
	b.Bucket = ownedBucket
	if w := unappliedBucketWarning(b); !strings.Contains(w, "provider.deploymentBucket.tags apply only to the bucket serverless creates; bucket team-artifacts keeps its own settings") {
		t.Errorf("warning = %q", w)
	}
}

func TestPlanUploadsItsTemplateEncryptedLikeADeploy(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	s3 := newFakeS3(testBucket)
	b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
	b.Encryption = BucketEncryption{ServerSideEncryption: "AES256"}
	plan, err := MakePlan(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Resources) != 1 || len(s3.putInputs) != 1 {
		t.Fatalf("plan %+v after puts %v", plan, s3.puts)
	}
	if got := s3.putInputs[0].ServerSideEncryption; got != s3types.ServerSideEncryptionAes256 {
		t.Errorf("plan template uploaded with encryption %q, want AES256", got)
	}
}

func TestStackWithoutBucketGetsTheCoreBucketBeforeDeploying(t *testing.T) {
	// Deployed earlier into a named bucket: no bucket resource, no output.
	cf := &fakeCloudFormation{exists: true, status: "UPDATE_COMPLETE",
		template: `{"Resources":{"HelloLambdaFunction":{"Type":"AWS::Lambda::Function"}},"Outputs":{"HelloArn":{"Value":"x"}}}`,
		scripts: [][]step{
			{{status: "UPDATE_IN_PROGRESS"}, {status: "UPDATE_COMPLETE", outputs: map[string]string{"ServerlessDeploymentBucketName": testBucket}}},
			updateOK,
		}}
	s3 := newFakeS3(testBucket)
	b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
	b.CoreTemplate = []byte(`{"Resources":{"ServerlessDeploymentBucket":{"Type":"AWS::S3::Bucket"}},"Outputs":{"ServerlessDeploymentBucketName":{"Value":{"Ref":"ServerlessDeploymentBucket"}}}}`)
	rep := &recordingReporter{}
	res, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, b, DeployOptions{Reporter: rep})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bucket != testBucket || len(s3.keys(testBucket, b.ArtifactDirectoryName)) != 3 {
		t.Errorf("deployed into %q: %v", res.Bucket, s3.puts)
	}
	if len(cf.changeSets) != 2 {
		t.Fatalf("change sets %d, want the bucket update then the deploy; calls %v", len(cf.changeSets), cf.calls)
	}
	if !contains(cf.calls, "GetTemplate:Original") {
		t.Errorf("calls %v: the current template is read as submitted (Original)", cf.calls)
	}
	var merged struct {
		Resources map[string]any
		Outputs   map[string]any
	}
	if err := json.Unmarshal([]byte(aws.ToString(cf.changeSets[0].TemplateBody)), &merged); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"HelloLambdaFunction", "ServerlessDeploymentBucket"} {
		if merged.Resources[id] == nil {
			t.Errorf("the bucket update's template lacks resource %s: %v", id, merged.Resources)
		}
	}
	for _, id := range []string{"HelloArn", "ServerlessDeploymentBucketName"} {
		if merged.Outputs[id] == nil {
			t.Errorf("the bucket update's template lacks output %s: %v", id, merged.Outputs)
		}
	}
	if !contains(rep.steps, "Deployment bucket not found: updating stack svc-dev to include it") {
		t.Errorf("steps %q", rep.steps)
	}
}

func TestStackBucketRemovedByHandIsAClearError(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	s3 := newFakeS3() // the stack's bucket is gone
	_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{Force: true})
	want := "the deployment bucket " + testBucket + " of stack svc-dev was removed outside CloudFormation"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want %q", err, want)
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

func TestParseStackTemplateReadsJSONAndYAML(t *testing.T) {
	for name, body := range map[string]string{
		"json": `{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Properties":{"Role":{"Fn::GetAtt":["Role","Arn"]}}}}}`,
		"yaml": "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Role: !GetAtt Role.Arn\n",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseStackTemplate(body)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(got)
			want := `{"Resources":{"Fn":{"Properties":{"Role":{"Fn::GetAtt":["Role","Arn"]}},"Type":"AWS::Lambda::Function"}}}`
			if string(data) != want {
				t.Errorf("parsed %s\nwant   %s", data, want)
			}
		})
	}
	if _, err := parseStackTemplate("- just\n- a list\n"); err == nil {
		t.Error("a list parsed as a template")
	}
}

func FuzzParseStackTemplate(f *testing.F) {
	f.Add(`{"Resources":{}}`)
	f.Add("Resources:\n  A:\n    Type: X\n    Properties:\n      V: !Ref B\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		got, err := parseStackTemplate(body)
		if err == nil && got == nil {
			t.Fatal("nil template without an error")
		}
		if err == nil {
			if _, err := json.Marshal(got); err != nil {
				t.Fatalf("parsed template does not marshal back: %v", err)
			}
		}
	})
}
