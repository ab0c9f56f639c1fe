#!/usr/bin/env bash
# corpus-print-expected.sh — regenerate testdata/corpus-print/: what serverless v3
# (`sls print --format json --stage dev --region us-east-1`) prints for every
# corpus service, offline, with fake credentials. Services v3 cannot print
# offline (network, plugins, rejected config) are listed in results.tsv with
# their first error line; the Go test expects Nimbus to reject those too when
# the reason is the config itself.
#
# usage: scripts/corpus-print-expected.sh [SERVICE...]
# needs: tools/node_modules (cd tools && npm ci), python3, ../shared/corpus
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${CORPUS:-$here/../shared/corpus}"
sls="$here/tools/node_modules/.bin/sls"
out="$here/testdata/corpus-print"
scratch="${SCRATCH:-/tmp/nimbus-print-corpus}"
[ -x "$sls" ] || (cd "$here/tools" && npm ci --no-audit --no-fund --ignore-scripts --legacy-peer-deps)
export SLS_TELEMETRY_DISABLED=1 SLS_TRACKING_DISABLED=1 SLS_NOTIFICATIONS_MODE=off \
  SLS_DEPRECATION_DISABLE='*' SLS_INTERACTIVE_SETUP_DISABLE=1 CI=1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_SDK_LOAD_CONFIG=0 FORCE_COLOR=0 NO_COLOR=1 \
  HOME="$scratch/home"
unset AWS_PROFILE AWS_SESSION_TOKEN 2>/dev/null || true
mkdir -p "$scratch/home" "$out"
# The pinned, code-free plugins the package oracle used resolve from a parent
# node_modules of every service folder (so they are never zipped).
ln -sfn "$here/tools/node_modules" "$scratch/node_modules"
if [ $# -gt 0 ]; then services=("$@"); else
  mapfile -t services < <(cd "$corpus/public" && ls -1d */ | tr -d / | LC_ALL=C sort)
fi
one() {
  svc="$1"
  work="$scratch/$svc"
  rm -rf "$work"; mkdir -p "$work"
  cp "$corpus/public/$svc/serverless.yml" "$work/"
  bash "$corpus/stub-handlers.sh" "$work" >/dev/null
  if (cd "$work" && timeout 120 "$sls" print --format json --stage dev --region us-east-1 </dev/null) >"$work/.print.json" 2>"$work/.print.err"; then
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/.print.json" 2>/dev/null \
      && cp "$work/.print.json" "$out/$svc.json" \
      && printf '%s\tok\t\n' "$svc" > "$work/.result" && return
  fi
  rm -f "$out/$svc.json"
  # the first meaningful line after v3's "Error:" header
  err=$(cat "$work/.print.json" "$work/.print.err" | sed 's/\x1b\[[0-9;]*m//g' | awk '
      found && NF { sub(/^[[:space:]]*/, ""); print; exit }
      /^[[:space:]]*(✖ *)?Error:?[[:space:]]*$/ { found=1 }' | head -1 | tr '\t' ' ' | cut -c1-240)
  printf '%s\tfail\t%s\n' "$svc" "$err" > "$work/.result"
}
export -f one; export corpus sls out scratch
printf '%s\n' "${services[@]}" | xargs -P "${JOBS:-2}" -I{} bash -c 'one {}'
for svc in "${services[@]}"; do cat "$scratch/$svc/.result"; done | LC_ALL=C sort > "$out/results.tsv.new"
if [ $# -gt 0 ] && [ -f "$out/results.tsv" ]; then
  # partial run: merge into the existing table
  LC_ALL=C sort -t$'\t' -k1,1 -u "$out/results.tsv.new" "$out/results.tsv" > "$out/results.tsv.tmp" && mv "$out/results.tsv.tmp" "$out/results.tsv"; rm "$out/results.tsv.new"
else
  mv "$out/results.tsv.new" "$out/results.tsv"
fi
echo "$(grep -c $'\tok\t' "$out/results.tsv") printed, $(grep -c $'\tfail\t' "$out/results.tsv") failed" >&2
