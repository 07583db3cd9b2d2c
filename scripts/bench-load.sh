#!/usr/bin/env bash
# Measures the load generator's maximum request rate against a trivial local HTTP target
# (`tracemart bench-target`, one worker thread): with the generator's own spans off, and on
# (exported over OTLP/HTTP to the same target, which discards them). The generator gets one
# worker thread too, so the target and the generator each have a core.
#   scripts/bench-load.sh [--locust] [SECONDS]     (default 10 s per run)
# --locust also runs Locust (FastHttpUser, one process) the same way, installing it from PyPI
# into a virtual environment under target/ the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

locust=false
seconds=10
for arg in "$@"; do
  case $arg in
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --locust) locust=true ;;
    *) [[ $arg =~ ^[0-9]+$ ]] || { echo "unknown argument: $arg" >&2; exit 2; }; seconds=$arg ;;
  esac
done

cargo build --release --quiet -p tracemart
bin=target/release/tracemart
port=8099
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is in use" >&2
  exit 1
fi
"$bin" bench-target --listen "127.0.0.1:$port" --workers 1 2>/dev/null &
target_pid=$!
trap 'kill $target_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

rate() { sed -n 's/.* (\([0-9]*\)\/s).*/\1/p' | tail -n1; }

off=$("$bin" load --target "http://127.0.0.1:$port" --profile ping --users 64 --duration "${seconds}s" --no-spans --workers 1 2>/dev/null | rate)
echo "tracemart load, spans off: ${off} requests/s"
on=$(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
  "$bin" load --target "http://127.0.0.1:$port" --profile ping --users 64 --duration "${seconds}s" --workers 1 2>/dev/null | rate)
echo "tracemart load, spans on:  ${on} requests/s"

if $locust; then
  venv=target/locust-venv
  if [[ ! -x $venv/bin/locust ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet locust
  fi
  out=$("$venv/bin/locust" -f bench/locustfile.py --headless -u 64 -r 64 -t "${seconds}s" \
    --host "http://127.0.0.1:$port" --only-summary 2>&1 || true)
  locust_rate=$(printf '%s\n' "$out" | awk '/Aggregated/ {print $(NF-1); exit}')
  echo "locust FastHttpUser (1 process): ${locust_rate} requests/s"
fi
