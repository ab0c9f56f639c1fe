package bus

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/service"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Cases follow the examples in the EventBridge event patterns documentation.
func TestMatch(t *testing.T) {
	event := `{"source":"com.shop","detail-type":"Order Placed","detail":{"state":"running","price":25.5,"tags":["a","b"],"ip":"10.0.0.7","region":"eu-west-1","note":null,"customer":{"tier":"gold"}}}`
	cases := []struct {
		pattern string
		want    bool
	}{
		{`{"source":["com.shop"]}`, true},
		{`{"source":["other","com.shop"]}`, true},
		{`{"source":["other"]}`, false},
		{`{"source":["com.shop"],"detail-type":["Order Shipped"]}`, false},
		{`{"detail":{"state":["running"]}}`, true},
		{`{"detail":{"customer":{"tier":["gold"]}}}`, true},
		{`{"detail":{"tags":["b"]}}`, true},
		{`{"detail":{"tags":["c"]}}`, false},
		{`{"detail":{"state":[{"prefix":"run"}]}}`, true},
		{`{"detail":{"state":[{"suffix":"ing"}]}}`, true},
		{`{"detail":{"state":[{"equals-ignore-case":"RUNNING"}]}}`, true},
		{`{"detail":{"state":[{"anything-but":"running"}]}}`, false},
		{`{"detail":{"state":[{"anything-but":["stopped","pending"]}]}}`, true},
		{`{"detail":{"state":[{"anything-but":{"prefix":"run"}}]}}`, false},
		{`{"detail":{"price":[{"numeric":[">",10,"<=",25.5]}]}}`, true},
		{`{"detail":{"price":[{"numeric":["<",10]}]}}`, false},
		{`{"detail":{"price":[25.5]}}`, true},
		{`{"detail":{"missing":[{"exists":false}]}}`, true},
		{`{"detail":{"state":[{"exists":false}]}}`, false},
		{`{"detail":{"state":[{"exists":true}]}}`, true},
		{`{"detail":{"note":[null]}}`, true},
		{`{"detail":{"ip":[{"cidr":"10.0.0.0/24"}]}}`, true},
		{`{"detail":{"ip":[{"cidr":"10.1.0.0/24"}]}}`, false},
		{`{"detail":{"region":[{"wildcard":"eu-*-1"}]}}`, true},
		{`{"detail":{"missing":["x"]}}`, false},
		{`{"$or":[{"source":["nope"]},{"detail":{"state":["running"]}}]}`, true},
		{`{"$or":[{"source":["nope"]},{"detail":{"state":["stopped"]}}]}`, false},
	}
	ev := decode(t, event)
	for _, c := range cases {
		if got := Match(decode(t, c.pattern), ev); got != c.want {
			t.Errorf("%s: got %v, want %v", c.pattern, got, c.want)
		}
	}
}

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

func TestBusDeliversToMatchingRules(t *testing.T) {
	root, ds := config.Parse("serverless.yml", []byte(`
service: s
functions:
  orders:
    handler: h.orders
    events:
      - eventBridge:
          pattern:
            source: [com.shop]
            detail:
              amount: [{numeric: [">", 100]}]
  custom:
    handler: h.custom
    events:
      - eventBridge:
          eventBus: arn:aws:events:us-east-1:000000000000:event-bus/payments
          pattern: {source: [com.shop]}
          inputPath: $.detail
`), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	rules, ds := RulesFromService(service.New(root, ".", "serverless.yml", nil))
	if ds.HasErrors() || len(rules) != 2 {
		t.Fatalf("%d rules, %v", len(rules), ds)
	}
	inv := &rec{}
	b := &Bus{Rules: rules, Invoker: inv}
	b.Put(context.Background(), []Entry{
		{Source: "com.shop", DetailType: "Order", Detail: `{"amount":150}`},
		{Source: "com.shop", DetailType: "Order", Detail: `{"amount":50}`},
		{Source: "com.shop", DetailType: "Pay", Detail: `{"amount":5}`, EventBusName: "payments"},
	})
	b.Wait()
	if len(inv.calls["orders"]) != 1 {
		t.Fatalf("orders got %v", inv.calls["orders"])
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal([]byte(inv.calls["orders"][0]), &ev); err != nil || ev.Source != "com.shop" || ev.DetailType != "Order" || string(ev.Detail) != `{"amount":150}` {
		t.Errorf("event %s", inv.calls["orders"][0])
	}
	if got := inv.calls["custom"]; len(got) != 1 || got[0] != `{"amount":5}` {
		t.Errorf("custom bus with inputPath got %v", got)
	}
}

func FuzzMatch(f *testing.F) {
	f.Add(`{"a":[{"prefix":"x"}]}`, `{"a":"xy"}`)
	f.Add(`{"a":[{"numeric":[">",1]}]}`, `{"a":[1,2]}`)
	f.Fuzz(func(t *testing.T, pattern, event string) {
		var p map[string]any
		var e any
		if json.Unmarshal([]byte(pattern), &p) != nil || json.Unmarshal([]byte(event), &e) != nil {
			return
		}
		Match(p, e) // must not panic on any input
	})
}
