package awsapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/local/bus"
	"github.com/nimbusfw/nimbus/internal/local/queue"
	"github.com/nimbusfw/nimbus/internal/local/topic"
)

type rec struct {
	mu    sync.Mutex
	calls map[string][]string
}

func (r *rec) Invoke(ctx context.Context, fn string, p []byte) (*local.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string][]string{}
	}
	r.calls[fn] = append(r.calls[fn], string(p))
	return &local.Result{Payload: []byte("null")}, nil
}

func newServer(t testing.TB) (*Server, *httptest.Server, *rec) {
	st, err := queue.Open(filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	inv := &rec{}
	s := &Server{Queues: st, Region: "us-east-1"}
	s.Topics = &topic.Hub{Invoker: inv, Queues: st}
	pat := bus.NormalizePattern(map[string]any{"source": []any{"app"}})
	s.Bus = &bus.Bus{Invoker: inv, Rules: []*bus.Rule{{Bus: "default", Function: "onEvent", Pattern: pat}}}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	s.BaseURL = hs.URL
	return s, hs, inv
}

func sdkConfig(endpoint string) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("x", "y", ""), BaseEndpoint: aws.String(endpoint)}
}

func TestSQSWithGoSDK(t *testing.T) {
	_, hs, _ := newServer(t)
	ctx := context.Background()
	c := sqs.NewFromConfig(sdkConfig(hs.URL))
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")})
	if err != nil {
		t.Fatal(err)
	}
	cq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"1"}`, "VisibilityTimeout": "0"}})
	if err != nil {
		t.Fatal(err)
	}
	if *cq.QueueUrl != hs.URL+"/000000000000/jobs" {
		t.Errorf("queue url %s", *cq.QueueUrl)
	}
	// The SDK checks MD5OfMessageBody and MD5OfMessageAttributes itself.
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: cq.QueueUrl, MessageBody: aws.String("hello ✓"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"kind": {DataType: aws.String("String"), StringValue: aws.String("greeting")},
			"blob": {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2, 3}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: cq.QueueUrl, Entries: []sqstypes.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")}, {Id: aws.String("b"), MessageBody: aws.String("two")}}})
	if err != nil || len(batch.Successful) != 2 {
		t.Fatalf("batch %v %+v", err, batch)
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 3 || *out.Messages[0].Body != "hello ✓" || *out.Messages[0].MessageAttributes["kind"].StringValue != "greeting" {
		t.Fatalf("received %+v", out.Messages)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: cq.QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	// The other two were received once with visibility 0: the next receive redrives them.
	again, _ := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl, MaxNumberOfMessages: 10})
	if len(again.Messages) != 0 {
		t.Fatalf("expected redrive, got %+v", again.Messages)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "2" {
		t.Fatalf("dlq attributes %v %v", err, attrs)
	}
	if _, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")}); err == nil || !strings.Contains(err.Error(), "QueueDoesNotExist") {
		t.Errorf("missing queue error: %v", err)
	}
	lq, _ := c.ListQueues(ctx, &sqs.ListQueuesInput{})
	if len(lq.QueueUrls) != 2 {
		t.Errorf("list %v", lq.QueueUrls)
	}
	if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: dlq.QueueUrl}); err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, u string, form url.Values) (int, string) {
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

func TestSQSQueryProtocol(t *testing.T) {
	_, hs, _ := newServer(t)
	code, body := post(t, hs.URL, url.Values{"Action": {"CreateQueue"}, "QueueName": {"q"}})
	if code != 200 || !strings.Contains(body, "<QueueUrl>"+hs.URL+"/000000000000/q</QueueUrl>") {
		t.Fatalf("%d %s", code, body)
	}
	code, body = post(t, hs.URL+"/000000000000/q", url.Values{"Action": {"SendMessage"}, "MessageBody": {"hi <there>"},
		"MessageAttribute.1.Name": {"k"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"v"}})
	if code != 200 || !strings.Contains(body, "<MD5OfMessageBody>") || !strings.Contains(body, "<MD5OfMessageAttributes>") {
		t.Fatalf("%d %s", code, body)
	}
	code, body = post(t, hs.URL, url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {hs.URL + "/000000000000/q"}, "MessageAttributeName.1": {"All"}})
	if code != 200 || !strings.Contains(body, "<Body>hi &lt;there&gt;</Body>") || !strings.Contains(body, "<MessageAttribute><Name>k</Name>") {
		t.Fatalf("%d %s", code, body)
	}
	code, body = post(t, hs.URL, url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"nope"}})
	if code != 400 || !strings.Contains(body, "AWS.SimpleQueueService.NonExistentQueue") {
		t.Fatalf("%d %s", code, body)
	}
}

func TestSNSPublishFansOutToQueue(t *testing.T) {
	s, hs, inv := newServer(t)
	s.Queues.Ensure(queue.Config{Name: "sink"})
	_, body := post(t, hs.URL, url.Values{"Action": {"CreateTopic"}, "Name": {"news"}})
	if !strings.Contains(body, "<TopicArn>arn:aws:sns:us-east-1:000000000000:news</TopicArn>") {
		t.Fatal(body)
	}
	post(t, hs.URL, url.Values{"Action": {"Subscribe"}, "TopicArn": {"arn:aws:sns:us-east-1:000000000000:news"}, "Protocol": {"sqs"}, "Endpoint": {"arn:aws:sqs:us-east-1:000000000000:sink"},
		"Attributes.entry.1.key": {"RawMessageDelivery"}, "Attributes.entry.1.value": {"true"}})
	post(t, hs.URL, url.Values{"Action": {"Subscribe"}, "TopicArn": {"arn:aws:sns:us-east-1:000000000000:news"}, "Protocol": {"lambda"}, "Endpoint": {"arn:aws:lambda:us-east-1:000000000000:function:reader"},
		"Attributes.entry.1.key": {"FilterPolicy"}, "Attributes.entry.1.value": {`{"level":["high"]}`}})
	code, body := post(t, hs.URL, url.Values{"Action": {"Publish"}, "TopicArn": {"arn:aws:sns:us-east-1:000000000000:news"}, "Message": {"extra"},
		"MessageAttributes.entry.1.Name": {"level"}, "MessageAttributes.entry.1.Value.DataType": {"String"}, "MessageAttributes.entry.1.Value.StringValue": {"low"}})
	if code != 200 || !strings.Contains(body, "<MessageId>") {
		t.Fatalf("%d %s", code, body)
	}
	s.Topics.Wait()
	q, _ := s.Queues.Queue("sink")
	if b := q.Bodies(); len(b) != 1 || b[0] != "extra" {
		t.Errorf("sink %v", b)
	}
	if len(inv.calls["reader"]) != 0 {
		t.Errorf("filter policy should drop level=low: %v", inv.calls)
	}
}

func TestEventBridgePutEventsWithGoSDK(t *testing.T) {
	s, hs, inv := newServer(t)
	c := eventbridge.NewFromConfig(sdkConfig(hs.URL))
	out, err := c.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("app"), DetailType: aws.String("Thing"), Detail: aws.String(`{"n":1}`)},
		{Source: aws.String("other"), DetailType: aws.String("Thing"), Detail: aws.String(`{}`)},
	}})
	if err != nil || len(out.Entries) != 2 || out.FailedEntryCount != 0 {
		t.Fatalf("%v %+v", err, out)
	}
	s.Bus.Wait()
	if len(inv.calls["onEvent"]) != 1 || !strings.Contains(inv.calls["onEvent"][0], `"detail":{"n":1}`) {
		t.Errorf("calls %v", inv.calls)
	}
}

// FuzzServe throws arbitrary request bodies at every protocol; the server
// must answer (with an error shape) and never panic.
func FuzzServe(f *testing.F) {
	f.Add("AmazonSQS.SendMessage", `{"QueueUrl":"http://x/000000000000/q","MessageBody":"hi","MessageAttributes":{"a":{"DataType":"String","StringValue":"v"}}}`)
	f.Add("", "Action=SendMessageBatch&QueueUrl=q&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=b")
	f.Add("", "Action=Publish&TopicArn=t&Message=m&MessageAttributes.entry.1.Name=n")
	f.Add("AWSEvents.PutEvents", `{"Entries":[{"Source":"s","Detail":"{"}]}`)
	f.Add("AmazonSQS.ReceiveMessage", `{"QueueUrl":"q","MaxNumberOfMessages":10}`)
	s, hs, _ := newServer(f)
	s.Queues.Ensure(queue.Config{Name: "q"})
	s.Topics.Ensure("t")
	f.Fuzz(func(t *testing.T, target, body string) {
		req, _ := http.NewRequest("POST", hs.URL, strings.NewReader(body))
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code == 0 {
			t.Fatal("no answer")
		}
	})
}
