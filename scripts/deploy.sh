#!/usr/bin/env bash
# Builds the image, gets it into the cluster, applies an overlay and waits for every rollout.
#   scripts/deploy.sh [options]
# Options:
#   --overlay NAME      k3s (default), coralogix, coralogix-agent or otlp
#                       (deploy/k8s/overlays/NAME)
#   --namespace NS      default ecommerce-demo
#   --k3s               import the image into k3s's containerd (default; run on the k3s node)
#   --registry REG      push the image to REG (for example registry.example:5000/shop)
#   --tag TAG           image tag (default: <git describe>-<UTC time>, new on every deploy so
#                       every deploy runs the image it built)
#   --skip-build        use an image already built with --tag (and imported or pushed)
#   --skip-preflight    do not run scripts/preflight.sh first (no checks, no backup)
#   --timeout DURATION  how long each rollout may take (default 180s)
#   --dry-run           print the manifests that would be applied, change nothing
#   -h, --help
# Runs scripts/preflight.sh first (secrets, cluster, a backup), then fails loudly, naming
# the workloads whose rollout did not finish and showing their pods, events and logs.
# Safe to run again: `kubectl apply` converges, and a new tag rolls every service.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=deploy/lib/common.sh
source "$(dirname "$0")/../deploy/lib/common.sh"

TRANSPORT=k3s REGISTRY='' TAG='' BUILD=true PREFLIGHT=true TIMEOUT=180s DRY_RUN=false
while (($#)); do
  case $1 in
    --overlay) OVERLAY=${2:?--overlay needs a name}; shift ;;
    --namespace) NAMESPACE=${2:?--namespace needs a name}; shift ;;
    --k3s) TRANSPORT=k3s ;;
    --registry) TRANSPORT=registry; REGISTRY=${2:?--registry needs a registry}; shift ;;
    --tag) TAG=${2:?--tag needs a tag}; shift ;;
    --skip-build) BUILD=false ;;
    --skip-preflight) PREFLIGHT=false ;;
    --timeout) TIMEOUT=${2:?--timeout needs a duration}; shift ;;
    --dry-run) DRY_RUN=true ;;
    -h | --help) usage "$0"; exit 0 ;;
    *) die "unknown option '$1'" "see scripts/deploy.sh --help" ;;
  esac
  shift
done
check_overlay
need kubectl "to apply the manifests"
need python3 "to place the overlay in a temporary kustomization"
if ! $BUILD && [[ -z $TAG ]]; then
  die "--skip-build needs --tag: the tag of the image already in the cluster or registry"
fi
if [[ -z $TAG ]]; then
  TAG="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo dev)-$(date -u +%Y%m%d%H%M%S)"
fi
TAG=$(tr -c 'A-Za-z0-9_.\n-' '-' <<<"$TAG")
if [[ $TRANSPORT == registry ]]; then IMAGE_NAME=${REGISTRY%/}/tracemart; else IMAGE_NAME=tracemart; fi
IMAGE=$IMAGE_NAME:$TAG

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The overlay, with this deploy's image and namespace, rendered by kubectl's kustomize.
render() {
  local rel
  rel=$(python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
    "$ROOT/deploy/k8s/overlays/$OVERLAY" "$work")
  cat >"$work/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $NAMESPACE
resources:
  - $rel
images:
  - name: tracemart
    newName: $IMAGE_NAME
    newTag: "$TAG"
YAML
  kubectl kustomize "$work" >"$work/manifests.yaml" ||
    die "kubectl kustomize could not render deploy/k8s/overlays/$OVERLAY"
  [[ -s $work/manifests.yaml ]] || die "rendering deploy/k8s/overlays/$OVERLAY gave nothing"
}

if $DRY_RUN; then
  render
  cat "$work/manifests.yaml"
  exit 0
fi

if $PREFLIGHT; then
  flags=(--overlay "$OVERLAY" --namespace "$NAMESPACE")
  if ! $BUILD; then flags+=(--skip-build); elif [[ $TRANSPORT == registry ]]; then flags+=(--registry "$REGISTRY"); else flags+=(--k3s); fi
  "$ROOT/scripts/preflight.sh" "${flags[@]}" || die "preflight failed: nothing was deployed"
fi

if $BUILD; then
  need docker "to build the image"
  say "building $IMAGE"
  docker build -f "$ROOT/deploy/Dockerfile" -t "$IMAGE" "$ROOT" || die "docker build failed"
  if [[ $TRANSPORT == k3s ]]; then
    need k3s "to import the image"
    # k3s's containerd socket belongs to root; DEPLOY_SUDO="" turns sudo off.
    sudo_k3s=(k3s)
    if [[ $(id -u) != 0 && -n ${DEPLOY_SUDO-sudo} ]]; then sudo_k3s=("${DEPLOY_SUDO-sudo}" k3s); fi
    say "importing $IMAGE into k3s"
    docker save "$IMAGE" | "${sudo_k3s[@]}" ctr images import - || die "k3s ctr images import failed"
    "${sudo_k3s[@]}" ctr images ls -q | grep -Fxq "docker.io/library/$IMAGE" ||
      die "k3s does not list docker.io/library/$IMAGE after the import"
  else
    say "pushing $IMAGE"
    docker push "$IMAGE" || die "docker push $IMAGE failed" "log in first: docker login ${REGISTRY%%/*}"
  fi
fi

say "applying overlay $OVERLAY to namespace $NAMESPACE (image $IMAGE)"
render
kubectl apply -f "$work/manifests.yaml" | tee "$work/applied.txt" ||
  die "kubectl apply failed" "nothing may have changed, or only part: roll back with scripts/rollback.sh"
mapfile -t names < <(workloads "$work/applied.txt")
((${#names[@]})) || die "kubectl apply reported no Deployment or StatefulSet"

say "waiting for ${#names[@]} rollouts (at most $TIMEOUT each)"
if ! wait_rollouts "$TIMEOUT" "${names[@]}"; then
  diagnose "${FAILED_ROLLOUTS[@]}"
  die "deploy failed: the rollout of ${FAILED_ROLLOUTS[*]} did not finish" \
    "the pods, events and logs above say why" \
    "go back to what ran before with: scripts/rollback.sh --namespace $NAMESPACE"
fi

# The services and the console run the image this deploy built, not an older one with the
# same name.
stale=()
for selector in app.kubernetes.io/component=service app.kubernetes.io/name=console; do
  while read -r name image; do
    [[ -z $name || $image == "$IMAGE" ]] || stale+=("$name runs $image")
  done < <(kc get deployments -l "$selector" \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.template.spec.containers[0].image}{"\n"}{end}')
done
((${#stale[@]} == 0)) || die "some services do not run $IMAGE" "${stale[@]}"

say "deployed $IMAGE: ${#names[@]} workloads rolled out in $NAMESPACE"
echo "next: scripts/validate.sh --namespace $NAMESPACE"
