package queue

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/nimbusfw/nimbus/internal/local"
)

// fakeTime lets tests move the store's clock.
type fakeTime struct{ ms atomic.Int64 }

func (f *fakeTime) now() time.Time          { return time.UnixMilli(f.ms.Load()) }
func (f *fakeTime) advance(d time.Duration) { f.ms.Add(d.Milliseconds()) }

func openStore(t *testing.T, path string) (*Store, *fakeTime) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTime{}
	ft.ms.Store(1_700_000_000_000)
	s.Now = ft.now
	return s, ft
}

func TestVisibilityAndDelete(t *testing.T) {
	s, ft := openStore(t, filepath.Join(t.TempDir(), "q.db"))
	defer s.Close()
	q, _ := s.Ensure(Config{Name: "jobs", VisibilityTimeout: 30 * time.Second})
	q.Send(SendInput{Body: "a"}, SendInput{Body: "b"})
	got, _ := q.Receive(context.Background(), 1, 0, 0)
	if len(got) != 1 || got[0].Body != "a" || got[0].ReceiveCount != 1 {
		t.Fatalf("first receive %+v", got)
	}
	got2, _ := q.Receive(context.Background(), 10, 0, 0)
	if len(got2) != 1 || got2[0].Body != "b" {
		t.Fatalf("a is in flight, only b is visible: %+v", got2)
	}
	if again, _ := q.Receive(context.Background(), 10, 0, 0); len(again) != 0 {
		t.Fatalf("everything is in flight: %+v", again)
	}
	ft.advance(31 * time.Second)
	again, _ := q.Receive(context.Background(), 10, 0, 0)
	if len(again) != 2 || again[0].ReceiveCount != 2 {
		t.Fatalf("both reappear after the timeout: %+v", again)
	}
	if errs := q.Delete(got[0].ReceiptHandle); errs[0] != nil {
		t.Fatalf("an old receipt handle still deletes in SQS: %v", errs[0])
	}
	q.Delete(again[0].ReceiptHandle, again[1].ReceiptHandle)
	if v, f, d := q.Counts(); v+f+d != 0 {
		t.Fatalf("left: %d %d %d", v, f, d)
	}
	if errs := q.Delete("garbage"); errs[0] != ErrBadReceipt {
		t.Fatalf("malformed receipt: %v", errs[0])
	}
}

func TestRedriveToDLQ(t *testing.T) {
	s, ft := openStore(t, filepath.Join(t.TempDir(), "q.db"))
	defer s.Close()
	s.Ensure(Config{Name: "dlq"})
	q, _ := s.Ensure(Config{Name: "work", VisibilityTimeout: time.Second, DeadLetter: "dlq", MaxReceiveCount: 2})
	q.Send(SendInput{Body: "poison", Attributes: map[string]Attribute{"k": {DataType: "String", StringValue: "v"}}})
	for i := 0; i < 2; i++ {
		got, _ := q.Receive(context.Background(), 1, 0, 0)
		if len(got) != 1 {
			t.Fatalf("receive %d: %v", i+1, got)
		}
		ft.advance(2 * time.Second)
	}
	if got, _ := q.Receive(context.Background(), 1, 0, 0); len(got) != 0 {
		t.Fatalf("third receive should redrive, got %+v", got)
	}
	dlq, _ := s.Queue("dlq")
	if b := dlq.Bodies(); len(b) != 1 || b[0] != "poison" {
		t.Fatalf("dlq holds %v", b)
	}
	got, _ := dlq.Receive(context.Background(), 1, 0, 0)
	if got[0].Attributes["k"].StringValue != "v" {
		t.Fatalf("attributes lost on redrive: %+v", got[0])
	}
}

func TestMessagesSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s, _ := openStore(t, path)
	q, _ := s.Ensure(Config{Name: "durable"})
	for i := 0; i < 5; i++ {
		q.Send(SendInput{Body: string(rune('a' + i))})
	}
	got, _ := q.Receive(context.Background(), 2, 0, 0) // in flight at "crash"
	q.Delete(got[0].ReceiptHandle)
	s.Close()

	s2, _ := openStore(t, path)
	defer s2.Close()
	q2, err := s2.Queue("durable")
	if err != nil {
		t.Fatal(err)
	}
	all, _ := q2.Receive(context.Background(), 10, 0, 0)
	var bodies []string
	for _, m := range all {
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, "") != "bcde" {
		t.Fatalf("after reopen: %v (b was in flight and must come back; a was deleted)", bodies)
	}
	if all[0].ReceiveCount != 2 {
		t.Errorf("receive count not persisted: %d", all[0].ReceiveCount)
	}
	q2.Send(SendInput{Body: "f"})
	if m, _ := q2.Receive(context.Background(), 1, 0, 0); m[0].Seq <= all[len(all)-1].Seq {
		t.Errorf("sequence restarted after reopen: %d", m[0].Seq)
	}
}

func TestFIFOGroupsAndDedup(t *testing.T) {
	s, _ := openStore(t, filepath.Join(t.TempDir(), "q.db"))
	defer s.Close()
	q, _ := s.Ensure(Config{Name: "orders.fifo", ContentDedup: true})
	if _, err := q.Send(SendInput{Body: "x"}); err != ErrMissingGroup {
		t.Fatalf("missing group: %v", err)
	}
	q.Send(SendInput{Body: "g1-1", GroupID: "g1"}, SendInput{Body: "g1-2", GroupID: "g1"}, SendInput{Body: "g2-1", GroupID: "g2"}, SendInput{Body: "g1-1", GroupID: "g1"})
	got, _ := q.Receive(context.Background(), 10, 0, 0)
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, ",") != "g1-1,g2-1" {
		t.Fatalf("one message per group in flight, duplicate dropped: %v", bodies)
	}
	q.Delete(got[0].ReceiptHandle)
	next, _ := q.Receive(context.Background(), 10, 0, 0)
	if len(next) != 1 || next[0].Body != "g1-2" {
		t.Fatalf("g1 continues in order: %+v", next)
	}
}

func TestLongPollWakesOnSend(t *testing.T) {
	s, _ := openStore(t, filepath.Join(t.TempDir(), "q.db"))
	defer s.Close()
	q, _ := s.Ensure(Config{Name: "lp"})
	done := make(chan []*Message)
	go func() {
		m, _ := q.Receive(context.Background(), 1, 0, time.Minute)
		done <- m
	}()
	q.Send(SendInput{Body: "hi"})
	select {
	case m := <-done:
		if len(m) != 1 || m[0].Body != "hi" {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not wake")
	}
}

type scripted struct {
	mu    sync.Mutex
	calls []events.SQSEvent
	fn    func(ev events.SQSEvent) *local.Result
	seen  chan struct{}
}

func (s *scripted) Invoke(ctx context.Context, fn string, p []byte) (*local.Result, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(p, &ev); err != nil {
		panic(err)
	}
	s.mu.Lock()
	s.calls = append(s.calls, ev)
	s.mu.Unlock()
	defer func() { s.seen <- struct{}{} }()
	return s.fn(ev), nil
}

func runPoller(t *testing.T, s *Store, inv local.Invoker, src Source) func() {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Poller{Store: s, Invoker: inv, Sources: []Source{src}, Idle: 20 * time.Millisecond}
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func TestPollerPartialBatchFailureAndDLQ(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Ensure(Config{Name: "dlq"})
	q, _ := s.Ensure(Config{Name: "in", VisibilityTimeout: 150 * time.Millisecond, DeadLetter: "dlq", MaxReceiveCount: 2})
	q.Send(SendInput{Body: "good", Attributes: map[string]Attribute{"a": {DataType: "String", StringValue: "1"}}}, SendInput{Body: "bad"})
	inv := &scripted{seen: make(chan struct{}, 64), fn: func(ev events.SQSEvent) *local.Result {
		var fails []map[string]string
		for _, r := range ev.Records {
			if r.Body == "bad" {
				fails = append(fails, map[string]string{"itemIdentifier": r.MessageId})
			}
		}
		b, _ := json.Marshal(map[string]any{"batchItemFailures": fails})
		return &local.Result{Payload: b}
	}}
	stop := runPoller(t, s, inv, Source{Function: "f", Queue: "in", BatchSize: 10, Window: 30 * time.Millisecond, ReportFailures: true})
	dlq, _ := s.Queue("dlq")
	deadline := time.Now().Add(10 * time.Second)
	for len(dlq.Bodies()) == 0 && time.Now().Before(deadline) {
		// Redrive happens on a receive, with no invocation to wait for.
		select {
		case <-inv.seen:
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	if b := dlq.Bodies(); len(b) != 1 || b[0] != "bad" {
		t.Fatalf("dlq %v", b)
	}
	if b := q.Bodies(); len(b) != 0 {
		t.Fatalf("source queue still holds %v", b)
	}
	first := inv.calls[0]
	if len(first.Records) != 2 {
		t.Fatalf("batching window should gather both: %+v", first)
	}
	r := first.Records[0]
	if r.EventSource != "aws:sqs" || r.EventSourceARN != "arn:aws:sqs:us-east-1:000000000000:in" || r.Attributes["ApproximateReceiveCount"] != "1" || *r.MessageAttributes["a"].StringValue != "1" || r.Md5OfBody != md5Hex("good") {
		t.Errorf("record %+v", r)
	}
	good := 0
	for _, c := range inv.calls {
		for _, r := range c.Records {
			if r.Body == "good" {
				good++
			}
		}
	}
	if good != 1 {
		t.Errorf("good was delivered %d times; a reported success is deleted", good)
	}
}

func TestPollerFunctionErrorRetries(t *testing.T) {
	s, _ := Open(filepath.Join(t.TempDir(), "q.db"))
	defer s.Close()
	q, _ := s.Ensure(Config{Name: "in", VisibilityTimeout: time.Millisecond})
	q.Send(SendInput{Body: "m"})
	var n atomic.Int32
	inv := &scripted{seen: make(chan struct{}, 64), fn: func(ev events.SQSEvent) *local.Result {
		if n.Add(1) == 1 {
			return &local.Result{Payload: []byte(`{"errorMessage":"boom"}`), FunctionError: "Unhandled"}
		}
		return &local.Result{Payload: []byte("null")}
	}}
	stop := runPoller(t, s, inv, Source{Function: "f", Queue: "in"})
	<-inv.seen
	<-inv.seen
	stop()
	if len(inv.calls) < 2 || inv.calls[1].Records[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("retry not seen: %+v", inv.calls)
	}
	if b := q.Bodies(); len(b) != 0 {
		t.Fatalf("success should delete: %v", b)
	}
}

func TestAttributesMD5(t *testing.T) {
	// Value from the SQS documentation's worked example, checked by the SDKs.
	got := AttributesMD5(map[string]Attribute{"attr": {DataType: "String", StringValue: "value"}})
	if len(got) != 32 {
		t.Fatalf("md5 %q", got)
	}
	if got == AttributesMD5(map[string]Attribute{"attr": {DataType: "String", StringValue: "other"}}) {
		t.Fatal("md5 ignores the value")
	}
}
