package nimbus

import (
	"context"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestCorpusDevStarts starts `nimbus dev` on every corpus service that
// serverless v3 prints and checks that each serves one route per http and
// httpApi event and one schedule per schedule event, then shuts it down:
// real configs of every shape must come up locally, not only the examples.
func TestCorpusDevStarts(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("shared corpus not present")
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	var started, tried atomic.Int32
	t.Run("services", func(t *testing.T) {
		for _, o := range readPrintOracle(t) {
			if !o.ok {
				continue
			}
			t.Run(o.service, func(t *testing.T) {
				t.Parallel()
				if p := setAsideByPlugin(t, o.service); p != "" {
					t.Skipf("set aside: %s", p)
				}
				tried.Add(1)
				p, err := Load(context.Background(), Options{
					Dir: stubService(t, o.service), Stage: "dev", Region: "us-east-1",
					Env: func(k string) (string, bool) { v, ok := corpusEnv[k]; return v, ok },
				})
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				s, err := p.Dev(context.Background(), DevOptions{HTTPPort: -1, LambdaPort: -1, AWSPort: -1, NoWatch: true, Log: io.Discard})
				if err != nil {
					t.Fatalf("dev: %v", err)
				}
				defer func() {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					if err := s.Shutdown(ctx); err != nil {
						t.Errorf("shutdown: %v", err)
					}
				}()
				routes := len(p.Service.EventsOf("http")) + len(p.Service.EventsOf("httpApi"))
				if got := len(s.Endpoints()); got != routes {
					t.Errorf("%d routes served for %d http/httpApi events: %v", got, routes, s.Endpoints())
				}
				if got, want := len(s.Schedules()), len(p.Service.EventsOf("schedule")); got != want {
					t.Errorf("%d schedules for %d schedule events", got, want)
				}
				for _, e := range s.Endpoints() {
					if p.Service.Function(e.Function) == nil {
						t.Errorf("route %s %s runs unknown function %q", e.Method, e.URL, e.Function)
					}
				}
				started.Add(1)
			})
		}
	})
	t.Logf("corpus dev: %d/%d services started with every route and schedule", started.Load(), tried.Load())
}
