#!/usr/bin/env bash
# bench/print.sh — `nimbus print` vs `sls print` (serverless v3) on three corpus
# services, same stubbed copy, same flags. Prints each median and, last, the
# median of the per-service speed-ups. Target: Nimbus >= 30x faster.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_tools
build_nimbus
RUNS="${RUNS:-5}"
SERVICES=(${SERVICES:-aws-node-rest-api-with-dynamodb aws-python-rest-api-with-dynamodb aws-node-http-api-typescript-dynamodb})
work=$(mktemp -d)
ratios=()
printf '%-45s %12s %12s %8s\n' service "nimbus ms" "sls ms" ratio
for svc in "${SERVICES[@]}"; do
  stub_copy "$svc" "$work/$svc"
  cd "$work/$svc"
  n=$(median_ms "$RUNS" "$NIMBUS" print --format json --stage dev --region us-east-1)
  s=$(median_ms "$RUNS" "$SLS" print --format json --stage dev --region us-east-1)
  r=$(awk -v s="$s" -v n="$n" 'BEGIN{ if (n < 1) n = 1; printf "%.1f", s/n }')
  ratios+=("$r")
  printf '%-45s %12s %12s %7sx\n' "$svc" "$n" "$s" "$r"
done
rm -rf "$work"
echo "median speed-up (sls print / nimbus print): $(printf '%s\n' "${ratios[@]}" | median)x"
