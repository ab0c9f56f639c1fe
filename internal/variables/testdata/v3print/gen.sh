#!/usr/bin/env bash
# Regenerates <case>.v3.json: what serverless v3 (`sls print`) makes of each
# <case>.yml (under a fixed service/provider header, with the files of
# files.d/ beside it), or the error it stops with. Run from anywhere:
#   internal/variables/testdata/v3print/gen.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
sls="$repo/tools/node_modules/.bin/sls"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_DEPRECATION_DISABLE='*' CI=1 \
  FORCE_COLOR=0 NO_COLOR=1 HOME="$scratch/home" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
# The environment the Go test gives the resolver too (see v3print_test.go).
export SET_VAR=set EMPTY_VAR= SELF_REF='a${env:SELF_REF}'
for f in "$here"/*.yml; do
  name="$(basename "$f" .yml)"
  dir="$scratch/$name"; mkdir -p "$dir"
  cp "$here"/files.d/* "$dir"/
  { printf 'service: v3case\nprovider:\n  name: aws\n  runtime: nodejs18.x\n'; cat "$f"; } > "$dir/serverless.yml"
  if (cd "$dir" && "$sls" print --format json --stage dev --region us-east-1 --param cli=fromCli) >"$dir/out" 2>"$dir/err"; then
    python3 -c 'import json,sys; print(json.dumps({"config": json.load(open(sys.argv[1]))}, indent=1))' "$dir/out" > "$here/$name.v3.json"
  else
    python3 - "$dir/out" "$dir/err" > "$here/$name.v3.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read() + open(sys.argv[2]).read()
text = re.sub(r'\x1b\[[0-9;]*m', '', text)
m = re.search(r'Error:\n(.*?)(\nEnvironment:|\n\n|\Z)', text, re.S)
print(json.dumps({"error": (m.group(1) if m else text).strip()}, indent=1))
PY
  fi
  echo "$name: $(head -c 80 "$here/$name.v3.json" | tr '\n' ' ')"
done
