#!/usr/bin/env bash
# Checks the public API against its OpenAPI document: starts target/debug/tracemart (or
# $TRACEMART_BIN) `up` on free ports with embedded stores, validates GET /openapi.json with
# openapi-spec-validator, then runs schemathesis against it (examples, coverage, fuzzing and
# stateful phases for --max-time seconds, 45 by default) and fails on any 5xx, any response
# whose body does not match its schema, and any undocumented content type.
#   scripts/check-api.sh [--max-time SECONDS]
# Installs the pinned tools into a virtualenv under $API_TOOLS_DIR (default
# ~/.cache/tracemart/api-tools) when missing. Builds nothing: build the workspace first.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_TIME=45
while [[ $# -gt 0 ]]; do
  case $1 in
    --max-time) MAX_TIME=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option '$1' (see scripts/check-api.sh --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

TOOLS=${API_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tracemart/api-tools}
REQUIREMENTS=(
  openapi-spec-validator==0.9.0
  schemathesis==4.32.5
)
# shellcheck source=scripts/lib/python-tools.sh
source scripts/lib/python-tools.sh
VENV=$(python_tools "$TOOLS" "${REQUIREMENTS[@]}")
BIN=${TRACEMART_BIN:-target/debug/tracemart}
[[ -x $BIN ]] || { echo "$BIN not found: run cargo build -p tracemart first" >&2; exit 1; }

WORK=$(mktemp -d)
SHOP_PID=
cleanup() {
  [[ -n $SHOP_PID ]] && kill "$SHOP_PID" 2>/dev/null && wait "$SHOP_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# Every service's port variable, each given a port the kernel says is free.
mapfile -t PORT_VARS < <("$BIN" services --json | python3 -c \
  'import json,sys; print("\n".join(v for v in json.load(sys.stdin)["environment"] if v.endswith("_PORT")))')
mapfile -t PORTS < <(python3 - "${#PORT_VARS[@]}" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
)
env_args=()
for i in "${!PORT_VARS[@]}"; do
  env_args+=("${PORT_VARS[$i]}=${PORTS[$i]}")
  [[ ${PORT_VARS[$i]} == FRONTEND_PORT ]] && FRONTEND=${PORTS[$i]}
done
[[ -n ${FRONTEND:-} ]] || { echo "no FRONTEND_PORT in $BIN services --json" >&2; exit 1; }

say "starting the shop (frontend on :$FRONTEND)"
env -u DATABASE_URL -u REDIS_URL -u OTEL_EXPORTER_OTLP_ENDPOINT "${env_args[@]}" \
  "$BIN" up --no-load --no-console --latency none --log-format off --sqlite "$WORK/shop.db" \
  >"$WORK/up.log" 2>&1 &
SHOP_PID=$!
# Waits for /ready, then saves the document: Python, which the tools need anyway, not curl.
python3 - "http://127.0.0.1:$FRONTEND" "$WORK/openapi.json" <<'PY' || { cat "$WORK/up.log" >&2; exit 1; }
import sys, time, urllib.request
base, out = sys.argv[1], sys.argv[2]
for _ in range(100):
    try:
        urllib.request.urlopen(base + "/ready", timeout=2)
        break
    except Exception:
        time.sleep(0.2)
else:
    sys.exit("the shop did not start")
with urllib.request.urlopen(base + "/openapi.json", timeout=5) as r, open(out, "wb") as f:
    f.write(r.read())
PY

say "openapi-spec-validator"
"$VENV/openapi-spec-validator" "$WORK/openapi.json"

say "schemathesis (${MAX_TIME}s)"
(cd "$WORK" && "$VENV/schemathesis" run "http://127.0.0.1:$FRONTEND/openapi.json" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance \
  --max-time "$MAX_TIME" --workers 2 --seed 1 --warnings off)
