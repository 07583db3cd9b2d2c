#!/usr/bin/env bash
# Measures the console's ingest on one core: OTLP trace batches shaped like the shop's
# (512 spans each, 8-9 attributes per span) decoded and stored, spans per second, and the
# memory 100,000 stored spans take; with more spans than the store's cap, it also shows the
# store staying within it.
#   scripts/bench-ingest.sh [SPANS] [MAX_SPANS]     (defaults: 2000000 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
spans=${1:-2000000}
max=${2:-200000}
[[ $spans =~ ^[0-9]+$ && $max =~ ^[0-9]+$ ]] || { echo "SPANS and MAX_SPANS are whole numbers" >&2; exit 2; }
cargo build --release --quiet -p tracemart
exec taskset -c 0 target/release/tracemart bench-ingest --spans "$spans" --max-spans "$max"
