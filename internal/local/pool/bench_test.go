package pool

import (
	"context"
	"testing"
)

// BenchmarkInvokeGo measures the invoke path end to end: pool, Runtime API
// and a real aws-lambda-go handler, 8 callers at once like the gateway
// benchmark (`go test -bench Invoke -cpu 1,2`).
func BenchmarkInvokeGo(b *testing.B) {
	requireTool(b, "go")
	benchInvoke(b, `service: bench
provider: {name: aws, runtime: provided.al2023}
functions:
  echo: {handler: `+goEchoDir(b)+`}
`, nil, "echo")
}

// BenchmarkInvokeNode is the same path with the embedded Node loop.
func BenchmarkInvokeNode(b *testing.B) {
	requireTool(b, "node")
	benchInvoke(b, `service: bench
provider: {name: aws, runtime: nodejs20.x}
functions:
  echo: {handler: h.handler}
`, map[string]string{"h.js": `exports.handler = async (e) => {
  if (e.sleepMs) await new Promise((r) => setTimeout(r, e.sleepMs));
  return { said: e.say };
};`}, "echo")
}

func benchInvoke(b *testing.B, yml string, files map[string]string, fn string) {
	p, _ := startPool(b, yml, files, Options{MaxConcurrency: 8})
	payload := []byte(`{"say":"benchmark"}`)
	// Start the 8 instances before timing.
	warm := make(chan struct{})
	for range 8 {
		go func() {
			p.Invoke(context.Background(), fn, []byte(`{"sleepMs":100}`))
			warm <- struct{}{}
		}()
	}
	for range 8 {
		<-warm
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			res, err := p.Invoke(ctx, fn, payload)
			if err != nil || res.FunctionError != "" {
				b.Errorf("invoke: %v %+v", err, res)
				return
			}
		}
	})
}
