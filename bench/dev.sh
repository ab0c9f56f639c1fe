#!/usr/bin/env bash
# bench/dev.sh — HTTP throughput of `nimbus dev` against serverless-offline 13
# and a bare Go net/http server, all on loopback with wrk for DURATION
# (default 10s) at concurrency 1 and 8:
#   (a) nimbus dev, aws-lambda-go function      (b) nimbus dev, Node function
#   (c) serverless-offline, same Node function, default (worker threads) and --useInProcess
#   (d) bare Go net/http returning the same body
#   (e) the floor for (a): the thinnest possible front for the same
#       aws-lambda-go binary — net/http, then net/rpc to one of 8 processes
#       (one per in-flight request, as Lambda's instances), a fixed event,
#       no routing, no event building, no response mapping, no logs
# Prints req/s, p50 and p99 for each, then the ratios against the targets.
# (e) shows how much of (a)'s cost is Nimbus and how much is running an
# unmodified aws-lambda-go process per instance on this machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${DURATION:-10s}"
BODY='{"message":"hello"}'

if ! command -v wrk >/dev/null; then
  echo "installing wrk…" >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >&2
fi
ensure_tools
build_nimbus

WORK="$(mktemp -d)"
# The Go function must live inside the module to build against its go.mod.
GOFN="$(mktemp -d "$BENCH_ROOT/bench/.gofn-XXXXXX")"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK" "$GOFN"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() { # URL: until it answers 200 (the first request also warms the function)
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2; return 1
}

stop_all() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

# run_wrk NAME URL: one line per concurrency: NAME C req/s p50_ms p99_ms
declare -A RPS P50 P99
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; printf "%.2f", v}'; }
run_wrk() {
  local name=$1 url=$2 c out
  curl -sf "$url" | grep -q '"message":"hello"' || { echo "$name: unexpected body: $(curl -s "$url")" >&2; return 1; }
  # Warm up first so every tool has its instances started before measuring.
  wrk -t 2 -c 8 -d 2s "$url" >/dev/null
  for c in 1 8; do
    out=$(wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "$DURATION" --latency "$url")
    RPS[$name,$c]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    P50[$name,$c]=$(awk '$1=="50%" {print $2}' <<<"$out" | to_ms)
    P99[$name,$c]=$(awk '$1=="99%" {print $2}' <<<"$out" | to_ms)
    errs=$(awk '/Non-2xx|Socket errors/' <<<"$out")
    [ -z "$errs" ] || echo "$name c=$c: $errs" >&2
    printf '%-28s c=%d  %8s req/s  p50 %7s ms  p99 %7s ms\n' "$name" "$c" "${RPS[$name,$c]}" "${P50[$name,$c]}" "${P99[$name,$c]}"
  done
}

# --- services -------------------------------------------------------------
cat >"$GOFN/main.go" <<'GO'
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: `{"message":"hello"}`, Headers: map[string]string{"Content-Type": "application/json"}}, nil
	})
}
GO
cat >"$GOFN/serverless.yml" <<YML
service: benchgo
provider: {name: aws, runtime: provided.al2023}
functions:
  hello:
    handler: .
    events: [{httpApi: GET /hello}]
YML

mkdir -p "$WORK/node"
cat >"$WORK/node/handler.js" <<'JS'
exports.hello = async () => ({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{"message":"hello"}' });
JS
cat >"$WORK/node/serverless.yml" <<'YML'
service: benchnode
frameworkVersion: '3'
provider: {name: aws, runtime: nodejs20.x}
plugins: [serverless-offline]
functions:
  hello:
    handler: handler.hello
    events: [{httpApi: GET /hello}]
YML
ln -s "$BENCH_ROOT/tools/node_modules" "$WORK/node/node_modules"

mkdir -p "$WORK/bare"
cat >"$WORK/bare/main.go" <<'GO'
package main

import (
	"net/http"
	"os"
)

func main() {
	body := []byte(`{"message":"hello"}`)
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	http.ListenAndServe("127.0.0.1:"+os.Args[1], nil)
}
GO
(cd "$WORK/bare" && go mod init bare >/dev/null 2>&1 && go build -o bare .)

# (e): the function built as Nimbus builds it, and a minimal front for it.
# The front lives inside the module to share its aws-lambda-go version.
(cd "$GOFN" && CGO_ENABLED=0 go build -o "$WORK/gofn-bootstrap" .)
mkdir -p "$GOFN/floor"
cat >"$GOFN/floor/main.go" <<'GO'
// floor: net/http in front of N aws-lambda-go processes over their RPC
// protocol, each serving one request at a time. Args: PORT RPC_PORT...
package main

import (
	"encoding/json"
	"net/http"
	"net/rpc"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

var event = []byte(`{"version":"2.0","routeKey":"GET /hello","rawPath":"/hello","rawQueryString":"","headers":{"host":"127.0.0.1","user-agent":"wrk"},"requestContext":{"accountId":"000000000000","apiId":"local","domainName":"127.0.0.1","domainPrefix":"127","http":{"method":"GET","path":"/hello","protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":"wrk"},"requestId":"r","routeKey":"GET /hello","stage":"$default","time":"24/Nov/2026:00:00:00 +0000","timeEpoch":0},"isBase64Encoded":false}`)

func main() {
	idle := make(chan *rpc.Client, len(os.Args)-2)
	for _, port := range os.Args[2:] {
		var c *rpc.Client
		var err error
		for i := 0; i < 500; i++ {
			if c, err = rpc.Dial("tcp", "127.0.0.1:"+port); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			panic(err)
		}
		idle <- c
	}
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		c := <-idle
		defer func() { idle <- c }()
		var resp messages.InvokeResponse
		deadline := time.Now().Add(time.Minute)
		if err := c.Call("Function.Invoke", &messages.InvokeRequest{Payload: event, RequestId: "r",
			Deadline: messages.InvokeRequest_Timestamp{Seconds: deadline.Unix()}}, &resp); err != nil {
			w.WriteHeader(502)
			return
		}
		var out struct{ Body string }
		json.Unmarshal(resp.Payload, &out)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(out.Body))
	})
	http.ListenAndServe("127.0.0.1:"+os.Args[1], nil)
}
GO
(cd "$GOFN/floor" && go build -o "$WORK/floor" .)

start_floor() { # PORT
  local ports=() i p
  for i in 1 2 3 4 5 6 7 8; do
    p=$(free_port); ports+=("$p")
    # GOMAXPROCS=1: what Nimbus gives a 1024 MB function (Lambda's vCPU share).
    GOMAXPROCS=1 _LAMBDA_SERVER_PORT=$p "$WORK/gofn-bootstrap" >/dev/null 2>&1 & PIDS+=($!)
  done
  "$WORK/floor" "$1" "${ports[@]}" & PIDS+=($!)
  wait_http "http://127.0.0.1:$1/hello"
}

start_nimbus() { # DIR PORT
  local l a
  l=$(free_port); a=$(free_port)
  (cd "$1" && exec "$NIMBUS" dev --httpPort "$2" --lambdaPort "$l" --awsPort "$a" --no-reload >"$WORK/nimbus-$2.log" 2>&1) &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$2/hello"
}

start_offline() { # PORT [--useInProcess]
  local l
  l=$(free_port)
  (cd "$WORK/node" && exec "$SLS" offline --httpPort "$1" --lambdaPort "$l" --noTimeout "${@:2}" >"$WORK/offline-$1.log" 2>&1) &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$1/hello"
}

echo "wrk ${DURATION} per run on $(nproc) cores (load average now: $(cut -d' ' -f1-3 /proc/loadavg)); body $BODY"

P=$(free_port); start_nimbus "$GOFN" "$P"; run_wrk "a nimbus dev (Go)" "http://127.0.0.1:$P/hello"; stop_all
P=$(free_port); start_nimbus "$WORK/node" "$P"; run_wrk "b nimbus dev (Node)" "http://127.0.0.1:$P/hello"; stop_all
P=$(free_port); start_offline "$P"; run_wrk "c offline (default)" "http://127.0.0.1:$P/hello"; stop_all
P=$(free_port); start_offline "$P" --useInProcess; run_wrk "c offline (useInProcess)" "http://127.0.0.1:$P/hello"; stop_all
P=$(free_port); "$WORK/bare/bare" "$P" & PIDS+=($!); wait_http "http://127.0.0.1:$P/hello"; run_wrk "d bare Go net/http" "http://127.0.0.1:$P/hello"; stop_all
P=$(free_port); start_floor "$P"; run_wrk "e floor for (a)" "http://127.0.0.1:$P/hello"; stop_all

echo
A=${RPS["a nimbus dev (Go)",8]}; B=${RPS["b nimbus dev (Node)",8]}
CD=${RPS["c offline (default)",8]}; CI=${RPS["c offline (useInProcess)",8]}; D=${RPS["d bare Go net/http",8]}; E=${RPS["e floor for (a)",8]}
CF=$(( CD > CI ? CD : CI ))
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a" }'; }
echo "ratios at concurrency 8 (targets in brackets):"
echo "  (a)/(c fastest)  $(ratio "$A" "$CF")x   [>= 4]"
echo "  (a)/(d)          $(ratio "$A" "$D")    [>= 0.30]"
echo "  (b)/(c fastest)  $(ratio "$B" "$CF")x   [>= 1]"
echo "  (b)/(c default)  $(ratio "$B" "$CD")x   [>= 5]"
echo "  (a)/(e)          $(ratio "$A" "$E")    (Nimbus against the floor of its design; (e)/(d) is $(ratio "$E" "$D"))"
echo "  p99 (a) ${P99["a nimbus dev (Go)",8]} ms, (b) ${P99["b nimbus dev (Node)",8]} ms   [< 10 ms]"
