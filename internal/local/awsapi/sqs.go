package awsapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nimbusfw/nimbus/internal/local/queue"
)

// apiError is an SQS error with its code (as in the JSON __type and the
// query protocol's Code).
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func badRequest(code, msg string) *apiError { return &apiError{400, code, msg} }

var errNoQueue = badRequest("QueueDoesNotExist", "The specified queue does not exist.")

// sqsInput is the JSON protocol's request shape; the query protocol is
// converted into it.
type sqsInput struct {
	QueueName              string             `json:"QueueName"`
	QueueUrl               string             `json:"QueueUrl"`
	Attributes             map[string]string  `json:"Attributes"`
	MessageBody            string             `json:"MessageBody"`
	DelaySeconds           *int               `json:"DelaySeconds"`
	MessageAttributes      map[string]msgAttr `json:"MessageAttributes"`
	MessageGroupId         string             `json:"MessageGroupId"`
	MessageDeduplicationId string             `json:"MessageDeduplicationId"`
	MaxNumberOfMessages    int                `json:"MaxNumberOfMessages"`
	VisibilityTimeout      *int               `json:"VisibilityTimeout"`
	WaitTimeSeconds        int                `json:"WaitTimeSeconds"`
	ReceiptHandle          string             `json:"ReceiptHandle"`
	Entries                []sqsEntry         `json:"Entries"`
	AttributeNames         []string           `json:"AttributeNames"`
	QueueNamePrefix        string             `json:"QueueNamePrefix"`
}

type sqsEntry struct {
	Id                     string             `json:"Id"`
	MessageBody            string             `json:"MessageBody"`
	DelaySeconds           *int               `json:"DelaySeconds"`
	MessageAttributes      map[string]msgAttr `json:"MessageAttributes"`
	MessageGroupId         string             `json:"MessageGroupId"`
	MessageDeduplicationId string             `json:"MessageDeduplicationId"`
	ReceiptHandle          string             `json:"ReceiptHandle"`
	VisibilityTimeout      *int               `json:"VisibilityTimeout"`
}

type msgAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

func (s *Server) sqsJSON(ctx context.Context, w http.ResponseWriter, action string, body []byte) {
	var in sqsInput
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeJSONError(w, 400, "InvalidParameterValue", "request body is not valid JSON: "+err.Error())
			return
		}
	}
	out, err := s.sqs(ctx, action, &in)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{500, "InternalError", err.Error()}
		}
		writeJSONError(w, ae.status, ae.code, ae.msg)
		return
	}
	writeJSON(w, out)
}

func (s *Server) queueOf(in *sqsInput) (*queue.Queue, error) {
	name := in.QueueUrl
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		return nil, badRequest("MissingParameter", "The request must contain the parameter QueueUrl.")
	}
	q, err := s.Queues.Queue(name)
	if err != nil {
		return nil, errNoQueue
	}
	return q, nil
}

func toQueueAttrs(m map[string]msgAttr) map[string]queue.Attribute {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]queue.Attribute, len(m))
	for k, a := range m {
		out[k] = queue.Attribute{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
	}
	return out
}

func secondsPtr(p *int) *time.Duration {
	if p == nil {
		return nil
	}
	d := time.Duration(*p) * time.Second
	return &d
}

// sqs runs one SQS action; the result has the JSON protocol's shape.
func (s *Server) sqs(ctx context.Context, action string, in *sqsInput) (map[string]any, error) {
	switch action {
	case "CreateQueue":
		if in.QueueName == "" {
			return nil, badRequest("MissingParameter", "The request must contain the parameter QueueName.")
		}
		cfg := queue.Config{Name: in.QueueName}
		if q, err := s.Queues.Queue(in.QueueName); err == nil {
			cfg = q.Config()
		}
		if err := applyQueueAttributes(&cfg, in.Attributes); err != nil {
			return nil, err
		}
		if _, err := s.Queues.Ensure(cfg); err != nil {
			return nil, err
		}
		return map[string]any{"QueueUrl": s.QueueURL(in.QueueName)}, nil
	case "GetQueueUrl":
		if _, err := s.Queues.Queue(in.QueueName); err != nil {
			return nil, errNoQueue
		}
		return map[string]any{"QueueUrl": s.QueueURL(in.QueueName)}, nil
	case "ListQueues":
		var urls []string
		for _, n := range s.Queues.Names() {
			if strings.HasPrefix(n, in.QueueNamePrefix) {
				urls = append(urls, s.QueueURL(n))
			}
		}
		if len(urls) == 0 {
			return map[string]any{}, nil
		}
		return map[string]any{"QueueUrls": urls}, nil
	}
	q, err := s.queueOf(in)
	if err != nil {
		return nil, err
	}
	switch action {
	case "SendMessage":
		in.Entries = []sqsEntry{{Id: "0", MessageBody: in.MessageBody, DelaySeconds: in.DelaySeconds, MessageAttributes: in.MessageAttributes, MessageGroupId: in.MessageGroupId, MessageDeduplicationId: in.MessageDeduplicationId}}
		res, err := s.send(q, in.Entries)
		if err != nil {
			return nil, err
		}
		return res[0], nil
	case "SendMessageBatch":
		if len(in.Entries) == 0 {
			return nil, badRequest("EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.")
		}
		if len(in.Entries) > 10 {
			return nil, badRequest("TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10.")
		}
		res, err := s.send(q, in.Entries)
		if err != nil {
			return nil, err
		}
		for i := range res {
			res[i]["Id"] = in.Entries[i].Id
		}
		return map[string]any{"Successful": res, "Failed": []any{}}, nil
	case "ReceiveMessage":
		max := in.MaxNumberOfMessages
		if max == 0 {
			max = 1
		}
		if max > 10 {
			return nil, badRequest("InvalidParameterValue", "Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10.")
		}
		if in.WaitTimeSeconds < 0 || in.WaitTimeSeconds > 20 {
			return nil, badRequest("InvalidParameterValue", "Value for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")
		}
		var vis time.Duration
		if in.VisibilityTimeout != nil {
			vis = time.Duration(*in.VisibilityTimeout) * time.Second
		}
		wait := time.Duration(in.WaitTimeSeconds) * time.Second
		msgs, err := q.Receive(ctx, max, vis, wait)
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		out := make([]map[string]any, 0, len(msgs))
		for _, m := range msgs {
			out = append(out, receivedMessage(m))
		}
		if len(out) == 0 {
			return map[string]any{}, nil
		}
		return map[string]any{"Messages": out}, nil
	case "DeleteMessage":
		if errs := q.Delete(in.ReceiptHandle); errs[0] != nil {
			return nil, badRequest("ReceiptHandleIsInvalid", "The input receipt handle \""+in.ReceiptHandle+"\" is not a valid receipt handle.")
		}
		return map[string]any{}, nil
	case "DeleteMessageBatch":
		handles := make([]string, len(in.Entries))
		for i, e := range in.Entries {
			handles[i] = e.ReceiptHandle
		}
		errs := q.Delete(handles...)
		ok, failed := []any{}, []any{}
		for i, e := range in.Entries {
			if errs[i] != nil {
				failed = append(failed, map[string]any{"Id": e.Id, "Code": "ReceiptHandleIsInvalid", "Message": errs[i].Error(), "SenderFault": true})
			} else {
				ok = append(ok, map[string]any{"Id": e.Id})
			}
		}
		return map[string]any{"Successful": ok, "Failed": failed}, nil
	case "ChangeMessageVisibility":
		vt := 0
		if in.VisibilityTimeout != nil {
			vt = *in.VisibilityTimeout
		}
		if err := q.ChangeVisibility(in.ReceiptHandle, time.Duration(vt)*time.Second); err != nil {
			return nil, badRequest("ReceiptHandleIsInvalid", err.Error())
		}
		return map[string]any{}, nil
	case "ChangeMessageVisibilityBatch":
		ok, failed := []any{}, []any{}
		for _, e := range in.Entries {
			vt := 0
			if e.VisibilityTimeout != nil {
				vt = *e.VisibilityTimeout
			}
			if err := q.ChangeVisibility(e.ReceiptHandle, time.Duration(vt)*time.Second); err != nil {
				failed = append(failed, map[string]any{"Id": e.Id, "Code": "ReceiptHandleIsInvalid", "Message": err.Error(), "SenderFault": true})
			} else {
				ok = append(ok, map[string]any{"Id": e.Id})
			}
		}
		return map[string]any{"Successful": ok, "Failed": failed}, nil
	case "PurgeQueue":
		return map[string]any{}, q.Purge()
	case "GetQueueAttributes":
		return map[string]any{"Attributes": s.queueAttributes(q, in.AttributeNames)}, nil
	case "SetQueueAttributes":
		cfg := q.Config()
		if err := applyQueueAttributes(&cfg, in.Attributes); err != nil {
			return nil, err
		}
		_, err := s.Queues.Ensure(cfg)
		return map[string]any{}, err
	}
	return nil, badRequest("UnsupportedOperation", "nimbus dev does not implement SQS "+action)
}

func (s *Server) send(q *queue.Queue, entries []sqsEntry) ([]map[string]any, error) {
	ins := make([]queue.SendInput, len(entries))
	for i, e := range entries {
		if e.MessageBody == "" {
			return nil, badRequest("MissingParameter", "The request must contain the parameter MessageBody.")
		}
		ins[i] = queue.SendInput{Body: e.MessageBody, Attributes: toQueueAttrs(e.MessageAttributes), Delay: secondsPtr(e.DelaySeconds), GroupID: e.MessageGroupId, DedupID: e.MessageDeduplicationId}
	}
	msgs, err := q.Send(ins...)
	if err != nil {
		if errors.Is(err, queue.ErrMissingGroup) || errors.Is(err, queue.ErrMissingDedup) {
			code, msg, _ := strings.Cut(err.Error(), ": ")
			return nil, badRequest(code, msg)
		}
		return nil, err
	}
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		r := map[string]any{"MessageId": m.ID, "MD5OfMessageBody": m.MD5}
		if md := queue.AttributesMD5(m.Attributes); md != "" {
			r["MD5OfMessageAttributes"] = md
		}
		if m.SequenceNumber != "" {
			r["SequenceNumber"] = m.SequenceNumber
		}
		out[i] = r
	}
	return out, nil
}

func receivedMessage(m *queue.Message) map[string]any {
	attrs := map[string]string{
		"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
		"SentTimestamp":                    strconv.FormatInt(m.SentAt, 10),
		"SenderId":                         queue.Account,
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.FirstReceiveAt, 10),
	}
	if m.GroupID != "" {
		attrs["MessageGroupId"] = m.GroupID
		attrs["MessageDeduplicationId"] = m.DedupID
		attrs["SequenceNumber"] = m.SequenceNumber
	}
	out := map[string]any{"MessageId": m.ID, "ReceiptHandle": m.ReceiptHandle, "MD5OfBody": m.MD5, "Body": m.Body, "Attributes": attrs}
	if len(m.Attributes) > 0 {
		ma := map[string]msgAttr{}
		for k, a := range m.Attributes {
			ma[k] = msgAttr{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
		}
		out["MessageAttributes"] = ma
		out["MD5OfMessageAttributes"] = queue.AttributesMD5(m.Attributes)
	}
	return out
}

func (s *Server) queueAttributes(q *queue.Queue, names []string) map[string]string {
	cfg := q.Config()
	vis, inflight, delayed := q.Counts()
	all := map[string]string{
		"QueueArn":                              queue.ARN(s.Region, cfg.Name),
		"ApproximateNumberOfMessages":           strconv.Itoa(vis),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inflight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
		"VisibilityTimeout":                     strconv.Itoa(int(cfg.VisibilityTimeout / time.Second)),
		"DelaySeconds":                          strconv.Itoa(int(cfg.Delay / time.Second)),
		"MessageRetentionPeriod":                "345600",
		"MaximumMessageSize":                    "262144",
		"ReceiveMessageWaitTimeSeconds":         "0",
	}
	if cfg.FIFO {
		all["FifoQueue"] = "true"
		all["ContentBasedDeduplication"] = strconv.FormatBool(cfg.ContentDedup)
	}
	if cfg.DeadLetter != "" {
		b, _ := json.Marshal(map[string]any{"deadLetterTargetArn": queue.ARN(s.Region, cfg.DeadLetter), "maxReceiveCount": cfg.MaxReceiveCount})
		all["RedrivePolicy"] = string(b)
	}
	if len(names) == 0 {
		return map[string]string{}
	}
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out
}

func applyQueueAttributes(cfg *queue.Config, attrs map[string]string) error {
	for k, v := range attrs {
		switch k {
		case "VisibilityTimeout", "DelaySeconds":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return badRequest("InvalidAttributeValue", "Invalid value for the parameter "+k+".")
			}
			if k == "VisibilityTimeout" {
				cfg.VisibilityTimeout = time.Duration(n) * time.Second
				if n == 0 {
					// queue.Config treats zero as "use the 30 s default";
					// a nanosecond rounds to an immediate reappearance.
					cfg.VisibilityTimeout = time.Nanosecond
				}
			} else {
				cfg.Delay = time.Duration(n) * time.Second
			}
		case "FifoQueue":
			cfg.FIFO = v == "true"
		case "ContentBasedDeduplication":
			cfg.ContentDedup = v == "true"
		case "RedrivePolicy":
			var rp struct {
				Target string `json:"deadLetterTargetArn"`
				Max    any    `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(v), &rp); err != nil {
				return badRequest("InvalidAttributeValue", "RedrivePolicy is not valid JSON.")
			}
			cfg.DeadLetter = rp.Target[strings.LastIndexByte(rp.Target, ':')+1:]
			switch m := rp.Max.(type) {
			case float64:
				cfg.MaxReceiveCount = int(m)
			case string:
				cfg.MaxReceiveCount, _ = strconv.Atoi(m)
			}
		}
	}
	return nil
}

// decodeBinary reads a base64 BinaryValue from the query protocol.
func decodeBinary(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return []byte(s)
	}
	return b
}
