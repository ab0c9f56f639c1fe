package aws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

func init() {
	pollInterval, minPollInterval = time.Millisecond, time.Millisecond
}

const testBucket = "svc-dev-serverlessdeploymentbucket-abc"

// testBundle is a small packaged service with one zip.
func testBundle(t *testing.T, dir string) *Bundle {
	t.Helper()
	zip := filepath.Join(t.TempDir(), "svc.zip")
	if err := os.WriteFile(zip, []byte("zip-bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &Bundle{
		Service: "svc", Stage: "dev", Region: "us-east-1", StackName: "svc-dev", Prefix: "serverless",
		ArtifactDirectoryName: "serverless/svc/dev/" + dir,
		CoreTemplate:          []byte(`{"Resources":{"ServerlessDeploymentBucket":{"Type":"AWS::S3::Bucket"}}}`),
		Template:              []byte(`{"Resources":{"HelloLambdaFunction":{"Type":"AWS::Lambda::Function","Properties":{"Code":{"S3Key":"serverless/svc/dev/` + dir + `/svc.zip"}}}}}`),
		State:                 []byte(`{"service":{"service":"svc","provider":{}},"package":{"artifactDirectoryName":"serverless/svc/dev/` + dir + `"}}`),
		Artifacts:             []string{zip},
		FunctionNames:         []string{"svc-dev-hello"},
	}
}

// recordingReporter keeps what Deploy reports.
type recordingReporter struct {
	steps   []string
	events  []StackEvent
	onEvent func(StackEvent)
}

func (r *recordingReporter) Step(s string) { r.steps = append(r.steps, s) }
func (r *recordingReporter) StackEvent(e StackEvent) {
	r.events = append(r.events, e)
	if r.onEvent != nil {
		r.onEvent(e)
	}
}

func existingStack(status string) *fakeCloudFormation {
	return &fakeCloudFormation{exists: true, status: status, outputs: map[string]string{"ServerlessDeploymentBucketName": testBucket}}
}

var updateOK = []step{
	{status: "UPDATE_IN_PROGRESS", events: []fakeEvent{{"svc-dev", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated"}}},
	{status: "UPDATE_IN_PROGRESS", events: []fakeEvent{{"HelloLambdaFunction", "AWS::Lambda::Function", "UPDATE_IN_PROGRESS", ""}}},
	{status: "UPDATE_COMPLETE", events: []fakeEvent{
		{"HelloLambdaFunction", "AWS::Lambda::Function", "UPDATE_COMPLETE", ""},
		{"svc-dev", "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", ""},
	}},
}

func TestDeployCreatesStackFromCoreTemplateThenUpdates(t *testing.T) {
	cf := &fakeCloudFormation{outputs: map[string]string{"ServerlessDeploymentBucketName": testBucket}, scripts: [][]step{
		{{status: "CREATE_IN_PROGRESS"}, {status: "CREATE_COMPLETE", events: []fakeEvent{{"ServerlessDeploymentBucket", "AWS::S3::Bucket", "CREATE_COMPLETE", ""}}}},
		updateOK,
	}}
	s3 := newFakeS3(testBucket)
	rep := &recordingReporter{}
	res, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{Reporter: rep})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Skipped || res.NoStackUpdate {
		t.Errorf("result = %+v, want created and updated", res)
	}
	calls := strings.Join(cf.calls, " ")
	if !strings.Contains(calls, "CreateChangeSet:CREATE") || !strings.Contains(calls, "CreateChangeSet:UPDATE") || strings.Count(calls, "ExecuteChangeSet") != 2 {
		t.Errorf("calls = %s", calls)
	}
	wantKeys := []string{
		"serverless/svc/dev/1700000000000-2023-11-14T22:13:20.000Z/compiled-cloudformation-template.json",
		"serverless/svc/dev/1700000000000-2023-11-14T22:13:20.000Z/serverless-state.json",
		"serverless/svc/dev/1700000000000-2023-11-14T22:13:20.000Z/svc.zip",
	}
	if got := s3.keys(testBucket, ""); strings.Join(got, ",") != strings.Join(wantKeys, ",") {
		t.Errorf("uploaded %v, want %v", got, wantKeys)
	}
	// The template goes last: a directory without it is incomplete.
	if last := s3.puts[len(s3.puts)-1]; !strings.HasSuffix(last, CompiledTemplateFile) {
		t.Errorf("last upload = %s, want the template", last)
	}
	for _, k := range wantKeys {
		if s3.meta[testBucket][k] == "" {
			t.Errorf("%s has no filesha256 metadata", k)
		}
	}
	var sawUpdate bool
	for _, e := range rep.events {
		sawUpdate = sawUpdate || (e.LogicalID == "HelloLambdaFunction" && e.Status == "UPDATE_COMPLETE")
	}
	if !sawUpdate {
		t.Errorf("events reported = %+v", rep.events)
	}
}

func TestDeploySkipsWhenNothingChanged(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	s3 := newFakeS3(testBucket)
	// Functions changed after the upload: the deploy finished.
	c := &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{lastModified: time.Now().Add(time.Hour)}}
	if _, err := Deploy(context.Background(), c, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	// Same code, a new timestamp: nothing to deploy.
	res, err := Deploy(context.Background(), c, testBundle(t, "1700000099999-2023-11-14T22:14:59.999Z"), DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Skipped {
		t.Fatalf("second deploy of unchanged code was not skipped: %+v", res)
	}
	// --force deploys anyway.
	cf.scripts = [][]step{updateOK}
	res, err = Deploy(context.Background(), c, testBundle(t, "1700000199999-2023-11-14T22:16:39.999Z"), DeployOptions{Force: true})
	if err != nil || res.Skipped {
		t.Fatalf("forced deploy: %+v, %v", res, err)
	}
}

func TestDeployResourceFailureReportsCauseAndKeepsPreviousArtifacts(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{{
		{status: "UPDATE_IN_PROGRESS", events: []fakeEvent{{"svc-dev", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated"}}},
		{status: "UPDATE_IN_PROGRESS", events: []fakeEvent{{"HelloLambdaFunction", "AWS::Lambda::Function", "UPDATE_FAILED", "Resource handler returned message: \"Uploaded file must be a non-empty zip\""}}},
		{status: "UPDATE_ROLLBACK_IN_PROGRESS", events: []fakeEvent{{"svc-dev", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [HelloLambdaFunction]."}}},
		{status: "UPDATE_ROLLBACK_COMPLETE", events: []fakeEvent{{"svc-dev", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", ""}}},
	}}
	s3 := newFakeS3(testBucket)
	previous := "serverless/svc/dev/1600000000000-2020-09-13T12:26:40.000Z/"
	for _, f := range []string{"svc.zip", StateFileName, CompiledTemplateFile} {
		s3.objects[testBucket][previous+f] = []byte("old")
	}
	_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{})
	var sf *StackFailure
	if !errors.As(err, &sf) {
		t.Fatalf("err = %v, want a StackFailure", err)
	}
	if sf.Status != "UPDATE_ROLLBACK_COMPLETE" || len(sf.Failures) != 1 {
		t.Fatalf("failure = %+v", sf)
	}
	f := sf.Failures[0]
	if f.LogicalID != "HelloLambdaFunction" || f.Type != "AWS::Lambda::Function" || !strings.Contains(f.Reason, "non-empty zip") {
		t.Errorf("failure cause = %+v", f)
	}
	for _, want := range []string{"HelloLambdaFunction (AWS::Lambda::Function)", "non-empty zip", "UPDATE_ROLLBACK_COMPLETE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err.Error(), want)
		}
	}
	keys := s3.keys(testBucket, "")
	if len(keys) != 3 || !strings.HasPrefix(keys[0], previous) {
		t.Errorf("after the failure the bucket holds %v, want only the previous deployment", keys)
	}
}

func TestDeployWaitsForABusyStack(t *testing.T) {
	cf := existingStack("UPDATE_IN_PROGRESS")
	// Another deploy is running; it finishes after two more polls.
	cf.running = []step{{status: "UPDATE_IN_PROGRESS"}, {status: "UPDATE_COMPLETE"}}
	cf.scripts = [][]step{updateOK}
	rep := &recordingReporter{}
	res, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}}, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{Reporter: rep})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Created {
		t.Errorf("result = %+v", res)
	}
	if len(rep.steps) == 0 || !strings.Contains(rep.steps[0], "busy (UPDATE_IN_PROGRESS)") {
		t.Errorf("steps = %v, want a busy-stack notice first", rep.steps)
	}
	// The change set comes only after both steps of the running update were
	// observed (the second one ends it).
	create := indexOf(cf.calls, "CreateChangeSet:UPDATE")
	if create < 0 || countOf(cf.calls[:create], "DescribeStacks") < 2 {
		t.Errorf("calls = %v, want the busy stack polled until done before the change set", cf.calls)
	}
}

func TestDeployRefusesAStackItCannotUpdate(t *testing.T) {
	cf := existingStack("ROLLBACK_COMPLETE")
	_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}}, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{})
	if err == nil || !strings.Contains(err.Error(), "ROLLBACK_COMPLETE") || !strings.Contains(err.Error(), "nimbus remove") {
		t.Fatalf("err = %v", err)
	}
	if indexOf(cf.calls, "CreateChangeSet:UPDATE") >= 0 {
		t.Error("a change set was created for an unusable stack")
	}
}

func TestInterruptedDeployIsCarriedOnByTheNextRun(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	long := []step{{status: "UPDATE_IN_PROGRESS", events: []fakeEvent{{"svc-dev", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated"}}}}
	for i := 0; i < 5; i++ {
		long = append(long, step{status: "UPDATE_IN_PROGRESS"})
	}
	long = append(long, step{status: "UPDATE_COMPLETE"})
	cf.scripts = [][]step{long, updateOK}
	s3 := newFakeS3(testBucket)
	c := &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}
	ctx, cancel := context.WithCancel(context.Background())
	rep := &recordingReporter{onEvent: func(StackEvent) { cancel() }} // Ctrl-C at the first event
	_, err := Deploy(ctx, c, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{Reporter: rep})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// CloudFormation carries on; the next run waits for it, then deploys.
	res, err := Deploy(context.Background(), c, testBundle(t, "1700000099999-2023-11-14T22:14:59.999Z"), DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped {
		t.Error("the interrupted deploy's functions never updated, so the next run must deploy")
	}
	if got := cf.status; got != "UPDATE_COMPLETE" {
		t.Errorf("stack status = %s", got)
	}
}

func TestEmptyChangeSetIsDeletedNotExecuted(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.changeSetEmpty = true
	res, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}}, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.NoStackUpdate || indexOf(cf.calls, "ExecuteChangeSet") >= 0 || indexOf(cf.calls, "DeleteChangeSet") < 0 {
		t.Errorf("result %+v, calls %v", res, cf.calls)
	}
}

func TestExpiredCredentialsGiveOneClearLine(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.failCreds = true
	_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}}, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "AWS credentials have expired") {
		t.Fatalf("err = %q", err)
	}
}

func TestRemoveEmptiesBucketAndDeletesStack(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{{{status: "DELETE_IN_PROGRESS"}, {status: "DELETE_COMPLETE"}}}
	s3 := newFakeS3(testBucket)
	s3.objects[testBucket]["serverless/svc/dev/1600000000000-2020-09-13T12:26:40.000Z/svc.zip"] = []byte("x")
	if err := Remove(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, testBundle(t, "x"), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(s3.keys(testBucket, "")); n != 0 {
		t.Errorf("%d objects left", n)
	}
	if cf.exists {
		t.Error("stack still exists")
	}
}

func TestRollbackNeedsAKnownDeploymentWithTemplate(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	s3 := newFakeS3(testBucket)
	s3.objects[testBucket]["serverless/svc/dev/1600000000000-2020-09-13T12:26:40.000Z/svc.zip"] = []byte("x")
	c := &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}
	if _, err := Rollback(context.Background(), c, testBundle(t, "x"), 42, nil); err == nil || !strings.Contains(err.Error(), "no deployment with timestamp 42") {
		t.Errorf("unknown timestamp: %v", err)
	}
	if _, err := Rollback(context.Background(), c, testBundle(t, "x"), 1600000000000, nil); err == nil || !strings.Contains(err.Error(), "has no "+CompiledTemplateFile) {
		t.Errorf("deployment without template: %v", err)
	}
	s3.objects[testBucket]["serverless/svc/dev/1600000000000-2020-09-13T12:26:40.000Z/"+CompiledTemplateFile] = []byte(`{"Resources":{}}`)
	cf.scripts = [][]step{updateOK}
	d, err := Rollback(context.Background(), c, testBundle(t, "x"), 1600000000000, nil)
	if err != nil || d.Timestamp != 1600000000000 {
		t.Fatalf("rollback: %+v %v", d, err)
	}
	if cf.status != "UPDATE_COMPLETE" || indexOf(cf.calls, "ExecuteChangeSet") < 0 {
		t.Errorf("status %s, calls %v", cf.status, cf.calls)
	}
}

func TestParseTimestampAcceptsDatesAndMilliseconds(t *testing.T) {
	for in, want := range map[string]int64{
		"1600000000000":            1600000000000,
		"2020-09-13T12:26:40.000Z": 1600000000000,
		"2020-09-13T12:26:40Z":     1600000000000,
	} {
		if got, err := ParseTimestamp(in); err != nil || got != want {
			t.Errorf("ParseTimestamp(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseTimestamp("yesterday"); err == nil {
		t.Error("ParseTimestamp accepted nonsense")
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestIdenticalZipsAreSentOnce(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	s3 := newFakeS3(testBucket)
	b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
	// Two functions packaged individually with the same content.
	twin := filepath.Join(t.TempDir(), "other.zip")
	if err := os.WriteFile(twin, []byte("zip-bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Artifacts = append(b.Artifacts, twin)
	if _, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, b, DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	zipPuts := 0
	for _, k := range s3.puts {
		if strings.HasSuffix(k, ".zip") {
			zipPuts++
		}
	}
	if zipPuts != 1 || len(s3.copies) != 1 {
		t.Errorf("zip uploads %d, copies %v; want one upload and one server-side copy", zipPuts, s3.copies)
	}
	dir := "serverless/svc/dev/1700000000000-2023-11-14T22:13:20.000Z/"
	for _, k := range []string{dir + "svc.zip", dir + "other.zip"} {
		if string(s3.objects[testBucket][k]) != "zip-bytes" || s3.meta[testBucket][k] == "" {
			t.Errorf("%s missing or without filesha256", k)
		}
	}
}

func TestSuccessfulDeployPrunesOldDeployments(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	s3 := newFakeS3(testBucket)
	for i := 0; i < 6; i++ {
		dir := fmt.Sprintf("serverless/svc/dev/16000000%05d-2020-09-13T12:26:40.000Z/", i)
		s3.objects[testBucket][dir+CompiledTemplateFile] = []byte("{}")
		s3.objects[testBucket][dir+"svc.zip"] = []byte("old")
	}
	// Objects of other services and stages are never touched.
	s3.objects[testBucket]["serverless/svc/prod/1500000000000-2017-07-14T02:40:00.000Z/svc.zip"] = []byte("prod")
	b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
	b.MaxPreviousArtifacts = 3
	if _, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, b, DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, _ := listAll(context.Background(), s3, testBucket, b.ServicePrefix())
	var dirs []string
	for _, d := range groupDeployments(objs) {
		dirs = append(dirs, d.Dir)
	}
	want := []string{
		"serverless/svc/dev/1600000000004-2020-09-13T12:26:40.000Z",
		"serverless/svc/dev/1600000000005-2020-09-13T12:26:40.000Z",
		"serverless/svc/dev/1700000000000-2023-11-14T22:13:20.000Z",
	}
	if strings.Join(dirs, " ") != strings.Join(want, " ") {
		t.Errorf("kept %v, want the newest 3 %v", dirs, want)
	}
	if len(s3.keys(testBucket, "serverless/svc/prod/")) != 1 {
		t.Error("another stage's deployment was pruned")
	}
}

func TestRejectedUpdateRemovesItsUploadOnly(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.rejectUpdate = &smithy.GenericAPIError{Code: "ValidationError", Message: "Template format error: Unresolved resource dependencies [Nope]"}
	s3 := newFakeS3(testBucket)
	previous := "serverless/svc/dev/1600000000000-2020-09-13T12:26:40.000Z/"
	s3.objects[testBucket][previous+CompiledTemplateFile] = []byte("{}")
	_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{})
	if err == nil || !strings.Contains(err.Error(), "Unresolved resource dependencies") {
		t.Fatalf("err = %v", err)
	}
	if keys := s3.keys(testBucket, ""); len(keys) != 1 || keys[0] != previous+CompiledTemplateFile {
		t.Errorf("bucket holds %v, want only the previous deployment", keys)
	}
}
