# bench/lib.sh — shared helpers for the side-by-side benchmarks (sourced).
# Each benchmark runs Nimbus and the reference tool on the same input and
# prints the ratio last.

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${CORPUS:-$BENCH_ROOT/../shared/corpus}"
SLS="$BENCH_ROOT/tools/node_modules/.bin/sls"

# Offline, quiet, fake credentials: the reference tool must not reach the network.
export SLS_TELEMETRY_DISABLED=1 SLS_TRACKING_DISABLED=1 SLS_NOTIFICATIONS_MODE=off \
  SLS_DEPRECATION_DISABLE='*' SLS_INTERACTIVE_SETUP_DISABLE=1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

ensure_tools() {
  [ -x "$SLS" ] || (cd "$BENCH_ROOT/tools" && npm ci --no-audit --no-fund --ignore-scripts --legacy-peer-deps >&2)
}

build_nimbus() {
  NIMBUS="${NIMBUS:-$(mktemp -d)/nimbus}"
  (cd "$BENCH_ROOT" && go build -o "$NIMBUS" ./cmd/nimbus)
}

# stub_copy SERVICE DEST: a packageable copy of a corpus service.
stub_copy() {
  rm -rf "$2"; mkdir -p "$2"
  cp "$CORPUS/public/$1/serverless.yml" "$2/"
  bash "$CORPUS/stub-handlers.sh" "$2" >/dev/null
}

# time_ms CMD...: wall time of one run in milliseconds (output discarded).
time_ms() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>"${TMPDIR:-/tmp}/bench-last-stderr" || { echo "command failed: $*" >&2; cat "${TMPDIR:-/tmp}/bench-last-stderr" >&2; return 1; }
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN{printf "%.2f", ns/1e6}'
}

# median_ms RUNS CMD...: median wall time over RUNS runs, milliseconds.
median_ms() {
  local runs=$1; shift
  local times=() i
  for ((i = 0; i < runs; i++)); do times+=("$(time_ms "$@")") || return 1; done
  printf '%s\n' "${times[@]}" | median
}

# median of numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
