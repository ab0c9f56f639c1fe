// Package topic is the local SNS: topics from `sns` events and resources,
// fan-out of each published message to subscribed functions and queues,
// and filter policies (on message attributes or the message body).
package topic

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/local/bus"
	"github.com/nimbusfw/nimbus/internal/local/queue"
)

// Subscription delivers a topic's messages to a function or a queue.
type Subscription struct {
	Protocol string // "lambda" or "sqs"
	// Endpoint is the function key (lambda) or queue name (sqs).
	Endpoint string
	// FilterPolicy is a decoded filter policy, nil to receive everything.
	FilterPolicy map[string]any
	// FilterOnBody applies the policy to the message body
	// (FilterPolicyScope: MessageBody) instead of its attributes.
	FilterOnBody bool
	// Raw delivers only the message to queues (RawMessageDelivery).
	Raw bool
}

// Attribute is an SNS message attribute.
type Attribute struct {
	Type  string // String, Number, String.Array, Binary
	Value string
}

// Topic is one local topic.
type Topic struct {
	Name string
	mu   sync.Mutex
	subs []Subscription
}

// Hub holds the topics and delivers to their subscribers.
type Hub struct {
	Invoker local.Invoker
	Queues  *queue.Store
	Region  string
	Log     func(line string)
	Now     func() time.Time

	mu     sync.Mutex
	topics map[string]*Topic
	wg     sync.WaitGroup
}

// Account is the account id in local topic ARNs.
const Account = local.AccountID

// ARN is a local topic's ARN.
func (h *Hub) ARN(name string) string {
	r := h.Region
	if r == "" {
		r = "us-east-1"
	}
	return "arn:aws:sns:" + r + ":" + Account + ":" + name
}

// NameFromARN returns the topic name of an ARN (or the name itself).
func NameFromARN(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.HasPrefix(s, "arn:") {
		return s[i+1:]
	}
	return s
}

// Ensure returns the named topic, creating it.
func (h *Hub) Ensure(name string) *Topic {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.topics == nil {
		h.topics = map[string]*Topic{}
	}
	t := h.topics[name]
	if t == nil {
		t = &Topic{Name: name}
		h.topics[name] = t
	}
	return t
}

// Topic returns a topic by name or ARN.
func (h *Hub) Topic(nameOrARN string) (*Topic, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.topics[NameFromARN(nameOrARN)]
	return t, ok
}

// Names lists topics, sorted.
func (h *Hub) Names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for n := range h.topics {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Subscribe adds a subscription.
func (t *Topic) Subscribe(s Subscription) {
	if s.FilterPolicy != nil {
		bus.NormalizePattern(s.FilterPolicy)
	}
	t.mu.Lock()
	t.subs = append(t.subs, s)
	t.mu.Unlock()
}

// Subscriptions returns a copy of the topic's subscriptions.
func (t *Topic) Subscriptions() []Subscription {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Subscription(nil), t.subs...)
}

// Message is what Publish sends.
type Message struct {
	Subject    string
	Message    string
	Attributes map[string]Attribute
}

// Publish fans a message out to every subscription whose filter policy
// matches. Queue deliveries are durable before Publish returns; function
// deliveries are asynchronous, as SNS invokes Lambda.
func (h *Hub) Publish(ctx context.Context, topicName string, m Message) (string, error) {
	t, ok := h.Topic(topicName)
	if !ok {
		return "", fmt.Errorf("NotFound: topic %s does not exist", topicName)
	}
	id := newID()
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	ts := now().UTC().Format("2006-01-02T15:04:05.000Z")
	for _, s := range t.Subscriptions() {
		if s.FilterPolicy != nil && !h.filterMatches(s, m) {
			continue
		}
		switch s.Protocol {
		case "sqs":
			if err := h.toQueue(s, t, m, id, ts); err != nil {
				return "", err
			}
		case "lambda":
			h.toFunction(ctx, s, t, m, id, ts)
		}
	}
	return id, nil
}

func (h *Hub) filterMatches(s Subscription, m Message) bool {
	if s.FilterOnBody {
		var body any
		if json.Unmarshal([]byte(m.Message), &body) != nil {
			return false
		}
		return bus.Match(s.FilterPolicy, body)
	}
	attrs := map[string]any{}
	for k, a := range m.Attributes {
		switch a.Type {
		case "Number":
			if f, err := strconv.ParseFloat(a.Value, 64); err == nil {
				attrs[k] = f
			}
		case "String.Array":
			var arr []any
			if json.Unmarshal([]byte(a.Value), &arr) == nil {
				attrs[k] = arr
			}
		case "Binary":
			// Binary attributes are not matched by filter policies.
		default:
			attrs[k] = a.Value
		}
	}
	return bus.Match(s.FilterPolicy, attrs)
}

type envelopeAttr struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

func (h *Hub) envelope(t *Topic, m Message, id, ts string) map[string]any {
	attrs := map[string]envelopeAttr{}
	for k, a := range m.Attributes {
		attrs[k] = envelopeAttr{Type: a.Type, Value: a.Value}
	}
	env := map[string]any{
		"Type": "Notification", "MessageId": id, "TopicArn": h.ARN(t.Name),
		"Message": m.Message, "Timestamp": ts, "SignatureVersion": "1",
		"Signature": "EXAMPLE", "SigningCertURL": "EXAMPLE", "UnsubscribeURL": "EXAMPLE",
		"MessageAttributes": attrs,
	}
	if m.Subject != "" {
		env["Subject"] = m.Subject
	}
	return env
}

func (h *Hub) toQueue(s Subscription, t *Topic, m Message, id, ts string) error {
	if h.Queues == nil {
		return fmt.Errorf("no queue store for subscription to %s", s.Endpoint)
	}
	q, err := h.Queues.Queue(queueName(s.Endpoint))
	if err != nil {
		return fmt.Errorf("subscription %s → %s: %w", t.Name, s.Endpoint, err)
	}
	in := queue.SendInput{}
	if s.Raw {
		in.Body = m.Message
		in.Attributes = map[string]queue.Attribute{}
		for k, a := range m.Attributes {
			in.Attributes[k] = queue.Attribute{DataType: a.Type, StringValue: a.Value}
		}
	} else {
		b, _ := json.Marshal(h.envelope(t, m, id, ts))
		in.Body = string(b)
	}
	if q.Config().FIFO {
		in.GroupID, in.DedupID = "sns", id
	}
	_, err = q.Send(in)
	return err
}

func queueName(endpoint string) string {
	if strings.HasPrefix(endpoint, "arn:") {
		return endpoint[strings.LastIndexByte(endpoint, ':')+1:]
	}
	if i := strings.LastIndexByte(endpoint, '/'); i >= 0 {
		return endpoint[i+1:]
	}
	return endpoint
}

func (h *Hub) toFunction(ctx context.Context, s Subscription, t *Topic, m Message, id, ts string) {
	env := h.envelope(t, m, id, ts)
	env["SigningCertUrl"], env["UnsubscribeUrl"] = env["SigningCertURL"], env["UnsubscribeURL"]
	delete(env, "SigningCertURL")
	delete(env, "UnsubscribeURL")
	if m.Subject == "" {
		env["Subject"] = nil
	}
	payload, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns", "EventVersion": "1.0",
		"EventSubscriptionArn": h.ARN(t.Name) + ":" + id,
		"Sns":                  env,
	}}})
	if h.Log != nil {
		h.Log("sns " + t.Name + " → " + s.Endpoint)
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		res, err := h.Invoker.Invoke(context.WithoutCancel(ctx), s.Endpoint, payload)
		if h.Log != nil {
			if err != nil {
				h.Log("sns " + t.Name + " → " + s.Endpoint + ": " + err.Error())
			} else if res.FunctionError != "" {
				h.Log("sns " + t.Name + " → " + s.Endpoint + " failed: " + string(res.Payload))
			}
		}
	}()
}

// Wait blocks until every function delivery has finished.
func (h *Hub) Wait() { h.wg.Wait() }

func newID() string {
	a, b := rand.Uint64(), rand.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, 0x8000|(b>>48)&0x3fff, b&0xffffffffffff)
}
