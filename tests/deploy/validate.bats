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
  [[ $output == *"journeys succeeded"* ]]
  [[ $output == *"no validate command"* ]]
  [[ $output == *"is healthy"* ]]
}

@test "validate runs tracemart validate in the cluster when the image has it" {
  FAKE_HAS_VALIDATE=1 run "$ROOT/scripts/validate.sh" --skip-traffic -- --since 5m
  [ "$status" -eq 0 ]
  called 'exec deploy/load-generator -c tracemart -- tracemart validate --since 5m'
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
