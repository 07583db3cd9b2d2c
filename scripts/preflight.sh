#!/usr/bin/env bash
# Checks that a deploy can go ahead, and backs up what is deployed now.
#   scripts/preflight.sh [options]
# Options:
#   --overlay NAME      k3s (default), coralogix, coralogix-agent or otlp: decides which
#                       Secrets are needed
#   --namespace NS      default ecommerce-demo
#   --k3s               images go to k3s by import (default): needs docker and k3s
#   --registry REG      images are pushed to REG: needs docker
#   --skip-build        no image is built: docker and k3s are not needed
#   --create-secrets    create the namespace and any missing Secret: random PostgreSQL,
#                       Redis and RabbitMQ passwords, a random scenario control token, the
#                       Coralogix key from $CORALOGIX_PRIVATE_KEY, the OTLP authorization
#                       from $OTLP_BACKEND_AUTHORIZATION (deploy/required-secrets.tsv lists
#                       them)
#   --no-backup         check only
#   -h, --help
# The backup goes to $DEPLOY_BACKUP_DIR (default ~/.local/state/tracemart/backups)/<UTC time>/
# and `latest` points at it; it is verified to hold every object it lists. Safe to run
# again: it only adds a new backup and creates only what is missing.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=deploy/lib/common.sh
source "$(dirname "$0")/../deploy/lib/common.sh"

TRANSPORT=k3s CREATE=false BACKUP=true
while (($#)); do
  case $1 in
    --overlay) OVERLAY=${2:?--overlay needs a name}; shift ;;
    --namespace) NAMESPACE=${2:?--namespace needs a name}; shift ;;
    --k3s) TRANSPORT=k3s ;;
    --registry) TRANSPORT=registry; : "${2:?--registry needs a registry}"; shift ;;
    --skip-build) TRANSPORT=none ;;
    --create-secrets) CREATE=true ;;
    --no-backup) BACKUP=false ;;
    -h | --help) usage "$0"; exit 0 ;;
    *) die "unknown option '$1'" "see scripts/preflight.sh --help" ;;
  esac
  shift
done
check_overlay

say "tools"
need kubectl "to talk to the cluster"
need python3 "to write and verify the backup"
case $TRANSPORT in
  k3s)
    need docker "to build the image"
    command -v k3s >/dev/null 2>&1 || die "k3s is needed to import the image but is not on PATH" \
      "run this on the k3s server node, or push to a registry with --registry REG"
    ;;
  registry) need docker "to build and push the image" ;;
  none) ;;
esac
echo "ok: kubectl$([[ $TRANSPORT != none ]] && echo ', docker')$([[ $TRANSPORT == k3s ]] && echo ', k3s'), python3"

say "cluster"
if ! kubectl cluster-info --request-timeout=10s >/dev/null 2>&1; then
  die "the cluster does not answer (kubectl cluster-info failed)" \
    "check KUBECONFIG / the current context: kubectl config current-context" \
    "on k3s: export KUBECONFIG=/etc/rancher/k3s/k3s.yaml (or copy it to ~/.kube/config)"
fi
echo "ok: $(kubectl config current-context 2>/dev/null || echo 'current context')"

say "namespace $NAMESPACE"
if kubectl get namespace "$NAMESPACE" -o name >/dev/null 2>&1; then
  NS_EXISTS=true
  echo "ok: exists"
elif $CREATE; then
  if [[ $NAMESPACE == ecommerce-demo ]]; then
    kubectl apply -f "$ROOT/deploy/k8s/base/namespace.yaml" >/dev/null
  else
    # deploy.sh applies the same labels again with the manifests.
    kubectl create namespace "$NAMESPACE" >/dev/null
    kubectl label namespace "$NAMESPACE" "$PART_OF" pod-security.kubernetes.io/enforce=restricted >/dev/null
  fi
  NS_EXISTS=true
  echo "created"
else
  NS_EXISTS=false
  echo "not there yet (first deploy)"
fi

# secret_keys NAME: the keys of a Secret, one per line, "<key> empty|set"; fails when absent.
secret_keys() {
  local json
  json=$(kc get secret "$1" -o json 2>/dev/null) || return 1
  python3 -c '
import json, sys
for key, value in (json.load(sys.stdin).get("data") or {}).items():
    print(key, "set" if value else "empty")' <<<"$json"
}

random_password() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }

# create_secret NAME KEY=VALUE…: values go through files, never the command line.
create_secret() {
  local name=$1 dir pair args=()
  shift
  dir=$(mktemp -d)
  for pair in "$@"; do
    printf '%s' "${pair#*=}" >"$dir/${pair%%=*}"
    args+=("--from-file=${pair%%=*}=$dir/${pair%%=*}")
  done
  kc create secret generic "$name" "${args[@]}" >/dev/null
  kc label secret "$name" "$PART_OF" >/dev/null
  rm -rf "$dir"
}

make_secret() {
  local name=$1 password
  case $name in
    tracemart-postgres)
      password=$(random_password)
      create_secret "$name" "POSTGRES_PASSWORD=$password" \
        "DATABASE_URL=postgres://tracemart:$password@postgres:5432/tracemart"
      ;;
    tracemart-redis)
      password=$(random_password)
      create_secret "$name" "REDIS_PASSWORD=$password" "REDIS_URL=redis://:$password@redis:6379/0"
      ;;
    tracemart-rabbitmq)
      password=$(random_password)
      create_secret "$name" "RABBITMQ_PASSWORD=$password" \
        "AMQP_URL=amqp://tracemart:$password@rabbitmq:5672/%2f"
      ;;
    coralogix-keys)
      [[ -n ${CORALOGIX_PRIVATE_KEY:-} ]] ||
        die "Secret coralogix-keys is missing and CORALOGIX_PRIVATE_KEY is not set" \
          "export CORALOGIX_PRIVATE_KEY=<your send-your-data key> and run this again"
      create_secret "$name" "PRIVATE_KEY=$CORALOGIX_PRIVATE_KEY"
      ;;
    otlp-backend) create_secret "$name" "authorization=${OTLP_BACKEND_AUTHORIZATION:-}" ;;
    tracemart-control) create_secret "$name" "TRACEMART_CONTROL_TOKEN=$(random_password)" ;;
    *) die "do not know how to make Secret $name" ;;
  esac
  echo "created Secret $name"
}

say "secrets ($OVERLAY overlay)"
problems=()
declare -A seen=()
while read -r secret key may_be_empty; do
  if [[ $NS_EXISTS == true ]] && ! keys=$(secret_keys "$secret"); then
    if $CREATE && [[ -z ${seen[$secret]:-} ]]; then
      make_secret "$secret"
      keys=$(secret_keys "$secret") || die "Secret $secret was created but cannot be read back"
    else
      keys=MISSING
    fi
  elif [[ $NS_EXISTS != true ]]; then
    keys=MISSING
  fi
  seen[$secret]=1
  if [[ $keys == MISSING && $may_be_empty == optional ]]; then
    echo "optional: Secret $secret is absent"
  elif [[ $keys == MISSING ]]; then
    problems+=("Secret $secret (key $key) is missing in namespace $NAMESPACE")
  elif ! grep -q "^$key " <<<"$keys"; then
    problems+=("Secret $secret has no key $key")
  elif [[ $may_be_empty == no ]] && grep -q "^$key empty" <<<"$keys"; then
    problems+=("Secret $secret has an empty $key")
  else
    echo "ok: $secret/$key"
  fi
done < <(required_secrets)
if ((${#problems[@]})); then
  die "secrets are not ready" "${problems[@]}" \
    "create the missing ones with: scripts/preflight.sh --overlay $OVERLAY --create-secrets" \
    "(see deploy/required-secrets.tsv for what each holds)"
fi

$BACKUP || { say "backup skipped (--no-backup)"; exit 0; }

say "backup of what is deployed now"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dir=$BACKUP_ROOT/$stamp
n=1
while [[ -e $dir ]]; do dir=$BACKUP_ROOT/$stamp-$((n++)); done
mkdir -p "$dir"
{
  echo "namespace=$NAMESPACE"
  echo "overlay=$OVERLAY"
  echo "taken=$stamp"
  echo "context=$(kubectl config current-context 2>/dev/null || true)"
} >"$dir/backup.env"

names=""
if [[ $NS_EXISTS == true ]]; then
  names=$(kc get "$BACKUP_KINDS" -l "$PART_OF" -o name)
fi
if [[ -z $names ]]; then
  echo "nothing of tracemart is deployed in $NAMESPACE" >"$dir/NOTHING_DEPLOYED"
  ln -sfn "$dir" "$BACKUP_ROOT/latest"
  echo "nothing deployed yet: recorded in $dir (rollback would remove a first deploy)"
  exit 0
fi
printf '%s\n' "$names" >"$dir/objects.txt"
kc get "$BACKUP_KINDS" -l "$PART_OF" -o json >"$dir/raw.json"
# Keep what `kubectl apply` can restore: no status, no server-set fields.
if ! python3 - "$dir/raw.json" "$dir/resources.json" "$dir/objects.txt" <<'PY'
import json, sys
raw_path, out_path, names_path = sys.argv[1:4]
text = open(raw_path).read()
if not text.strip():
    sys.exit(f"backup is empty: kubectl returned nothing for {raw_path}")
doc = json.loads(text)
items = doc.get("items") or []
expected = [line for line in open(names_path).read().split() if line]
if len(items) != len(expected):
    sys.exit(f"backup is incomplete: {len(items)} objects saved, {len(expected)} listed")
drop_meta = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink")
for item in items:
    item.pop("status", None)
    meta = item.get("metadata", {})
    for key in drop_meta:
        meta.pop(key, None)
    notes = meta.get("annotations") or {}
    notes.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    notes.pop("deployment.kubernetes.io/revision", None)
    if item.get("kind") == "Service":
        spec = item.get("spec", {})
        for key in ("clusterIP", "clusterIPs"):
            spec.pop(key, None)
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(out_path, "w"), indent=1)
PY
then
  rm -rf "$dir"
  die "no usable backup could be written, so the deploy must not go ahead" \
    "check that kubectl can read $BACKUP_KINDS in $NAMESPACE"
fi
rm -f "$dir/raw.json"
kc get deployments,statefulsets -l "$PART_OF" \
  -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}{"\t"}{.metadata.annotations.deployment\.kubernetes\.io/revision}{"\t"}{.spec.template.spec.containers[0].image}{"\n"}{end}' \
  >"$dir/revisions.tsv"
[[ -s $dir/resources.json ]] || die "backup $dir/resources.json is empty"
count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$dir/resources.json")
((count > 0)) || die "backup $dir holds no objects"
ln -sfn "$dir" "$BACKUP_ROOT/latest"
echo "ok: $count objects in $dir ($(du -h "$dir/resources.json" | cut -f1))"
