# Shared setup of the operator-script tests: fake kubectl, docker and k3s first on PATH,
# their calls in $FAKE_LOG, backups in a temporary directory.
# shellcheck shell=bash

# shellcheck disable=SC2034 # used by the .bats files
ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# The interpreter itself rather than a version-manager shim: the fake kubectl is called
# hundreds of times, and a shim costs more than the call.
PYTHON_DIR=$(dirname "$(python3 -c 'import sys; print(sys.executable)')")

common_setup() {
  export FAKE_LOG=$BATS_TEST_TMPDIR/calls.log
  export FAKE_STATE=$BATS_TEST_TMPDIR/state
  export DEPLOY_BACKUP_DIR=$BATS_TEST_TMPDIR/backups
  export DEPLOY_SUDO=
  export PATH="$BATS_TEST_DIRNAME/bin:$PYTHON_DIR:$PATH"
  unset DEPLOY_NAMESPACE DEPLOY_OVERLAY CORALOGIX_PRIVATE_KEY OTLP_BACKEND_AUTHORIZATION
  mkdir -p "$FAKE_STATE"
  : >"$FAKE_LOG"
}

# called PATTERN: the fake tools were called with a line matching PATTERN (grep -E).
called() { grep -Eq -- "$1" "$FAKE_LOG" || { echo "no call matching: $1" >&2; cat "$FAKE_LOG" >&2; return 1; }; }
not_called() { ! grep -Eq -- "$1" "$FAKE_LOG" || { echo "unexpected call matching: $1" >&2; grep -E -- "$1" "$FAKE_LOG" >&2; return 1; }; }
count_calls() { grep -Ec -- "$1" "$FAKE_LOG" || true; }

need_real_kubectl() {
  [[ -n ${REAL_KUBECTL:-} ]] || skip "REAL_KUBECTL (a kubectl with kustomize) is not set"
}

free_port() { echo $((20000 + RANDOM % 20000)); }
