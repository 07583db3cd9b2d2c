# Shared by scripts/preflight.sh, deploy.sh, validate.sh and rollback.sh (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NAMESPACE=${DEPLOY_NAMESPACE:-ecommerce-demo}
OVERLAY=${DEPLOY_OVERLAY:-k3s}
BACKUP_ROOT=${DEPLOY_BACKUP_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/tracemart/backups}
PART_OF=app.kubernetes.io/part-of=tracemart
# What preflight backs up and rollback restores: everything the manifests create in the
# namespace except Secrets and volumes, which stay as they are.
BACKUP_KINDS=deployments,statefulsets,services,configmaps,networkpolicies,serviceaccounts,roles,rolebindings

if [[ -t 1 ]]; then BOLD=$'\033[1m' RED=$'\033[31m' YELLOW=$'\033[33m' RESET=$'\033[0m'; else BOLD='' RED='' YELLOW='' RESET=''; fi

say() { printf '%s==> %s%s\n' "$BOLD" "$*" "$RESET"; }
warn() { printf '%swarning: %s%s\n' "$YELLOW" "$*" "$RESET" >&2; }
die() {
  printf '%serror: %s%s\n' "$RED" "$1" "$RESET" >&2
  shift
  local line
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}

# usage FILE: prints the comment block at the top of FILE (after the shebang).
usage() { sed -n '2,/^[^#]/p' "$1" | sed '$d' | sed 's/^# \{0,1\}//'; }

need() {
  local tool=$1 why=$2
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed ($why) but is not on PATH"
}

kc() { kubectl --namespace "$NAMESPACE" "$@"; }

check_overlay() {
  [[ -f $ROOT/deploy/k8s/overlays/$OVERLAY/kustomization.yaml ]] ||
    die "unknown overlay '$OVERLAY'" "choose one of: $(cd "$ROOT/deploy/k8s/overlays" && echo *)"
}

# required_secrets: "secret key may-be-empty" lines for $OVERLAY.
required_secrets() {
  awk -F '\t' -v o="$OVERLAY" '!/^#/ && NF >= 4 && ($1 == "*" || $1 == o) { print $2, $3, $4 }' \
    "$ROOT/deploy/required-secrets.tsv"
}

# workloads FILE: the deployment/… and statefulset/… names in `kubectl apply` output.
workloads() {
  sed -n -E 's#^(deployment|statefulset)(\.apps)?/([a-z0-9.-]+).*#\1/\3#p' "$1" | sort -u
}

# wait_rollouts TIMEOUT NAME…: waits for each rollout (all of them, even after a failure);
# sets FAILED_ROLLOUTS to the ones that did not finish and fails when there is one.
wait_rollouts() {
  local timeout=$1 name
  shift
  FAILED_ROLLOUTS=()
  for name in "$@"; do
    kc rollout status "$name" --timeout="$timeout" || FAILED_ROLLOUTS+=("$name")
  done
  ((${#FAILED_ROLLOUTS[@]} == 0))
}

# diagnose NAME…: what an operator looks at when a rollout fails.
diagnose() {
  local name app
  for name in "$@"; do
    app=${name#*/}
    printf '\n%s--- %s ---%s\n' "$BOLD" "$name" "$RESET" >&2
    kc get pods -l "app.kubernetes.io/name=$app" -o wide >&2 || true
    kc describe "$name" 2>&1 | tail -n 15 >&2 || true
    kc get events --sort-by=.lastTimestamp 2>&1 | grep -F "$app" | tail -n 10 >&2 || true
    kc logs "$name" --all-containers --tail=20 2>&1 >&2 || true
  done
}
