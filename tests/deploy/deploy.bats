#!/usr/bin/env bats
# scripts/deploy.sh against a fake cluster, docker and k3s (manifests rendered for real).

load helpers

setup() {
  common_setup
  need_real_kubectl
  SERVICES=$(python3 -c 'import json; print(len(json.load(open("'"$ROOT"'/deploy/services.json"))["services"]))')
}

@test "deploy --help describes it without touching anything" {
  run "$ROOT/scripts/deploy.sh" --help
  [ "$status" -eq 0 ]
  [[ $output == *"--registry REG"* ]]
  [ ! -s "$FAKE_LOG" ]
}

@test "deploy to k3s builds, imports, applies and waits for every rollout" {
  run "$ROOT/scripts/deploy.sh" --tag t1
  [ "$status" -eq 0 ]
  called '^kubectl cluster-info'                    # preflight ran
  [ -s "$DEPLOY_BACKUP_DIR/latest/resources.json" ] # and backed up
  called '^docker build -f .*/deploy/Dockerfile -t tracemart:t1 '
  called '^docker save tracemart:t1'
  called '^k3s ctr images import -'
  called '^kubectl apply -f .*/manifests.yaml'
  not_called '^docker push'
  # every shop service, Redis, RabbitMQ, the collector and the console, and PostgreSQL
  [ "$(count_calls 'rollout status deployment/')" -eq $((SERVICES + 4)) ]
  called 'rollout status deployment/console'
  called 'rollout status statefulset/postgres --timeout=180s'
  called 'rollout status deployment/checkout'
  grep -q '^tracemart:t1$' "$FAKE_STATE/applied-image"
  [[ $output == *"deployed tracemart:t1"* ]]
}

@test "deploy to a registry pushes and never calls k3s" {
  run "$ROOT/scripts/deploy.sh" --overlay coralogix --registry registry.example:5000/shop --tag t2
  [ "$status" -eq 0 ]
  called '^docker push registry.example:5000/shop/tracemart:t2'
  not_called '^k3s'
  grep -q '^registry.example:5000/shop/tracemart:t2$' "$FAKE_STATE/applied-image"
}

@test "deploy gives every deploy a new image tag by default" {
  run "$ROOT/scripts/deploy.sh"
  [ "$status" -eq 0 ]
  first=$(tail -n1 "$FAKE_STATE/applied-image")
  sleep 1
  run "$ROOT/scripts/deploy.sh"
  [ "$status" -eq 0 ]
  second=$(tail -n1 "$FAKE_STATE/applied-image")
  [ "$first" != "$second" ]
  [[ $second == tracemart:*-2* ]]
}

@test "deploy fails loudly on a failed rollout, after waiting for the others" {
  FAKE_ROLLOUT_FAIL="deployment/checkout" run "$ROOT/scripts/deploy.sh" --tag t3
  [ "$status" -ne 0 ]
  [[ $output == *"the rollout of deployment/checkout did not finish"* ]]
  [[ $output == *"scripts/rollback.sh"* ]]
  [[ $output == *"--- deployment/checkout ---"* ]]
  called 'rollout status deployment/payment' # the others were still awaited
  called 'logs deployment/checkout --all-containers'
}

@test "deploy stops before building when a secret is missing" {
  FAKE_SECRETS="" run "$ROOT/scripts/deploy.sh" --tag t4
  [ "$status" -ne 0 ]
  [[ $output == *"Secret tracemart-postgres"* ]]
  [[ $output == *"preflight failed: nothing was deployed"* ]]
  not_called '^docker build'
  not_called '^kubectl apply'
}

@test "deploy stops when the build fails" {
  FAKE_BUILD_FAIL=1 run "$ROOT/scripts/deploy.sh" --tag t5
  [ "$status" -ne 0 ]
  [[ $output == *"docker build failed"* ]]
  not_called '^kubectl apply'
}

@test "deploy fails when the services do not run the new image" {
  FAKE_STALE_IMAGE=tracemart:old run "$ROOT/scripts/deploy.sh" --tag t6
  [ "$status" -ne 0 ]
  [[ $output == *"some services do not run tracemart:t6"* ]]
  [[ $output == *"frontend runs tracemart:old"* ]]
  [[ $output == *"console runs tracemart:old"* ]]
}

@test "deploy twice with the same tag converges" {
  run "$ROOT/scripts/deploy.sh" --tag same
  [ "$status" -eq 0 ]
  run "$ROOT/scripts/deploy.sh" --tag same
  [ "$status" -eq 0 ]
  [ "$(count_calls '^kubectl apply -f .*/manifests.yaml')" -eq 2 ]
}

@test "deploy --skip-build needs a tag, and then neither builds nor imports" {
  run "$ROOT/scripts/deploy.sh" --skip-build
  [ "$status" -ne 0 ]
  [[ $output == *"--skip-build needs --tag"* ]]
  run "$ROOT/scripts/deploy.sh" --skip-build --tag old
  [ "$status" -eq 0 ]
  not_called '^docker|^k3s'
}

@test "deploy --dry-run prints the manifests with this deploy's image and changes nothing" {
  run "$ROOT/scripts/deploy.sh" --dry-run --overlay otlp --registry r.example --tag t7
  [ "$status" -eq 0 ]
  [[ $output == *"image: r.example/tracemart:t7"* ]]
  [[ $output == *"kind: NetworkPolicy"* ]]
  not_called '^kubectl (apply|cluster-info)|^docker|^k3s'
}
