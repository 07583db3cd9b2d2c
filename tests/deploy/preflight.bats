#!/usr/bin/env bats
# scripts/preflight.sh against a fake cluster.

load helpers

setup() { common_setup; }

@test "preflight --help describes it without touching the cluster" {
  run "$ROOT/scripts/preflight.sh" --help
  [ "$status" -eq 0 ]
  [[ $output == *"--create-secrets"* ]]
  [ ! -s "$FAKE_LOG" ]
}

@test "preflight passes and writes a verified, non-empty backup" {
  run "$ROOT/scripts/preflight.sh"
  [ "$status" -eq 0 ]
  called '^kubectl cluster-info'
  called 'get secret tracemart-postgres -o json'
  [ -s "$DEPLOY_BACKUP_DIR/latest/resources.json" ]
  python3 - "$DEPLOY_BACKUP_DIR/latest/resources.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
assert len(items) > 10, len(items)
for item in items:
    assert "status" not in item and "resourceVersion" not in item["metadata"], item
    assert "clusterIP" not in item.get("spec", {}), item
PY
  [[ $output == *"objects in $DEPLOY_BACKUP_DIR/"* ]]
}

@test "preflight run twice keeps both backups and points latest at the second" {
  run "$ROOT/scripts/preflight.sh"
  [ "$status" -eq 0 ]
  first=$(readlink "$DEPLOY_BACKUP_DIR/latest")
  run "$ROOT/scripts/preflight.sh"
  [ "$status" -eq 0 ]
  second=$(readlink "$DEPLOY_BACKUP_DIR/latest")
  [ "$first" != "$second" ]
  [ -s "$first/resources.json" ] && [ -s "$second/resources.json" ]
}

@test "preflight fails on an empty backup and leaves latest alone" {
  run "$ROOT/scripts/preflight.sh"
  [ "$status" -eq 0 ]
  good=$(readlink "$DEPLOY_BACKUP_DIR/latest")
  FAKE_EMPTY_BACKUP=1 run "$ROOT/scripts/preflight.sh"
  [ "$status" -ne 0 ]
  [[ $output == *"backup is empty"* ]]
  [[ $output == *"must not go ahead"* ]]
  [ "$(ls "$DEPLOY_BACKUP_DIR" | wc -l)" -eq 2 ] # the good one and latest
  [ "$(readlink "$DEPLOY_BACKUP_DIR/latest")" = "$good" ]
}

@test "preflight names a missing secret and how to create it" {
  FAKE_SECRETS="tracemart-postgres" run "$ROOT/scripts/preflight.sh" --overlay coralogix
  [ "$status" -ne 0 ]
  [[ $output == *"Secret coralogix-keys (key PRIVATE_KEY) is missing"* ]]
  [[ $output == *"--create-secrets"* ]]
  [ ! -e "$DEPLOY_BACKUP_DIR/latest" ]
}

@test "preflight rejects an empty key" {
  FAKE_EMPTY_KEYS="coralogix-keys/PRIVATE_KEY" run "$ROOT/scripts/preflight.sh" --overlay coralogix
  [ "$status" -ne 0 ]
  [[ $output == *"Secret coralogix-keys has an empty PRIVATE_KEY"* ]]
}

@test "preflight --create-secrets makes the missing secrets without putting values on the command line" {
  export CORALOGIX_PRIVATE_KEY=cxtp_test_key
  FAKE_SECRETS="" run "$ROOT/scripts/preflight.sh" --overlay coralogix --create-secrets
  [ "$status" -eq 0 ]
  called 'create secret generic tracemart-postgres --from-file=POSTGRES_PASSWORD=.* --from-file=DATABASE_URL='
  called 'create secret generic coralogix-keys --from-file=PRIVATE_KEY='
  not_called 'cxtp_test_key|--from-literal'
  grep -q $'coralogix-keys\tPRIVATE_KEY\tcxtp_test_key' "$FAKE_STATE/secrets"
  grep -Eq $'tracemart-postgres\tDATABASE_URL\tpostgres://tracemart:[0-9a-f]{32}@postgres:5432/tracemart' "$FAKE_STATE/secrets"
  # A second run finds them and creates nothing.
  : >"$FAKE_LOG"
  FAKE_SECRETS="" run "$ROOT/scripts/preflight.sh" --overlay coralogix --create-secrets
  [ "$status" -eq 0 ]
  not_called 'create secret'
}

@test "preflight --create-secrets needs the Coralogix key" {
  FAKE_SECRETS="tracemart-postgres" run "$ROOT/scripts/preflight.sh" --overlay coralogix --create-secrets
  [ "$status" -ne 0 ]
  [[ $output == *"CORALOGIX_PRIVATE_KEY is not set"* ]]
}

@test "preflight on a first deploy creates the namespace and records that nothing was deployed" {
  FAKE_NAMESPACE=0 FAKE_DEPLOYED=0 FAKE_SECRETS="" run "$ROOT/scripts/preflight.sh" --create-secrets
  [ "$status" -eq 0 ]
  called 'apply -f .*deploy/k8s/base/namespace.yaml'
  [ -e "$DEPLOY_BACKUP_DIR/latest/NOTHING_DEPLOYED" ]
}

@test "preflight fails clearly when the cluster does not answer" {
  FAKE_CLUSTER_DOWN=1 run "$ROOT/scripts/preflight.sh"
  [ "$status" -ne 0 ]
  [[ $output == *"the cluster does not answer"* ]]
  [[ $output == *"KUBECONFIG"* ]]
}

@test "preflight refuses an unknown overlay and an unknown option" {
  run "$ROOT/scripts/preflight.sh" --overlay nope
  [ "$status" -ne 0 ]
  [[ $output == *"unknown overlay 'nope'"* ]]
  run "$ROOT/scripts/preflight.sh" --frobnicate
  [ "$status" -ne 0 ]
  [[ $output == *"unknown option '--frobnicate'"* ]]
}

@test "preflight creates another namespace by name, not ecommerce-demo" {
  FAKE_NAMESPACE=0 FAKE_DEPLOYED=0 FAKE_SECRETS="" run "$ROOT/scripts/preflight.sh" --namespace shop-two --create-secrets
  [ "$status" -eq 0 ]
  called '^kubectl create namespace shop-two'
  called 'label namespace shop-two .*pod-security.kubernetes.io/enforce=restricted'
  not_called 'namespace.yaml'
  called '^kubectl --namespace shop-two create secret generic tracemart-postgres'
}
