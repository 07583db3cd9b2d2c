#!/usr/bin/env bash
# Checks a deployed shop: workloads ready, every service healthy through the image's own
# binary, peers reachable as the NetworkPolicies allow, traffic flowing, telemetry leaving,
# and last the telemetry itself: `tracemart validate` run in the load generator's pod against
# the console (services, call graph, trace depth, orphans, traffic.type, databases, logs,
# metrics), waiting up to 90s for every check to pass.
#   scripts/validate.sh [options] [-- arguments for `tracemart validate`]
# Options:
#   --namespace NS       default ecommerce-demo
#   --timeout DURATION   how long workloads may take to become ready (default 120s)
#   --traffic-wait SEC   how long to watch the load generator for journeys (default 30)
#   --local-port PORT    local port for the port-forward to the load generator (default 18010)
#   --skip-traffic       do not check the load generator
#   --skip-telemetry     do not check the collector, the console and `tracemart validate`
#   -h, --help
# After --: more arguments for `tracemart validate`, for example `-- --expect core` or
# `-- --wait 5m`; they replace the defaults (--console http://console:8090 --shop
# http://frontend:8018 --wait 90s) of the same name.
# Needs kubectl and python3 only: health checks run `tracemart health` inside the pods.
# Changes nothing, so it is safe to run any number of times.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=deploy/lib/common.sh
source "$(dirname "$0")/../deploy/lib/common.sh"

TIMEOUT=120s TRAFFIC_WAIT=30 LOCAL_PORT=18010 TRAFFIC=true TELEMETRY=true VALIDATE_ARGS=()
# Where `tracemart validate` runs and what it reads (Service names in the namespace).
VALIDATE_POD=load-generator CONSOLE_URL=http://console:8090 SHOP_URL=http://frontend:8018
while (($#)); do
  case $1 in
    --namespace) NAMESPACE=${2:?--namespace needs a name}; shift ;;
    --timeout) TIMEOUT=${2:?--timeout needs a duration}; shift ;;
    --traffic-wait) TRAFFIC_WAIT=${2:?--traffic-wait needs seconds}; shift ;;
    --local-port) LOCAL_PORT=${2:?--local-port needs a port}; shift ;;
    --skip-traffic) TRAFFIC=false ;;
    --skip-telemetry) TELEMETRY=false ;;
    -h | --help) usage "$0"; exit 0 ;;
    --) shift; VALIDATE_ARGS=("$@"); break ;;
    *) die "unknown option '$1'" "see scripts/validate.sh --help" ;;
  esac
  shift
done
need kubectl "to talk to the cluster"
need python3 "to read the load generator's status"

failures=()
fail() { printf '%sFAIL%s %s\n' "$RED" "$RESET" "$1"; failures+=("$1"); }
pass() { printf 'ok   %s\n' "$1"; }

say "workloads ready"
mapfile -t names < <(kc get deployments,statefulsets -l "$PART_OF" -o name 2>/dev/null |
  sed -E 's#^(deployment|statefulset)\.apps/#\1/#')
((${#names[@]})) || die "nothing of tracemart is deployed in namespace $NAMESPACE" \
  "deploy it with scripts/deploy.sh"
if wait_rollouts "$TIMEOUT" "${names[@]}" >/dev/null; then
  pass "${#names[@]} workloads rolled out"
else
  for name in "${FAILED_ROLLOUTS[@]}"; do fail "$name is not rolled out"; done
fi
# Pods that are not Ready, leaving out those being replaced (they are on their way out).
not_ready() {
  kc get pods -l "$PART_OF" -o json | python3 -c '
import json, sys
for pod in json.load(sys.stdin)["items"]:
    meta, status = pod["metadata"], pod.get("status") or {}
    if meta.get("deletionTimestamp") or status.get("phase") == "Succeeded":
        continue
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])
    if not ready:
        print(meta["name"], end=" ")'
}
pending=unknown
for _ in $(seq 1 "${VALIDATE_READY_TRIES:-30}"); do
  pending=$(not_ready) || pending="(kubectl get pods failed)"
  [[ -n $pending ]] || break
  sleep 2
done
if [[ -z $pending ]]; then
  pass "every pod is Ready"
else
  fail "pods not Ready: $pending"
fi

say "health, through the image's own binary"
# service port calls… for every shop service, from the Deployments and deploy/services.json
mapfile -t services < <(kc get deployments -l app.kubernetes.io/component=service \
  -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.template.spec.containers[0].ports[0].containerPort}{"\n"}{end}')
declare -A port_of=()
for line in "${services[@]}"; do port_of[${line% *}]=${line#* }; done
calls_of() {
  python3 -c 'import json, sys
for s in json.load(open(sys.argv[1]))["services"]:
    if s["name"] == sys.argv[2]:
        print(" ".join(s["calls"]))' "$ROOT/deploy/services.json" "$1"
}
health() { kc exec "deploy/$1" -c tracemart -- tracemart health --timeout 3 "$2" >/dev/null 2>&1; }
for line in "${services[@]}"; do
  name=${line% *} port=${line#* }
  if health "$name" "http://127.0.0.1:$port/health" && health "$name" "http://127.0.0.1:$port/ready"; then
    pass "$name: /health and /ready"
  else
    fail "$name: /health or /ready failed (kubectl -n $NAMESPACE exec deploy/$name -- tracemart health http://127.0.0.1:$port/ready)"
  fi
  for peer in $(calls_of "$name"); do
    if [[ -z ${port_of[$peer]:-} ]]; then
      fail "$name calls $peer, which is not deployed"
    elif health "$name" "http://$peer:${port_of[$peer]}/health"; then
      pass "$name -> $peer"
    else
      fail "$name cannot reach $peer:${port_of[$peer]} (Service, DNS or NetworkPolicy)"
    fi
  done
done

if $TRAFFIC; then
  say "traffic (load generator, for up to ${TRAFFIC_WAIT}s)"
  log=$(mktemp)
  # Not through kc: $! must be kubectl itself, so that killing it ends the forward.
  kubectl --namespace "$NAMESPACE" port-forward svc/load-generator "$LOCAL_PORT:8010" >"$log" 2>&1 &
  forward=$!
  # shellcheck disable=SC2064 # the pid and file are fixed now
  trap "kill $forward 2>/dev/null || true; rm -f '$log'" EXIT
  if python3 - "$LOCAL_PORT" "$TRAFFIC_WAIT" <<'PY'; then
import json, sys, time, urllib.request
port, wait = int(sys.argv[1]), float(sys.argv[2])
url = f"http://127.0.0.1:{port}/status"
deadline = time.monotonic() + wait

def status():
    with urllib.request.urlopen(url, timeout=3) as answer:
        return json.load(answer)

def totals(doc):
    journeys = doc.get("journeys") or {}
    return (sum(j.get("succeeded", 0) for j in journeys.values()),
            sum(j.get("failed", 0) for j in journeys.values()))

first = None
while time.monotonic() < deadline:
    try:
        doc = status()
    except OSError:
        time.sleep(0.5)
        continue
    if first is None:
        first = totals(doc)
        if not doc.get("running"):
            print("the load generator is stopped (POST /start on :8010 starts it)")
            sys.exit(1)
    ok, failed = totals(doc)
    if ok > first[0]:
        ratio = (failed - first[1]) / max(1, ok - first[0] + failed - first[1])
        print(f"{ok - first[0]} journeys succeeded, {failed - first[1]} failed while watching"
              f" ({doc.get('journeys_per_second')} journeys/s)")
        sys.exit(0 if ratio < 0.5 else 1)
    time.sleep(1)
print("no journey succeeded" if first else "the load generator did not answer through the port-forward")
sys.exit(1)
PY
    pass "journeys are flowing"
  else
    fail "no traffic: see kubectl -n $NAMESPACE logs deploy/load-generator ($(tr '\n' ' ' <"$log"))"
  fi
  kill "$forward" 2>/dev/null || true
fi

if $TELEMETRY; then
  say "telemetry"
  if errors=$(kc logs deploy/otel-collector --since=5m 2>/dev/null | grep -E 'Exporting failed|error.*(exporter|Permanent)' | tail -n 3) && [[ -n $errors ]]; then
    fail "the collector fails to export: $errors"
  else
    pass "the collector reports no export failure in the last 5 minutes"
  fi
  # The telemetry itself, from the console the collector copies everything to. The load
  # generator's pod may reach both the console and the frontend (NetworkPolicies).
  if health "$VALIDATE_POD" "$CONSOLE_URL/api/stats"; then
    pass "the console answers ($VALIDATE_POD -> console)"
    args=()
    given() { [[ " ${VALIDATE_ARGS[*]} " == *" $1 "* || " ${VALIDATE_ARGS[*]} " == *" $1="* ]]; }
    given --console || args+=(--console "$CONSOLE_URL")
    given --shop || args+=(--shop "$SHOP_URL")
    given --wait || args+=(--wait 90s)
    args+=("${VALIDATE_ARGS[@]}")
    say "tracemart validate ${args[*]} (in deploy/$VALIDATE_POD)"
    if report=$(kc exec "deploy/$VALIDATE_POD" -c tracemart -- tracemart validate "${args[@]}" 2>&1); then
      printf '%s\n' "$report"
      pass "tracemart validate: every check passed"
    else
      printf '%s%s%s\n' "$RED" "$report" "$RESET"
      failed_checks=$(sed -n -E 's/ +FAIL .*//p' <<<"$report" | paste -sd, - | sed 's/,/, /g')
      fail "tracemart validate failed${failed_checks:+: $failed_checks} (the table above; the console: kubectl -n $NAMESPACE port-forward svc/console 8090)"
    fi
  else
    fail "$VALIDATE_POD cannot read the console at $CONSOLE_URL/api/stats, so tracemart validate did not run (kubectl -n $NAMESPACE get deploy/console; its Service and NetworkPolicy allow-console)"
  fi
fi

if ((${#failures[@]})); then
  die "${#failures[@]} check(s) failed" "${failures[@]}"
fi
say "the shop in $NAMESPACE is healthy"
