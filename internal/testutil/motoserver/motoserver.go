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

// T is the part of testing.TB the helpers use, so testscript commands can
// call them too.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

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
func Endpoint(t T) string {
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
func Env(t T) []string { return EnvFor(Endpoint(t)) }

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
func Reset(t T) {
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
	endpoint, proc, startErr = launch()
}

// launch starts a moto_server on a free loopback port and waits until it
// answers.
func launch() (string, *exec.Cmd, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	ep := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(ep + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return ep, cmd, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return "", nil, fmt.Errorf("moto_server did not answer on %s within 60s", ep)
}

// StartDedicated starts a moto_server of its own for a caller that runs in
// parallel with others (moto state is global to a server, and resets would
// collide). The returned stop function kills it.
func StartDedicated(t T) (endpoint string, stop func()) {
	t.Helper()
	ep, cmd, err := launch()
	if err != nil {
		if os.Getenv("NIMBUS_REQUIRE_MOTO") == "1" {
			t.Fatalf("moto_server: %v", err)
		}
		t.Skipf("moto_server not available: %v", err)
	}
	return ep, func() { cmd.Process.Kill(); cmd.Wait() }
}

// EnvFor is Env for a given endpoint.
func EnvFor(ep string) []string {
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

// Stop ends the server started by this process, if any. Call it from
// TestMain after m.Run.
func Stop() {
	if proc != nil && proc.Process != nil {
		proc.Process.Kill()
		proc.Wait()
	}
}
