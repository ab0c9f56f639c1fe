package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/service"
)

// Rule sends matching events on a bus to a function.
type Rule struct {
	Name      string
	Bus       string
	Function  string
	Pattern   map[string]any
	Input     json.RawMessage
	InputPath string
}

// RulesFromService reads every eventBridge event with a pattern.
func RulesFromService(svc *service.Service) ([]*Rule, diag.Diagnostics) {
	var ds diag.Diagnostics
	var rules []*Rule
	for _, fe := range svc.EventsOf("eventBridge") {
		fn, ev, n := fe.Function, fe.Event, fe.N
		path := fmt.Sprintf("functions.%s.events.%d.eventBridge", fn.Key, ev.Index)
		v := ev.Value
		if v == nil || v.Kind != config.Map {
			ds.Errorf(ev.Pos, path, "eventBridge event must be an object with a pattern")
			continue
		}
		if v.Get("schedule") != nil && v.Get("pattern") == nil {
			ds.Warnf(v.Pos, path+".schedule", "eventBridge schedules are not run locally; use a schedule event")
			continue
		}
		pat := v.Get("pattern")
		if pat == nil || pat.Kind != config.Map {
			ds.Errorf(v.Pos, path+".pattern", "eventBridge event needs a pattern object")
			continue
		}
		r := &Rule{Name: fmt.Sprintf("%s-%s-%s-rule-%d", svc.Name, svc.Stage, fn.Key, n), Bus: BusName(v.Get("eventBus").Scalar0()), Function: fn.Key}
		r.Pattern, _ = pat.Interface().(map[string]any)
		normalize(r.Pattern)
		if in := v.Get("input"); in != nil {
			r.Input, _ = in.MarshalJSON()
		}
		r.InputPath = v.Get("inputPath").Scalar0()
		rules = append(rules, r)
	}
	return rules, ds
}

// normalize turns the config tree's ints into float64 as JSON decoding
// gives them, so patterns and events compare alike.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

// NormalizePattern prepares a decoded pattern for Match.
func NormalizePattern(p map[string]any) map[string]any { normalize(p); return p }

// BusName takes a name or ARN; empty means "default".
func BusName(s string) string {
	if i := strings.LastIndex(s, "event-bus/"); i >= 0 {
		s = s[i+len("event-bus/"):]
	}
	if s == "" {
		return "default"
	}
	return s
}

// Entry is one PutEvents entry.
type Entry struct {
	Source       string
	DetailType   string
	Detail       string
	EventBusName string
	Resources    []string
	Time         time.Time
}

// Bus routes events to rules. Deliveries are asynchronous, as EventBridge
// invokes targets; Wait drains them.
type Bus struct {
	Rules   []*Rule
	Invoker local.Invoker
	Region  string
	Account string
	Log     func(line string)
	Now     func() time.Time

	wg sync.WaitGroup
}

// Put matches and delivers entries; it returns each entry's event id.
func (b *Bus) Put(ctx context.Context, entries []Entry) ([]string, error) {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ev, err := b.event(e)
		if err != nil {
			return nil, err
		}
		ids[i] = ev["id"].(string)
		raw, _ := json.Marshal(ev)
		var decoded any
		json.Unmarshal(raw, &decoded)
		for _, r := range b.Rules {
			if r.Bus != BusName(e.EventBusName) || !Match(r.Pattern, decoded) {
				continue
			}
			payload := raw
			if r.Input != nil {
				payload = r.Input
			} else if r.InputPath != "" {
				if v, ok := local.InputPath(decoded, r.InputPath); ok {
					payload, _ = json.Marshal(v)
				}
			}
			b.deliver(ctx, r, payload)
		}
	}
	return ids, nil
}

func (b *Bus) deliver(ctx context.Context, r *Rule, payload []byte) {
	if b.Log != nil {
		b.Log("eventBridge " + r.Bus + " → " + r.Function)
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		res, err := b.Invoker.Invoke(context.WithoutCancel(ctx), r.Function, payload)
		if b.Log != nil {
			if err != nil {
				b.Log("eventBridge → " + r.Function + ": " + err.Error())
			} else if res.FunctionError != "" {
				b.Log("eventBridge → " + r.Function + " failed: " + string(res.Payload))
			}
		}
	}()
}

// Wait blocks until every delivery has finished.
func (b *Bus) Wait() { b.wg.Wait() }

func (b *Bus) event(e Entry) (map[string]any, error) {
	var detail any = map[string]any{}
	if strings.TrimSpace(e.Detail) != "" {
		if err := json.Unmarshal([]byte(e.Detail), &detail); err != nil {
			return nil, fmt.Errorf("Detail is not valid JSON: %v", err)
		}
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	t := e.Time
	if t.IsZero() {
		t = now()
	}
	return local.EventBridgeEvent(b.Region, b.Account, e.Source, e.DetailType, t, e.Resources, detail), nil
}
