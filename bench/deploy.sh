#!/usr/bin/env bash
# bench/deploy.sh — Nimbus deploy timings against moto_server on loopback:
# a generated 20-function service, full deploy (stack creation included),
# then an unchanged redeploy, which v3's change check turns into a skip
# (target < 0.5 s wall). Prints each run and the medians last.
# moto cannot run serverless v3's deploy side by side offline in the same
# way (v3 needs its own credentials/region setup); this benchmark reports
# Nimbus' figures only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build_nimbus
RUNS="${RUNS:-5}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 100); do curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break; sleep 0.1; done

work=$(mktemp -d)
trap 'kill $moto_pid 2>/dev/null; rm -rf "$work"' EXIT
{
  echo "service: bench20"
  echo "provider: {name: aws, runtime: nodejs20.x}"
  echo "functions:"
  for i in $(seq -w 1 20); do
    echo "  fn$i:"
    echo "    handler: src/fn$i.handler"
    echo "    events: [{httpApi: 'GET /fn$i'}]"
  done
} > "$work/serverless.yml"
mkdir -p "$work/src"
for i in $(seq -w 1 20); do echo "exports.handler = async () => ({ statusCode: 200, body: 'fn$i' });" > "$work/src/fn$i.js"; done
cd "$work"

full=(); skip=()
for ((r = 0; r < RUNS; r++)); do
  curl -sf -X POST "$AWS_ENDPOINT_URL/moto-api/reset" >/dev/null
  full+=("$(time_ms "$NIMBUS" deploy --no-validate)")
  skip+=("$(time_ms "$NIMBUS" deploy --no-validate)")
  "$NIMBUS" deploy --no-validate 2>/dev/null | grep -q 'No changes to deploy' || { echo "redeploy was not skipped" >&2; exit 1; }
  printf 'run %d: full deploy %s ms, unchanged redeploy %s ms\n' "$((r + 1))" "${full[-1]}" "${skip[-1]}"
done
echo "median full deploy (20 functions, stack creation): $(printf '%s\n' "${full[@]}" | median) ms"
echo "median unchanged redeploy (skipped): $(printf '%s\n' "${skip[@]}" | median) ms (target < 500 ms)"
