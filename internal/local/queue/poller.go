package queue

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nimbusfw/nimbus/internal/local"
)

// Source is one `sqs` event: a function fed from a queue.
type Source struct {
	Function  string
	Queue     string
	BatchSize int           // default 10
	Window    time.Duration // maximumBatchingWindow
	// ReportFailures is functionResponseType: ReportBatchItemFailures.
	ReportFailures bool
}

// Poller delivers queue messages to functions like Lambda's event source
// mapping: a successful invocation deletes the batch, a failed one leaves
// it to reappear after the visibility timeout (and eventually the DLQ),
// and with ReportFailures only the listed batchItemFailures stay.
type Poller struct {
	Store   *Store
	Invoker local.Invoker
	Sources []Source
	Region  string
	Log     func(line string)
	// Idle is how long one receive waits for messages (default 1 s).
	Idle time.Duration
}

// Run polls until ctx ends; invocations under way finish first.
func (p *Poller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range p.Sources {
		wg.Add(1)
		go func(s Source) {
			defer wg.Done()
			p.loop(ctx, s)
		}(s)
	}
	wg.Wait()
}

func (p *Poller) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log(fmt.Sprintf(format, args...))
	}
}

func (p *Poller) loop(ctx context.Context, s Source) {
	q, err := p.Store.Queue(s.Queue)
	if err != nil {
		p.logf("sqs %s → %s: %v", s.Queue, s.Function, err)
		return
	}
	if s.BatchSize <= 0 {
		s.BatchSize = 10
	}
	idle := p.Idle
	if idle == 0 {
		idle = time.Second
	}
	for ctx.Err() == nil {
		msgs, err := q.Receive(ctx, s.BatchSize, 0, idle)
		if err != nil {
			if ctx.Err() == nil {
				p.logf("sqs %s: %v", s.Queue, err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		if s.Window > 0 && len(msgs) < s.BatchSize {
			deadline := time.Now().Add(s.Window)
			for len(msgs) < s.BatchSize {
				left := time.Until(deadline)
				if left <= 0 {
					break
				}
				more, err := q.Receive(ctx, s.BatchSize-len(msgs), 0, left)
				if err != nil {
					break
				}
				msgs = append(msgs, more...)
			}
		}
		p.deliver(context.WithoutCancel(ctx), q, s, msgs)
	}
}

// Deliver runs one batch through the function and settles it.
func (p *Poller) deliver(ctx context.Context, q *Queue, s Source, msgs []*Message) {
	payload := Event(msgs, q.Name(), p.Region)
	res, err := p.Invoker.Invoke(ctx, s.Function, payload)
	var te *local.ThrottleError
	switch {
	case errors.As(err, &te):
		// Throttled batches go straight back, as Lambda retries them.
		for _, m := range msgs {
			q.ChangeVisibility(m.ReceiptHandle, 0)
		}
		time.Sleep(50 * time.Millisecond)
		return
	case err != nil:
		p.logf("sqs %s → %s: %v; %d message(s) return after the visibility timeout", q.Name(), s.Function, err, len(msgs))
		return
	case res.FunctionError != "":
		p.logf("sqs %s → %s failed: %s; %d message(s) return after the visibility timeout", q.Name(), s.Function, res.Payload, len(msgs))
		return
	}
	failed := map[string]bool{}
	if s.ReportFailures {
		ids, ok := batchItemFailures(res.Payload)
		if !ok {
			p.logf("sqs %s → %s: invalid batchItemFailures response; the whole batch is retried", q.Name(), s.Function)
			return
		}
		for _, id := range ids {
			failed[id] = true
		}
	}
	var done []string
	for _, m := range msgs {
		if !failed[m.ID] {
			done = append(done, m.ReceiptHandle)
		}
	}
	q.Delete(done...)
	if len(failed) > 0 {
		p.logf("sqs %s → %s: %d message(s) reported failed", q.Name(), s.Function, len(failed))
	}
}

// batchItemFailures reads {"batchItemFailures":[{"itemIdentifier":id}]};
// an empty or null response means every message succeeded.
func batchItemFailures(payload []byte) ([]string, bool) {
	if len(payload) == 0 || string(payload) == "null" {
		return nil, true
	}
	var r struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, true // a non-object response reports nothing failed
	}
	var ids []string
	for _, f := range r.BatchItemFailures {
		if f.ItemIdentifier == nil || *f.ItemIdentifier == "" {
			return nil, false
		}
		ids = append(ids, *f.ItemIdentifier)
	}
	return ids, true
}

// ARN is a local queue's ARN.
func ARN(region, name string) string {
	if region == "" {
		region = "us-east-1"
	}
	return "arn:aws:sqs:" + region + ":" + Account + ":" + name
}

type eventAttr struct {
	StringValue      *string  `json:"stringValue"`
	BinaryValue      *string  `json:"binaryValue"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues []string `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

type eventRecord struct {
	MessageID         string               `json:"messageId"`
	ReceiptHandle     string               `json:"receiptHandle"`
	Body              string               `json:"body"`
	Attributes        map[string]string    `json:"attributes"`
	MessageAttributes map[string]eventAttr `json:"messageAttributes"`
	MD5OfBody         string               `json:"md5OfBody"`
	EventSource       string               `json:"eventSource"`
	EventSourceARN    string               `json:"eventSourceARN"`
	AWSRegion         string               `json:"awsRegion"`
}

// Event is the SQS event Lambda sends for a batch.
func Event(msgs []*Message, queue, region string) []byte {
	if region == "" {
		region = "us-east-1"
	}
	recs := make([]eventRecord, len(msgs))
	for i, m := range msgs {
		attrs := map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
			"SentTimestamp":                    strconv.FormatInt(m.SentAt, 10),
			"SenderId":                         Account,
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.FirstReceiveAt, 10),
		}
		if m.GroupID != "" {
			attrs["MessageGroupId"] = m.GroupID
			attrs["MessageDeduplicationId"] = m.DedupID
			attrs["SequenceNumber"] = m.SequenceNumber
		}
		ma := map[string]eventAttr{}
		for k, a := range m.Attributes {
			ea := eventAttr{DataType: a.DataType, StringListValues: []string{}, BinaryListValues: []string{}}
			if a.BinaryValue != nil {
				s := base64.StdEncoding.EncodeToString(a.BinaryValue)
				ea.BinaryValue = &s
			} else {
				s := a.StringValue
				ea.StringValue = &s
			}
			ma[k] = ea
		}
		recs[i] = eventRecord{
			MessageID: m.ID, ReceiptHandle: m.ReceiptHandle, Body: m.Body, Attributes: attrs,
			MessageAttributes: ma, MD5OfBody: m.MD5, EventSource: "aws:sqs",
			EventSourceARN: ARN(region, queue), AWSRegion: region,
		}
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return b
}
