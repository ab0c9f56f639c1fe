// Package motoserver starts moto_server on 127.0.0.1 for tests that talk to
// AWS APIs, so no test ever reaches real AWS. One server is shared per test
// binary; tests reset it between runs with Reset.
package motoserver

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

var (
	once     sync.Once
	endpoint string
	startErr error
	proc     *exec.Cmd
)

// Endpoint returns the URL of a running moto_server, starting one on a free
// loopback port the first time. Without moto_server the test is skipped, or
// fails when NIMBUS_REQUIRE_MOTO=1 (as in CI). NIMBUS_MOTO_ENDPOINT points
// at an already running server instead.
func Endpoint(t testing.TB) string {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		if os.Getenv("NIMBUS_REQUIRE_MOTO") == "1" {
			t.Fatalf("moto_server: %v", startErr)
		}
		t.Skipf("moto_server not available: %v", startErr)
	}
	return endpoint
}

// Env returns environment variables that point the AWS SDK at moto with
// fake credentials.
func Env(t testing.TB) []string {
	ep := Endpoint(t)
	return []string{
		"AWS_ENDPOINT_URL=" + ep,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}

// Setenv applies Env to the current process for the duration of the test.
func Setenv(t testing.TB) string {
	for _, kv := range Env(t) {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				t.Setenv(kv[:i], kv[i+1:])
				break
			}
		}
	}
	return endpoint
}

// Reset clears every resource in moto.
func Reset(t testing.TB) {
	t.Helper()
	ep := Endpoint(t)
	resp, err := http.Post(ep+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
}

func start() {
	if ep := os.Getenv("NIMBUS_MOTO_ENDPOINT"); ep != "" {
		endpoint = ep
		return
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		startErr = err
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		startErr = err
		return
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	proc = exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	proc.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	if err := proc.Start(); err != nil {
		startErr = err
		return
	}
	endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	proc.Process.Kill()
	startErr = fmt.Errorf("moto_server did not answer on %s within 60s", endpoint)
}

// Stop ends the server started by this process, if any. Call it from
// TestMain after m.Run.
func Stop() {
	if proc != nil && proc.Process != nil {
		proc.Process.Kill()
		proc.Wait()
	}
}
