#!/usr/bin/env bash
# Puts back what ran before the last deploy, then checks the result.
#   scripts/rollback.sh [options]
# Options:
#   --namespace NS      default ecommerce-demo
#   --backup DIR        restore this backup (default: the latest one scripts/preflight.sh made)
#   --undo              no backup: `kubectl rollout undo` each Deployment and StatefulSet
#                       whose rollout has not finished (finished ones are left alone, so
#                       running it twice does not step back twice)
#   --yes               when the backup says nothing was deployed before, remove the shop's
#                       workloads, Services, ConfigMaps and policies (Secrets and volumes stay)
#   --timeout DURATION  how long each rollout may take (default 180s)
#   -h, --help
# Restoring re-applies the saved objects, so running it twice changes nothing the second
# time. Afterwards every rollout is awaited and scripts/validate.sh checks pods and health.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=deploy/lib/common.sh
source "$(dirname "$0")/../deploy/lib/common.sh"

BACKUP='' UNDO=false YES=false TIMEOUT=180s
while (($#)); do
  case $1 in
    --namespace) NAMESPACE=${2:?--namespace needs a name}; shift ;;
    --backup) BACKUP=${2:?--backup needs a directory}; shift ;;
    --undo) UNDO=true ;;
    --yes) YES=true ;;
    --timeout) TIMEOUT=${2:?--timeout needs a duration}; shift ;;
    -h | --help) usage "$0"; exit 0 ;;
    *) die "unknown option '$1'" "see scripts/rollback.sh --help" ;;
  esac
  shift
done
need kubectl "to talk to the cluster"
need python3 "to read the backup"

verify() {
  say "waiting for ${#names[@]} rollouts (at most $TIMEOUT each)"
  if ! wait_rollouts "$TIMEOUT" "${names[@]}"; then
    diagnose "${FAILED_ROLLOUTS[@]}"
    die "rollback did not settle: ${FAILED_ROLLOUTS[*]} still not rolled out" \
      "the pods, events and logs above say why"
  fi
  "$ROOT/scripts/validate.sh" --namespace "$NAMESPACE" --timeout "$TIMEOUT" --skip-traffic --skip-telemetry ||
    die "rolled back, but the shop is not healthy (see above)"
  say "rolled back in $NAMESPACE"
}

if $UNDO; then
  say "undoing unfinished rollouts in $NAMESPACE"
  mapfile -t names < <(kc get deployments,statefulsets -l "$PART_OF" -o name |
    sed -E 's#^(deployment|statefulset)\.apps/#\1/#')
  ((${#names[@]})) || die "nothing of tracemart is deployed in $NAMESPACE: nothing to undo"
  undone=0
  for name in "${names[@]}"; do
    if kc rollout status "$name" --timeout=1s >/dev/null 2>&1; then
      echo "$name: rolled out, left as it is"
    else
      kc rollout undo "$name" || die "kubectl rollout undo $name failed"
      undone=$((undone + 1))
    fi
  done
  ((undone)) || echo "every rollout had finished: nothing undone (restore a backup to go further back)"
  verify
  exit 0
fi

if [[ -z $BACKUP ]]; then
  BACKUP=$BACKUP_ROOT/latest
  [[ -e $BACKUP ]] || die "no backup in $BACKUP_ROOT" \
    "scripts/preflight.sh makes one before every deploy; without one, use --undo"
fi
BACKUP=$(cd "$BACKUP" 2>/dev/null && pwd -P) || die "backup directory $BACKUP does not exist"
say "restoring $BACKUP"

if [[ -e $BACKUP/NOTHING_DEPLOYED ]]; then
  $YES || die "the backup says nothing was deployed before, so rolling back means removing the shop" \
    "run again with --yes to remove it (Secrets, volumes and the namespace stay)"
  kc delete "$BACKUP_KINDS" -l "$PART_OF" --ignore-not-found --wait=true
  say "removed the shop from $NAMESPACE, as it was before the first deploy"
  exit 0
fi

resources=$BACKUP/resources.json
[[ -s $resources ]] || die "backup $resources is missing or empty: it cannot be restored" \
  "pick another with --backup DIR (ls $BACKUP_ROOT), or use --undo"
workload_list=$(python3 - "$resources" <<'PY'
import json, sys
try:
    items = json.load(open(sys.argv[1]))["items"]
except (ValueError, KeyError) as err:
    sys.exit(f"backup {sys.argv[1]} is not a kubectl List: {err}")
if not items:
    sys.exit(f"backup {sys.argv[1]} holds no objects")
for item in items:
    if item["kind"] in ("Deployment", "StatefulSet"):
        print(f"{item['kind'].lower()}/{item['metadata']['name']}")
PY
) || die "backup $resources cannot be restored"
names=()
[[ -z $workload_list ]] || mapfile -t names <<<"$workload_list"
((${#names[@]})) || die "backup $resources holds no Deployment or StatefulSet"
backup_ns=$(sed -n 's/^namespace=//p' "$BACKUP/backup.env" 2>/dev/null || true)
[[ -z $backup_ns || $backup_ns == "$NAMESPACE" ]] ||
  die "backup $BACKUP is of namespace $backup_ns, not $NAMESPACE" "pass --namespace $backup_ns"

kc apply -f "$resources" || die "kubectl apply of the backup failed (see above)"
verify
