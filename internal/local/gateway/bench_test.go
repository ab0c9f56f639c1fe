package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nimbusfw/nimbus/internal/local"
)

type constInvoker struct{ res *local.Result }

func (c constInvoker) Invoke(context.Context, string, []byte) (*local.Result, error) {
	return c.res, nil
}

// nopWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the gateway and not the recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkGateway is the gateway's own cost per request: route match,
// event encoding and response mapping, without the network or a function.
func BenchmarkGateway(b *testing.B) {
	for _, c := range []struct{ name, yml, url string }{
		{"httpApi-v2", httpAPIYML, "/items/42?a=1&b=2"},
		{"rest-v1", restYML, "/dev/users/42?a=1&b=2"},
	} {
		b.Run(c.name, func(b *testing.B) {
			routes, _ := RoutesFromService(loadServiceB(b, c.yml))
			g := New(Config{Routes: routes, Stage: "dev", Invoker: constInvoker{&local.Result{Payload: []byte(`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"message\":\"hello\"}"}`)}}})
			req := httptest.NewRequest("GET", c.url, nil)
			req.Header.Set("User-Agent", "wrk")
			req.Header.Set("Accept", "*/*")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w := &nopWriter{h: http.Header{}}
				g.ServeHTTP(w, req)
			}
		})
	}
}
