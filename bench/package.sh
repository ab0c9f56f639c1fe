#!/usr/bin/env bash
# bench/package.sh — `nimbus package` vs `sls package` (serverless v3) on the
# three largest plugin-free corpus services (by compiled template size),
# same stubbed copy, same flags, offline with fake credentials. Prints each
# median and, last, the median of the per-service speed-ups. Then times
# `nimbus package` on a generated 300-function package.individually
# service (target < 2 s).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_tools
build_nimbus
RUNS="${RUNS:-5}"
SERVICES=(${SERVICES:-aws-node-rest-api-with-dynamodb aws-python-rest-api-with-dynamodb aws-golang-rest-api-with-dynamodb})
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME="$work/home"; mkdir -p "$HOME"

# 300 functions, each packaged on its own, two handler files apiece.
big="$work/big300"
mkdir -p "$big/src"
{
  echo "service: big300"
  echo "frameworkVersion: \"3\""
  echo "provider:"
  echo "  name: aws"
  echo "  runtime: nodejs18.x"
  echo "package:"
  echo "  individually: true"
  echo "  patterns:"
  echo "    - '!src/**'"
  echo "functions:"
  for i in $(seq 1 300); do
    echo "  fn$i:"
    echo "    handler: src/fn$i/index.handler"
    echo "    package:"
    echo "      patterns:"
    echo "        - src/fn$i/**"
    echo "    events:"
    echo "      - httpApi: GET /fn$i"
  done
} > "$big/serverless.yml"
for i in $(seq 1 300); do
  mkdir -p "$big/src/fn$i"
  printf 'exports.handler = async () => ({ statusCode: 200, body: "fn%d" });\n' "$i" > "$big/src/fn$i/index.js"
  head -c 20000 /dev/zero | tr '\0' 'x' > "$big/src/fn$i/data.txt"
done

ratios=()
printf '%-45s %12s %12s %8s\n' service "nimbus ms" "sls ms" ratio
for svc in "${SERVICES[@]}"; do
  stub_copy "$svc" "$work/$svc"
  cd "$work/$svc"
  n=$(median_ms "$RUNS" "$NIMBUS" package --stage dev --region us-east-1)
  s=$(median_ms "$RUNS" "$SLS" package --stage dev --region us-east-1)
  r=$(awk -v s="$s" -v n="$n" 'BEGIN{ if (n < 1) n = 1; printf "%.1f", s/n }')
  ratios+=("$r")
  printf '%-45s %12s %12s %7sx\n' "$svc" "$n" "$s" "$r"
done

cd "$big"
b=$(median_ms 3 "$NIMBUS" package --stage dev --region us-east-1)
zips=$(ls "$big/.serverless"/*.zip | wc -l)
verdict=$(awk -v b="$b" 'BEGIN{ print (b < 2000) ? "ok, target < 2000 ms" : "SLOWER than the 2000 ms target" }')
printf '300-function package.individually service: nimbus %s ms (%s zips; %s)\n' "$b" "$zips" "$verdict"
echo "median speed-up (sls package / nimbus package): $(printf '%s\n' "${ratios[@]}" | median)x"
