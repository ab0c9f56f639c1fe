package schedule

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/service"
)

// Clock is the scheduler's time source. Sleep waits until the clock has
// advanced by d or ctx ends.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is wall-clock time.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now().UTC() }
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ScaledClock runs Speed times faster than real time from its creation,
// so `nimbus dev --clock-speed 600` fires rate(1 minute) every 100 ms.
type ScaledClock struct {
	Speed float64
	start time.Time
	base  time.Time
}

// NewScaledClock starts a clock at start that runs speed times faster.
func NewScaledClock(start time.Time, speed float64) *ScaledClock {
	return &ScaledClock{Speed: speed, start: time.Now(), base: start.UTC()}
}

func (c *ScaledClock) Now() time.Time {
	return c.base.Add(time.Duration(float64(time.Since(c.start)) * c.Speed))
}

func (c *ScaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return RealClock{}.Sleep(ctx, time.Duration(float64(d)/c.Speed))
}

// Job is one schedule event of a function.
type Job struct {
	Function string // function key
	Name     string // rule name
	Exprs    []Expr
	Enabled  bool
	// Input is sent verbatim instead of the scheduled event when set.
	Input json.RawMessage
	// InputPath selects part of the scheduled event ($.detail, $.time …).
	InputPath string
}

// JobsFromService reads every schedule event; bad expressions become
// diagnostics pointing at the event.
func JobsFromService(svc *service.Service) ([]*Job, diag.Diagnostics) {
	var ds diag.Diagnostics
	var jobs []*Job
	for _, fe := range svc.EventsOf("schedule") {
		fn, ev, n := fe.Function, fe.Event, fe.N
		path := fmt.Sprintf("functions.%s.events.%d.schedule", fn.Key, ev.Index)
		j := &Job{Function: fn.Key, Enabled: true, Name: fmt.Sprintf("%s-%s-%s-rule-%d", svc.Name, svc.Stage, fn.Key, n)}
		v := ev.Value
		var rates []*config.Node
		if _, ok := v.Str(); ok {
			rates = []*config.Node{v}
		} else if v != nil && v.Kind == config.Map {
			r := v.Get("rate")
			if r != nil && r.Kind == config.Seq {
				rates = r.Items
			} else if r != nil {
				rates = []*config.Node{r}
			}
			if e, ok := v.Get("enabled").Boolean(); ok {
				j.Enabled = e
			}
			if name := v.Get("name").Scalar0(); name != "" {
				j.Name = name
			}
			if in := v.Get("input"); in != nil {
				if s, ok := in.Str(); ok {
					j.Input = json.RawMessage(s)
					if !json.Valid(j.Input) {
						j.Input, _ = json.Marshal(s)
					}
				} else {
					j.Input, _ = in.MarshalJSON()
				}
			}
			j.InputPath = v.Get("inputPath").Scalar0()
			if v.Get("inputTransformer") != nil {
				ds.Warnf(v.Get("inputTransformer").Pos, path+".inputTransformer", "inputTransformer is not applied locally; the function gets the scheduled event")
			}
		}
		if len(rates) == 0 {
			ds.Errorf(ev.Pos, path, "schedule event needs a rate: rate(...) or cron(...)")
			continue
		}
		for _, r := range rates {
			e, err := Parse(r.Scalar0())
			if err != nil {
				ds.Errorf(r.Pos, path+".rate", "%v", err)
				continue
			}
			j.Exprs = append(j.Exprs, e)
		}
		if len(j.Exprs) > 0 {
			jobs = append(jobs, j)
		}
	}
	return jobs, ds
}

// Scheduler fires jobs on a clock.
type Scheduler struct {
	Jobs    []*Job
	Invoker local.Invoker
	Clock   Clock
	Region  string
	Account string
	// Log receives one line per firing and per failure; nil is silent.
	Log func(line string)

	wg sync.WaitGroup
}

// Run fires enabled jobs until ctx ends, then waits for running invocations.
func (s *Scheduler) Run(ctx context.Context) {
	if s.Clock == nil {
		s.Clock = RealClock{}
	}
	for _, j := range s.Jobs {
		if !j.Enabled {
			continue
		}
		for _, e := range j.Exprs {
			s.wg.Add(1)
			go func(j *Job, e Expr) {
				defer s.wg.Done()
				s.loop(ctx, j, e)
			}(j, e)
		}
	}
	<-ctx.Done()
	s.wg.Wait()
}

func (s *Scheduler) loop(ctx context.Context, j *Job, e Expr) {
	prev := s.Clock.Now()
	for {
		next := e.Next(prev)
		if next.IsZero() {
			return
		}
		if d := next.Sub(s.Clock.Now()); d > 0 {
			if s.Clock.Sleep(ctx, d) != nil {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		s.Fire(ctx, j, next)
		prev = next
	}
}

// Fire invokes the job's function once as if the rule fired at t.
func (s *Scheduler) Fire(ctx context.Context, j *Job, t time.Time) (*local.Result, error) {
	payload := s.Payload(j, t)
	if s.Log != nil {
		s.Log(fmt.Sprintf("schedule %s fired at %s (λ: %s)", j.Name, t.UTC().Format(time.RFC3339), j.Function))
	}
	res, err := s.Invoker.Invoke(ctx, j.Function, payload)
	if s.Log != nil {
		if err != nil {
			s.Log(fmt.Sprintf("schedule %s: %v", j.Name, err))
		} else if res.FunctionError != "" {
			s.Log(fmt.Sprintf("schedule %s: function failed: %s", j.Name, res.Payload))
		}
	}
	return res, err
}

// Payload is what the function receives for a firing at t.
func (s *Scheduler) Payload(j *Job, t time.Time) []byte {
	if j.Input != nil {
		return j.Input
	}
	region := s.Region
	if region == "" {
		region = local.DefaultRegion
	}
	account := s.Account
	if account == "" {
		account = local.AccountID
	}
	ev := local.EventBridgeEvent(region, account, "aws.events", "Scheduled Event", t,
		[]string{"arn:aws:events:" + region + ":" + account + ":rule/" + j.Name}, map[string]any{})
	if j.InputPath != "" {
		if v, ok := local.InputPath(ev, j.InputPath); ok {
			b, _ := json.Marshal(v)
			return b
		}
	}
	b, _ := json.Marshal(ev)
	return b
}
