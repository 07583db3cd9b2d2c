#!/usr/bin/env bash
# Measures `tracemart up`: start-up time (process start until every service answers /ready and
# the console its API) and resident memory after a period of default load, the console holding
# the telemetry. Embedded stores, no other exporter.
#   scripts/bench-up.sh [SECONDS_OF_LOAD]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
load_seconds=${1:-60}
[[ $load_seconds =~ ^[0-9]+$ ]] || { echo "SECONDS_OF_LOAD must be a whole number" >&2; exit 2; }

cargo build --release --quiet -p tracemart
bin=target/release/tracemart
data=$(mktemp -d)
pid=""
trap '[[ -n $pid ]] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; rm -rf "$data"' EXIT

# every service's port, from the binary's services table
mapfile -t ports < <("$bin" services --json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["services"]:
    print(s["port"])
')
[[ ${#ports[@]} -gt 0 ]] || { echo "tracemart services --json listed no services" >&2; exit 1; }
console_ports=(8090 4317 4318)
for p in "${ports[@]}" "${console_ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "port $p is in use: stop whatever listens there first" >&2
    exit 1
  fi
done

start_ns=$(date +%s%N)
"$bin" up --sqlite "$data/shop.db" --log-format off >"$data/up.log" 2>&1 &
pid=$!
status_line() {
  ( exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3 && cat <&3 ) 2>/dev/null
}
ready() {
  for p in "${ports[@]}"; do
    status_line "$p" /ready | head -n1 | grep -q ' 200 ' || return 1
  done
  status_line 8090 /api/stats | head -n1 | grep -q ' 200 ' || return 1
}
until ready; do
  kill -0 "$pid" 2>/dev/null || { echo "tracemart up exited:"; cat "$data/up.log"; exit 1; }
  (( $(date +%s%N) - start_ns < 30000000000 )) || { echo "not ready after 30 s"; exit 1; }
  sleep 0.01
done
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
echo "start-up: every service ready after ${ready_ms} ms"

sleep "$load_seconds"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
threads=$(awk '/Threads/ {print $2}' "/proc/$pid/status")
status=$(status_line 8010 /status | tail -n1)
echo "after ${load_seconds} s of default load: RSS $(( rss_kb / 1024 )) MiB (${rss_kb} kB), ${threads} threads"
echo "load generator: $status"
