package lift

import (
	"context"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// The IDs are the ones serverless-lift 1.37 (CDK) wrote for the corpus
// services aws-node-sqs-worker and aws-node-s3-file-replicator.
func TestLogicalIDFollowsCDK(t *testing.T) {
	cases := map[string][]string{
		"jobsQueueCEDBAE3E":              {"jobs", "Queue", "Resource"},
		"jobsDlqD18CF374":                {"jobs", "Dlq", "Resource"},
		"jobsQueueArnA5A2FF7E":           {"jobs", "QueueArn"},
		"jobsDlqUrl2C7FA9D4":             {"jobs", "DlqUrl"},
		"inputBucket1FA6A642":            {"inputBucket", "Bucket", "Resource"},
		"inputBucketPolicy6790AA37":      {"inputBucket", "Bucket", "Policy", "Resource"},
		"outputBucketBucketName7210C267": {"outputBucket", "BucketName"},
		"single":                         {"sin-gle"},
	}
	for want, path := range cases {
		if got := LogicalID(path...); got != want {
			t.Errorf("LogicalID(%v) = %s, want %s", path, got, want)
		}
	}
}

func parse(t *testing.T, doc string) *config.Node {
	t.Helper()
	root, ds := config.Parse("serverless.yml", []byte(doc), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return root
}

func TestSourceChecksConstructAndProperty(t *testing.T) {
	l := New(parse(t, "constructs:\n  jobs:\n    type: queue\n    worker: {handler: h.h}\n"))
	n, err := l.Source(context.Background(), nil, "jobs.queueUrl")
	if err != nil || !HasToken(n.Scalar()) {
		t.Fatalf("jobs.queueUrl: %v %v", n, err)
	}
	if _, err := l.Source(context.Background(), nil, "nope.queueUrl"); err == nil || !strings.Contains(err.Error(), "No construct named 'nope'") {
		t.Errorf("unknown construct: %v", err)
	}
	if _, err := l.Source(context.Background(), nil, "jobs.bucketName"); err == nil || !strings.Contains(err.Error(), "queueUrl, queueArn, dlqUrl, dlqArn") {
		t.Errorf("unknown property: %v", err)
	}
}

func TestExpandReplacesTokens(t *testing.T) {
	root := parse(t, "service: s\nconstructs:\n  files:\n    type: storage\nprovider: {name: aws}\ncustom:\n  whole: x\n  text: x\n")
	l := New(root)
	whole, _ := l.Source(context.Background(), nil, "files.bucketName")
	inText, _ := l.Source(context.Background(), nil, "files.bucketArn")
	root.Lookup("custom").Set("whole", whole)
	root.Lookup("custom").Set("text", config.NewString("arn="+inText.Scalar()+"/*", diag.Pos{}))
	initial, ds := l.Expand(root, "dev")
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	got, _ := root.Get("custom").MarshalJSON()
	bucket := LogicalID("files", "Bucket", "Resource")
	// Inside text, lift's plain string concatenation stringifies the
	// value object (checked against lift in the lift-queue-options golden
	// case); Nimbus does the same and warns at the value.
	want := `{"whole":{"Ref":"` + bucket + `"},"text":"arn=[object Object]/*"}`
	if string(got) != want {
		t.Errorf("custom = %s\nwant     %s", got, want)
	}
	if len(ds) != 1 || ds[0].Severity != diag.Warning || ds[0].Path != "custom.text" {
		t.Errorf("want one warning at custom.text, got %v", ds)
	}
	if !HasToken(initial.Lookup("custom", "whole").Scalar()) {
		t.Errorf("initial config lost its token: %s", initial.Lookup("custom", "whole").Scalar())
	}
	st := root.Lookup("provider", "iamRoleStatements")
	if st == nil || len(st.Items) != 1 || len(st.Items[0].Get("Action").Items) != len(storageIAMActions) {
		t.Errorf("storage permissions not appended: %v", st)
	}
}

func TestExpandRejectsUnknownTypeAtItsPosition(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  hook:\n    type: vpcs\n")
	_, ds := New(root).Expand(root, "dev")
	if !ds.HasErrors() {
		t.Fatal("no error for an unknown construct type")
	}
	d := ds[0]
	if d.Path != "constructs.hook.type" || d.Pos.Line != 5 || d.Pos.Col != 11 || !strings.Contains(d.Summary, "'vpcs'") || !strings.Contains(d.Detail, "queue, storage") {
		t.Errorf("diagnostic = %+v", d)
	}
}

func TestQueueWorkerGetsItsEventAndVisibility(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  jobs:\n    type: queue\n    maxBatchingWindow: 5\n    batchSize: 20\n    worker: {handler: h.h, timeout: 10}\n")
	l := New(root)
	if _, ds := l.Expand(root, "prod"); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	l.AddResources(root)
	ev := root.Lookup("functions", "jobsWorker", "events")
	got, _ := ev.MarshalJSON()
	want := `[{"sqs":{"arn":{"Fn::GetAtt":["jobsQueueCEDBAE3E","Arn"]},"batchSize":20,"maximumBatchingWindow":5,"functionResponseType":"ReportBatchItemFailures"}}]`
	if string(got) != want {
		t.Errorf("events = %s\nwant     %s", got, want)
	}
	q := root.Lookup("resources", "Resources", "jobsQueueCEDBAE3E", "Properties")
	if vt, _ := q.Get("VisibilityTimeout").Int(); vt != 65 {
		t.Errorf("VisibilityTimeout = %d, want 10*6+5", vt)
	}
	if name := q.Get("QueueName").Scalar(); name != "s-prod-jobs" {
		t.Errorf("QueueName = %s", name)
	}
}

func TestNoConstructsLeaveProviderUntouched(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nconstructs: {}\n")
	if _, ds := New(root).Expand(root, "dev"); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if root.Lookup("provider", "iamRoleStatements") != nil {
		t.Errorf("provider.iamRoleStatements added without any construct")
	}
}

func TestPropertyOfConstructWhoseTypeIsAVariable(t *testing.T) {
	// The variable's source cannot know the type yet; Expand reports the
	// property once the construct is built.
	raw := parse(t, "constructs:\n  files:\n    type: ${self:custom.kind}\n")
	l := New(raw)
	good, err := l.Source(context.Background(), nil, "files.bucketName")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := l.Source(context.Background(), nil, "files.queueUrl")
	if err != nil {
		t.Fatal(err)
	}
	root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  files:\n    type: storage\ncustom: {a: x, b: y}\n")
	root.Lookup("custom").Set("a", good)
	root.Lookup("custom").Set("b", bad)
	_, ds := l.Expand(root, "dev")
	if len(ds) != 1 || ds[0].Path != "custom.b" || !strings.Contains(ds[0].Summary, "files.queueUrl") {
		t.Fatalf("want one error at custom.b, got %v", ds)
	}
	if root.Lookup("custom", "a").Kind != config.Map {
		t.Errorf("custom.a not resolved: %v", root.Lookup("custom", "a").Scalar())
	}
}

func TestFifoFalseWarnsAndKeepsLiftOutput(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  q:\n    type: queue\n    fifo: false\n    worker: {handler: h.h}\n")
	l := New(root)
	_, ds := l.Expand(root, "dev")
	if ds.HasErrors() || len(ds) != 1 || ds[0].Path != "constructs.q.fifo" || ds[0].Pos.Line != 6 {
		t.Fatalf("want one warning at constructs.q.fifo, got %v", ds)
	}
	l.AddResources(root)
	props := root.Lookup("resources", "Resources", LogicalID("q", "Queue", "Resource"), "Properties")
	if props.Get("ContentBasedDeduplication") == nil || props.Get("FifoQueue") != nil {
		t.Errorf("queue properties %v, want lift's ContentBasedDeduplication and no FifoQueue", props.Keys())
	}
}
