package schedule

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/service"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNext(t *testing.T) {
	cases := []struct {
		expr, from string
		want       []string
	}{
		{"rate(5 minutes)", "2026-01-01 10:00", []string{"2026-01-01 10:05", "2026-01-01 10:10"}},
		{"rate(1 day)", "2026-01-01 10:00", []string{"2026-01-02 10:00"}},
		{"cron(0 12 * * ? *)", "2026-01-01 12:00", []string{"2026-01-02 12:00", "2026-01-03 12:00"}},
		{"cron(15 10 ? * MON-FRI *)", "2026-11-20 10:15", []string{"2026-11-23 10:15", "2026-11-24 10:15"}}, // Fri → Mon
		{"cron(0/15 * * * ? *)", "2026-01-01 10:50", []string{"2026-01-01 11:00", "2026-01-01 11:15"}},
		{"cron(0 8 1,15 * ? *)", "2026-01-02 00:00", []string{"2026-01-15 08:00", "2026-02-01 08:00"}},
		{"cron(0 0 L * ? *)", "2024-02-01 00:00", []string{"2024-02-29 00:00", "2024-03-31 00:00"}},
		{"cron(0 0 L-2 * ? *)", "2026-04-01 00:00", []string{"2026-04-28 00:00"}},
		{"cron(0 9 15W * ? *)", "2026-08-01 00:00", []string{"2026-08-14 09:00"}}, // 15 Aug 2026 is a Saturday
		{"cron(0 9 1W * ? *)", "2026-07-31 00:00", []string{"2026-08-03 09:00"}},  // 1 Aug is Saturday: Monday the 3rd
		{"cron(0 9 LW * ? *)", "2026-05-01 00:00", []string{"2026-05-29 09:00"}},  // 31 May 2026 is a Sunday
		{"cron(0 10 ? * 6L *)", "2026-01-01 00:00", []string{"2026-01-30 10:00", "2026-02-27 10:00"}},
		{"cron(0 10 ? * 3#2 *)", "2026-01-01 00:00", []string{"2026-01-13 10:00", "2026-02-10 10:00"}},
		{"cron(30 22-2/2 * * ? *)", "2026-01-01 21:00", []string{"2026-01-01 22:30", "2026-01-02 00:30", "2026-01-02 02:30", "2026-01-02 22:30"}},
		{"cron(0 0 1 JAN ? 2027-2028)", "2026-06-01 00:00", []string{"2027-01-01 00:00", "2028-01-01 00:00"}},
		{"cron(0 0 29 FEB ? *)", "2026-01-01 00:00", []string{"2028-02-29 00:00"}},
	}
	for _, c := range cases {
		e, err := Parse(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		cur := at(c.from)
		for _, w := range c.want {
			cur = e.Next(cur)
			if !cur.Equal(at(w)) {
				t.Errorf("%s after %s: got %s, want %s", c.expr, c.from, cur.Format("2006-01-02 15:04 Mon"), w)
				break
			}
		}
	}
	e, _ := Parse("cron(0 0 1 1 ? 2026)")
	if n := e.Next(at("2026-06-01 00:00")); !n.IsZero() {
		t.Errorf("a past-year cron fired again at %s", n)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"rate(5 minute)", "rate(1 minutes)", "rate(0 minutes)", "rate(5 weeks)", "rate(5)",
		"cron(0 12 * * * *)", "cron(0 12 ? * ? *)", "cron(0 12 * *)", "cron(60 * * * ? *)",
		"cron(0 24 * * ? *)", "cron(0 0 32 * ? *)", "cron(0 0 ? * 8 *)", "cron(0 0 ? * 3#6 *)", "every 5 minutes",
	} {
		if _, err := Parse(s); err == nil {
			t.Errorf("%s parsed without error", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"cron(0 12 * * ? *)", "rate(5 minutes)", "cron(0/5 1-3 L * ? 2030)", "cron(0 10 ? * 3#2 *)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		from := at("2026-01-01 00:00")
		if n := e.Next(from); !n.IsZero() && !n.After(from) {
			t.Fatalf("%s: next %s is not after %s", s, n, from)
		}
	})
}

// manualClock advances only when the test says so.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []chan struct{}
	parked  chan struct{} // receives once per Sleep call that blocks
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *manualClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	until := c.now.Add(d)
	for c.now.Before(until) {
		ch := make(chan struct{})
		c.waiters = append(c.waiters, ch)
		c.mu.Unlock()
		c.parked <- struct{}{}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	ws := c.waiters
	c.waiters = nil
	c.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

type recorder struct {
	mu    sync.Mutex
	calls []string
	got   chan struct{}
}

func (r *recorder) Invoke(ctx context.Context, fn string, p []byte) (*local.Result, error) {
	r.mu.Lock()
	r.calls = append(r.calls, fn+" "+string(p))
	r.mu.Unlock()
	r.got <- struct{}{}
	return &local.Result{Payload: []byte("null")}, nil
}

func TestSchedulerFiresOnClock(t *testing.T) {
	root, _ := config.Parse("serverless.yml", []byte(`
service: jobs
functions:
  tick:
    handler: h.tick
    events:
      - schedule: rate(1 minute)
      - schedule: {rate: 'cron(0 0 1 1 ? 2099)', enabled: false}
  report:
    handler: h.report
    events:
      - schedule: {rate: [rate(2 minutes)], input: {kind: report}}
`), diag.NewSources())
	jobs, ds := JobsFromService(service.New(root, ".", "serverless.yml", nil))
	if ds.HasErrors() || len(jobs) != 3 {
		t.Fatalf("jobs %d, %v", len(jobs), ds)
	}
	clk := &manualClock{now: at("2026-01-01 00:00"), parked: make(chan struct{}, 64)}
	rec := &recorder{got: make(chan struct{}, 16)}
	s := &Scheduler{Jobs: jobs, Invoker: rec, Clock: clk}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	wait := func(n int) {
		for i := 0; i < n; i++ {
			select {
			case <-rec.got:
			case <-time.After(5 * time.Second):
				t.Fatalf("only %d of %d invocations arrived: %v", i, n, rec.calls)
			}
		}
	}
	// Step one minute at a time once both loops sleep: minute 1 fires
	// tick; minute 2 fires tick and report.
	<-clk.parked
	<-clk.parked
	clk.Advance(time.Minute)
	wait(1)
	<-clk.parked // tick sleeps again; report re-parked on the same wait
	<-clk.parked
	clk.Advance(time.Minute)
	wait(2)
	cancel()
	<-done
	var tick, report int
	for _, c := range rec.calls {
		switch {
		case strings.HasPrefix(c, "tick "):
			tick++
			var ev map[string]any
			json.Unmarshal([]byte(strings.TrimPrefix(c, "tick ")), &ev)
			if ev["detail-type"] != "Scheduled Event" || ev["source"] != "aws.events" {
				t.Errorf("scheduled event shape: %s", c)
			}
		case c == `report {"kind":"report"}`:
			report++
		default:
			t.Errorf("unexpected call %s", c)
		}
	}
	if tick != 2 || report != 1 {
		t.Errorf("tick %d report %d, want 2 and 1: %v", tick, report, rec.calls)
	}
}

func TestBadScheduleIsADiagnostic(t *testing.T) {
	root, _ := config.Parse("serverless.yml", []byte("service: s\nfunctions:\n  f:\n    handler: h\n    events:\n      - schedule: rate(5 weeks)\n"), diag.NewSources())
	_, ds := JobsFromService(service.New(root, ".", "serverless.yml", nil))
	if !ds.HasErrors() || ds[0].Pos.Line != 6 || ds[0].Path != "functions.f.events.0.schedule.rate" {
		t.Fatalf("diagnostics: %+v", ds)
	}
}
