#!/usr/bin/env bats
# scripts/validate.sh against a fake cluster: the port-forward is a real local HTTP server.

load helpers

setup() {
  common_setup
  PORT=$(free_port)
}

@test "validate --help describes it" {
  run "$ROOT/scripts/validate.sh" --help
  [ "$status" -eq 0 ]
  [[ $output == *"--skip-traffic"* ]]
  [ ! -s "$FAKE_LOG" ]
}

@test "validate checks readiness, health inside every pod, every call, traffic and telemetry" {
  run "$ROOT/scripts/validate.sh" --local-port "$PORT" --traffic-wait 10
  [ "$status" -eq 0 ]
  called 'rollout status statefulset/postgres'
  called 'get pods -l app.kubernetes.io/part-of=tracemart -o json'
  called 'exec deploy/cart -c tracemart -- tracemart health --timeout 3 http://127.0.0.1:8013/ready'
  called 'exec deploy/frontend -c tracemart -- tracemart health --timeout 3 http://cart:8013/health'
  called 'exec deploy/load-generator -c tracemart -- tracemart health --timeout 3 http://frontend:8018/health'
  called 'port-forward svc/load-generator '"$PORT"':8010'
  called 'logs deploy/otel-collector --since=5m'
  called 'exec deploy/load-generator -c tracemart -- tracemart health --timeout 3 http://console:8090/api/stats'
  called 'exec deploy/load-generator -c tracemart -- tracemart validate --console http://console:8090 --shop http://frontend:8018 --wait 90s$'
  [[ $output == *"journeys succeeded"* ]]
  [[ $output == *"trace depth"*"9 levels"* ]] # the table
  [[ $output == *"ok   tracemart validate: every check passed"* ]]
  [[ $output == *"is healthy"* ]]
}

@test "validate passes its arguments after -- to tracemart validate, replacing a default of the same name" {
  run "$ROOT/scripts/validate.sh" --skip-traffic -- --expect core --wait=5m
  [ "$status" -eq 0 ]
  called 'tracemart validate --console http://console:8090 --shop http://frontend:8018 --expect core --wait=5m$'
  not_called 'wait 90s'
}

@test "validate fails loudly with the table when tracemart validate finds problems" {
  FAKE_VALIDATE_FAIL=1 run "$ROOT/scripts/validate.sh" --skip-traffic
  [ "$status" -ne 0 ]
  called 'exec deploy/load-generator -c tracemart -- tracemart validate --console http://console:8090'
  [[ $output == *"trace depth                                  FAIL   3 levels"* ]] # the table
  [[ $output == *"2 of 4 checks failed"* ]]
  [[ $output == *"FAIL tracemart validate failed: trace depth, logs carry trace ids"* ]]
  [[ $output == *"port-forward svc/console 8090"* ]]
  [[ $output == *"1 check(s) failed"* ]]
  [[ $output != *"is healthy"* ]]
}

@test "validate fails when the console does not answer, without running tracemart validate" {
  FAKE_HEALTH_FAIL=console run "$ROOT/scripts/validate.sh" --skip-traffic
  [ "$status" -ne 0 ]
  [[ $output == *"load-generator cannot read the console at http://console:8090/api/stats"* ]]
  not_called 'tracemart validate'
}

@test "validate --skip-telemetry runs neither the collector check nor tracemart validate" {
  run "$ROOT/scripts/validate.sh" --skip-traffic --skip-telemetry
  [ "$status" -eq 0 ]
  not_called 'logs deploy/otel-collector'
  not_called 'console:8090|tracemart validate'
}

@test "validate fails on an unhealthy service and names it" {
  FAKE_HEALTH_FAIL=cart run "$ROOT/scripts/validate.sh" --skip-traffic --skip-telemetry
  [ "$status" -ne 0 ]
  [[ $output == *"FAIL cart: /health or /ready failed"* ]]
  [[ $output == *"frontend cannot reach cart:8013"* ]]
}

@test "validate fails on a rollout that did not finish" {
  FAKE_ROLLOUT_FAIL=deployment/payment run "$ROOT/scripts/validate.sh" --skip-traffic --skip-telemetry
  [ "$status" -ne 0 ]
  [[ $output == *"deployment/payment is not rolled out"* ]]
}

@test "validate fails when no journey succeeds" {
  FAKE_NO_TRAFFIC=1 run "$ROOT/scripts/validate.sh" --local-port "$PORT" --traffic-wait 3 --skip-telemetry
  [ "$status" -ne 0 ]
  [[ $output == *"no traffic"* ]]
}

@test "validate fails when the collector cannot export" {
  FAKE_COLLECTOR_LOG='error exporterhelper Exporting failed. Dropping data. {"error": "Permanent error: rpc error: code = Unauthenticated"}' \
    run "$ROOT/scripts/validate.sh" --skip-traffic
  [ "$status" -ne 0 ]
  [[ $output == *"the collector fails to export"* ]]
}

@test "validate says so when nothing is deployed" {
  FAKE_DEPLOYED=0 run "$ROOT/scripts/validate.sh"
  [ "$status" -ne 0 ]
  [[ $output == *"nothing of tracemart is deployed"* ]]
}

@test "validate names the pods that are not Ready, and ignores pods being replaced" {
  FAKE_PODS_NOT_READY=1 VALIDATE_READY_TRIES=2 run "$ROOT/scripts/validate.sh" --skip-traffic --skip-telemetry
  [ "$status" -ne 0 ]
  [[ $output == *"pods not Ready: load-generator-1"* ]]
  [[ $output != *"cart-0"* ]]
}
