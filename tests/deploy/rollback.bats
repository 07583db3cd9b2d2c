#!/usr/bin/env bats
# scripts/rollback.sh against a fake cluster, with backups made by scripts/preflight.sh.

load helpers

setup() { common_setup; }

backup() { "$ROOT/scripts/preflight.sh" --skip-build >/dev/null; }

@test "rollback --help describes it" {
  run "$ROOT/scripts/rollback.sh" --help
  [ "$status" -eq 0 ]
  [[ $output == *"--undo"* ]]
  [ ! -s "$FAKE_LOG" ]
}

@test "rollback restores the latest backup, waits and verifies; twice is fine" {
  backup
  : >"$FAKE_LOG"
  run "$ROOT/scripts/rollback.sh"
  [ "$status" -eq 0 ]
  called "apply -f $DEPLOY_BACKUP_DIR/.*/resources.json"
  called 'rollout status deployment/checkout'
  called 'rollout status statefulset/postgres'
  called 'exec deploy/checkout -c tracemart -- tracemart health' # verified through validate.sh
  [[ $output == *"rolled back in ecommerce-demo"* ]]
  run "$ROOT/scripts/rollback.sh"
  [ "$status" -eq 0 ]
}

@test "rollback refuses an empty backup file" {
  backup
  : >"$DEPLOY_BACKUP_DIR/latest/resources.json"
  : >"$FAKE_LOG"
  run "$ROOT/scripts/rollback.sh"
  [ "$status" -ne 0 ]
  [[ $output == *"resources.json is missing or empty"* ]]
  not_called '^kubectl .*apply'
}

@test "rollback refuses a backup that is not a List of objects" {
  backup
  echo '{"kind": "List", "items": []}' >"$DEPLOY_BACKUP_DIR/latest/resources.json"
  run "$ROOT/scripts/rollback.sh"
  [ "$status" -ne 0 ]
  [[ $output == *"holds no objects"* ]]
  not_called '^kubectl .*apply'
}

@test "rollback without any backup points at --undo" {
  run "$ROOT/scripts/rollback.sh"
  [ "$status" -ne 0 ]
  [[ $output == *"no backup"* ]]
  [[ $output == *"--undo"* ]]
}

@test "rollback fails when the restored rollout does not settle" {
  backup
  FAKE_ROLLOUT_FAIL=deployment/cart run "$ROOT/scripts/rollback.sh"
  [ "$status" -ne 0 ]
  [[ $output == *"deployment/cart still not rolled out"* ]]
}

@test "rollback --undo undoes only the unfinished rollouts, and not again the second time" {
  export FAKE_ROLLOUT_FAIL=deployment/checkout
  run "$ROOT/scripts/rollback.sh" --undo
  [ "$status" -eq 0 ]
  called 'rollout undo deployment/checkout'
  [ "$(count_calls 'rollout undo')" -eq 1 ]
  run "$ROOT/scripts/rollback.sh" --undo
  [ "$status" -eq 0 ]
  [ "$(count_calls 'rollout undo')" -eq 1 ]
  [[ $output == *"nothing undone"* ]]
}

@test "rollback of a first deploy removes the shop only with --yes" {
  FAKE_DEPLOYED=0 "$ROOT/scripts/preflight.sh" --skip-build >/dev/null
  run "$ROOT/scripts/rollback.sh"
  [ "$status" -ne 0 ]
  [[ $output == *"run again with --yes"* ]]
  not_called 'delete'
  run "$ROOT/scripts/rollback.sh" --yes
  [ "$status" -eq 0 ]
  called 'delete deployments,statefulsets,services,configmaps,networkpolicies,serviceaccounts,roles,rolebindings -l app.kubernetes.io/part-of=tracemart --ignore-not-found'
}

@test "rollback refuses a backup of another namespace" {
  backup
  run "$ROOT/scripts/rollback.sh" --namespace elsewhere
  [ "$status" -ne 0 ]
  [[ $output == *"is of namespace ecommerce-demo"* ]]
}
