package topic

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/local/queue"
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

func policy(t *testing.T, s string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFilterPolicies(t *testing.T) {
	inv := &rec{}
	h := &Hub{Invoker: inv}
	top := h.Ensure("orders")
	top.Subscribe(Subscription{Protocol: "lambda", Endpoint: "all"})
	top.Subscribe(Subscription{Protocol: "lambda", Endpoint: "big", FilterPolicy: policy(t, `{"amount":[{"numeric":[">=",100]}],"kind":[{"prefix":"ord"}]}`)})
	top.Subscribe(Subscription{Protocol: "lambda", Endpoint: "notTest", FilterPolicy: policy(t, `{"env":[{"anything-but":["test"]}],"trace":[{"exists":false}]}`)})
	top.Subscribe(Subscription{Protocol: "lambda", Endpoint: "tagged", FilterPolicy: policy(t, `{"tags":["vip"]}`)})
	top.Subscribe(Subscription{Protocol: "lambda", Endpoint: "body", FilterOnBody: true, FilterPolicy: policy(t, `{"order":{"state":["paid"]}}`)})
	msgs := []Message{
		{Message: `{"order":{"state":"paid"}}`, Attributes: map[string]Attribute{"amount": {Type: "Number", Value: "150"}, "kind": {Type: "String", Value: "order"}, "env": {Type: "String", Value: "prod"}}},
		{Message: "plain", Attributes: map[string]Attribute{"amount": {Type: "Number", Value: "99"}, "kind": {Type: "String", Value: "order"}, "env": {Type: "String", Value: "test"}}},
		{Message: "x", Attributes: map[string]Attribute{"tags": {Type: "String.Array", Value: `["new","vip"]`}, "trace": {Type: "String", Value: "1"}}},
	}
	for _, m := range msgs {
		if _, err := h.Publish(context.Background(), "orders", m); err != nil {
			t.Fatal(err)
		}
	}
	h.Wait()
	want := map[string]int{"all": 3, "big": 1, "notTest": 1, "tagged": 1, "body": 1}
	for fn, n := range want {
		if len(inv.calls[fn]) != n {
			t.Errorf("%s received %d, want %d", fn, len(inv.calls[fn]), n)
		}
	}
	var ev events.SNSEvent
	if err := json.Unmarshal([]byte(inv.calls["big"][0]), &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	if r.EventSource != "aws:sns" || r.SNS.TopicArn != "arn:aws:sns:us-east-1:000000000000:orders" || r.SNS.Message != `{"order":{"state":"paid"}}` || r.SNS.Type != "Notification" {
		t.Errorf("record %+v", r)
	}
	if _, err := h.Publish(context.Background(), "nope", Message{Message: "x"}); err == nil {
		t.Error("publishing to an unknown topic must fail")
	}
}

func TestFanOutToQueues(t *testing.T) {
	st, err := queue.Open(filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw, _ := st.Ensure(queue.Config{Name: "raw"})
	wrapped, _ := st.Ensure(queue.Config{Name: "wrapped"})
	h := &Hub{Invoker: &rec{}, Queues: st}
	top := h.Ensure("t")
	top.Subscribe(Subscription{Protocol: "sqs", Endpoint: "arn:aws:sqs:us-east-1:000000000000:raw", Raw: true})
	top.Subscribe(Subscription{Protocol: "sqs", Endpoint: "wrapped"})
	h.Publish(context.Background(), h.ARN("t"), Message{Message: "hello", Subject: "s", Attributes: map[string]Attribute{"a": {Type: "String", Value: "1"}}})
	if b := raw.Bodies(); len(b) != 1 || b[0] != "hello" {
		t.Errorf("raw queue %v", b)
	}
	b := wrapped.Bodies()
	var env events.SNSEntity
	if len(b) != 1 || json.Unmarshal([]byte(b[0]), &env) != nil || env.Message != "hello" || env.Subject != "s" || env.MessageAttributes["a"] == nil {
		t.Errorf("wrapped queue %v", b)
	}
}
