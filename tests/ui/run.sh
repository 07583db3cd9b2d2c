#!/usr/bin/env bash
# Headless-browser tests of the telemetry console's web UI and of the storefront.
#
# First runs the unit tests of the page's pure modules (tests/ui/unit/, `node --test`). Then
# starts `tracemart up` on free ports (SQLite in a temporary directory, 5 journeys/s), waits
# until it answers, drives the console's page in headless Chromium (tests/ui/console.test.mjs)
# and the storefront (tests/ui/storefront.test.mjs) in headless Chromium, and always stops the
# shop again. Screenshots of the main views and pages land in tests/ui/screenshots/.
#
#   tests/ui/run.sh
#   TRACEMART_BIN=target/release/tracemart tests/ui/run.sh
#   UI_FROM_SOURCE=1 tests/ui/run.sh     # serve crates/console/src/ui/ from disk
#                                        # (devserver.mjs) instead of the copy in the binary
#
# Needs Node.js 20+ with npm, and Chromium (installed with apt-get when missing and run as
# root; CHROMIUM=/path/to/chromium to use another one).

set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

say() { printf 'run.sh: %s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

# --- Chromium --------------------------------------------------------------------------
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Chromium with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  [ -x "$CHROMIUM" ] || die "no Chromium at $CHROMIUM. Install it (Debian/Ubuntu, as root: apt-get install -y chromium) or point CHROMIUM at a Chromium or Chrome binary."
fi

# --- Node and the test's one dependency (playwright-core: no browser download) ---------
command -v node >/dev/null 2>&1 || die "Node.js 20 or later is needed (node not found)"
command -v npm >/dev/null 2>&1 || die "npm is needed (not found)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js 20 or later is needed (found $(node --version))"

# --- the page's unit tests: layout, labels, windows, trace trees, formatting -----------
say "unit tests of the page's modules"
node --test "$here"/unit/*.test.mjs || { say "the page's unit tests failed" >&2; exit 1; }
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

# --- the binary ------------------------------------------------------------------------
BIN="${TRACEMART_BIN:-$root/target/debug/tracemart}"
for _ in $(seq 1 60); do
  [ -x "$BIN" ] && break
  say "waiting for $BIN (being rebuilt?)"
  sleep 1
done
[ -x "$BIN" ] || die "no tracemart binary at $BIN: build it (cargo build) or set TRACEMART_BIN"

# --- free ports for every listener -----------------------------------------------------
services_json="$("$BIN" services --json)"
mapfile -t port_vars < <(node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const s of d.services) if (s.port_var) console.log(s.port_var);
' <<<"$services_json")
expected_services="$(node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
  console.log(d.services.map(s => s.name).join(","));
' <<<"$services_json")"
port_vars+=(TRACEMART_CONSOLE_PORT TRACEMART_OTLP_GRPC_PORT TRACEMART_OTLP_HTTP_PORT)
# one more for the page server of UI_FROM_SOURCE=1
read -r -a ports <<<"$(node -e '
  const net = require("net");
  (async () => {
    const servers = [];
    for (let i = 0; i < Number(process.argv[1]); i++) {
      const s = net.createServer();
      await new Promise(r => s.listen(0, "127.0.0.1", r));
      servers.push(s);
    }
    console.log(servers.map(s => s.address().port).join(" "));
    for (const s of servers) s.close();
  })();
' "$(( ${#port_vars[@]} + 1 ))")"
for i in "${!port_vars[@]}"; do
  export "${port_vars[$i]}=${ports[$i]}"
done
page_port="${ports[${#port_vars[@]}]}"

# a hermetic shop: embedded SQLite, in-memory carts, telemetry only to its own console
unset DATABASE_URL REDIS_URL DEMO_MODE LOAD_DISABLED LOAD_RATE TRACEMART_NO_CONSOLE OTEL_SDK_DISABLED \
  OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT OTEL_EXPORTER_OTLP_LOGS_ENDPOINT \
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT OTEL_TRACES_EXPORTER OTEL_LOGS_EXPORTER OTEL_METRICS_EXPORTER \
  TRACEMART_CONTROL_TOKEN TRACEMART_HOST
export OTEL_METRIC_EXPORT_INTERVAL=2000

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tracemart-ui.XXXXXX")"
shop_pid=""
page_pid=""
cleanup() {
  local rc=$?
  if [ -n "$page_pid" ]; then kill "$page_pid" 2>/dev/null || true; fi
  if [ -n "$shop_pid" ] && kill -0 "$shop_pid" 2>/dev/null; then
    kill -TERM "$shop_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$shop_pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$shop_pid" 2>/dev/null || true
    wait "$shop_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] && [ -s "$tmp/up.log" ]; then
    echo "--- last lines of tracemart up ---" >&2
    tail -n 30 "$tmp/up.log" >&2
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

console_url="http://127.0.0.1:$TRACEMART_CONSOLE_PORT"
say "starting the shop (frontend :$FRONTEND_PORT, console :$TRACEMART_CONSOLE_PORT)"
"$BIN" up --sqlite "$tmp/shop.db" --load-rate 5 --log-format off >"$tmp/up.log" 2>&1 &
shop_pid=$!

# --- ready: the console and the frontend answer ----------------------------------------
ready=""
for _ in $(seq 1 120); do
  if ! kill -0 "$shop_pid" 2>/dev/null; then
    say "tracemart up exited before it was ready" >&2
    exit 1
  fi
  if "$BIN" health --timeout 1 "$console_url/api/stats" >/dev/null 2>&1 &&
     "$BIN" health --timeout 1 "$FRONTEND_PORT" >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.5
done
[ -n "$ready" ] || { say "the shop did not become ready within 60 s" >&2; exit 1; }
say "shop ready"

page_url="$console_url"
if [ -n "${UI_FROM_SOURCE:-}" ]; then
  # the console forwards /api/shop and /api/load itself when it can; else the page server does
  page_env=(CONSOLE_URL="$console_url" PORT="$page_port")
  if ! "$BIN" health --timeout 2 "$console_url/api/shop/scenarios" >/dev/null 2>&1; then
    page_env+=(SHOP_URL="http://127.0.0.1:$FRONTEND_PORT" LOAD_URL="http://127.0.0.1:$LOAD_GENERATOR_PORT")
  fi
  env "${page_env[@]}" node "$here/devserver.mjs" >"$tmp/page.log" 2>&1 &
  page_pid=$!
  page_url="http://127.0.0.1:$page_port"
  for _ in $(seq 1 40); do
    "$BIN" health --timeout 1 "$page_url/api/stats" >/dev/null 2>&1 && break
    sleep 0.25
  done
  say "page from source at $page_url"
fi

CONSOLE_URL="$page_url" EXPECTED_SERVICES="$expected_services" CHROMIUM="$CHROMIUM" \
  node "$here/console.test.mjs"

say "the storefront against the same shop"
STORE_URL="http://127.0.0.1:$FRONTEND_PORT" CONSOLE_URL="$console_url" CHROMIUM="$CHROMIUM" \
  TRACEMART_BIN="$BIN" node "$here/storefront.test.mjs"
