package pool

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
	p, _ := startPool(b, yml, files, Options{MaxConcurrency: 8, Env: benchEnv()})
	payload := []byte(`{"say":"benchmark","quiet":true}`)
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
	selfBefore, instBefore := cpuTime(), instanceCPU(p, fn)
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
	b.StopTimer()
	// CPU per invocation is steadier than ns/op on a shared machine: the
	// pool's own share (this process) and the runtimes' share.
	b.ReportMetric(float64((cpuTime()-selfBefore).Microseconds())/float64(b.N), "pool-cpu-µs/op")
	b.ReportMetric(float64((instanceCPU(p, fn)-instBefore).Microseconds())/float64(b.N), "runtime-cpu-µs/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// instanceCPU sums user+system time of the function's live instances.
func instanceCPU(p *Pool, key string) time.Duration {
	fn := p.functions[key]
	fn.mu.Lock()
	defer fn.mu.Unlock()
	var total time.Duration
	for inst := range fn.live {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(inst.cmd.Process.Pid) + "/stat")
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: utime and stime are
		// the 12th and 13th, in clock ticks (100 Hz on Linux).
		fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(fields) > 12 {
			u, _ := strconv.Atoi(fields[11])
			s, _ := strconv.Atoi(fields[12])
			total += time.Duration(u+s) * 10 * time.Millisecond
		}
	}
	return total
}

// benchEnv lets a run compare settings, e.g. BENCH_GOMAXPROCS=2.
func benchEnv() map[string]string {
	if v := os.Getenv("BENCH_GOMAXPROCS"); v != "" {
		return map[string]string{"GOMAXPROCS": v}
	}
	return nil
}
