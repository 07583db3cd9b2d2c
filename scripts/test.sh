#!/usr/bin/env bash
# Runs every check and test of the project: format, lints, unit and integration tests against
# a real PostgreSQL, Redis and RabbitMQ, the deployment checks (scripts/check-deploy.sh), the public API
# against its OpenAPI document (scripts/check-api.sh: openapi-spec-validator, schemathesis),
# the storefront's bundle rebuilt from its lockfile (scripts/check-storefront.sh), and
# the console's page and the storefront in headless Chromium (tests/ui/run.sh, which installs Chromium when it
# can). Starts PostgreSQL, Redis and RabbitMQ when they are installed but stopped, installs them
# (Debian/Ubuntu, as root) when they are missing, and otherwise says what to do.
#   scripts/test.sh [extra cargo-nextest arguments]
# Environment: TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
#              TEST_REDIS_URL (default redis://127.0.0.1:6379/0),
#              TEST_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/%2f).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_for() {
  for _ in $(seq 1 100); do listening "$1" "$2" && return 0; sleep 0.1; done
  return 1
}
can_apt() { [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; }
apt_install() {
  say "installing $* (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if [[ -n ${TEST_DATABASE_URL:-} ]]; then
    return 0
  fi
  listening 127.0.0.1 5432 && return 0
  if ! command -v pg_ctlcluster >/dev/null; then
    if can_apt; then
      apt_install postgresql
    else
      echo "PostgreSQL is not running on 127.0.0.1:5432 and cannot be installed here." >&2
      echo "Start one (for example: docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16)" >&2
      echo "or point TEST_DATABASE_URL at one, then run this again." >&2
      exit 1
    fi
  fi
  local version
  version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n1)
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for 127.0.0.1 5432 || { echo "PostgreSQL did not start" >&2; exit 1; }
  # A cluster installed by Debian asks for a password over TCP: give the test user one.
  if command -v runuser >/dev/null; then
    runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null 2>&1 || true
  fi
  export TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres
}

ensure_redis() {
  if [[ -n ${TEST_REDIS_URL:-} ]]; then
    return 0
  fi
  listening 127.0.0.1 6379 && return 0
  if ! command -v redis-server >/dev/null; then
    if can_apt; then
      apt_install redis-server
    else
      echo "Redis is not running on 127.0.0.1:6379 and cannot be installed here." >&2
      echo "Start one (for example: docker run -d -p 6379:6379 redis:7) or set TEST_REDIS_URL, then run this again." >&2
      exit 1
    fi
  fi
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  wait_for 127.0.0.1 6379 || { echo "Redis did not start" >&2; exit 1; }
}

ensure_rabbitmq() {
  if [[ -n ${TEST_AMQP_URL:-} ]]; then
    return 0
  fi
  export TEST_AMQP_URL='amqp://guest:guest@127.0.0.1:5672/%2f'
  listening 127.0.0.1 5672 && return 0
  if ! command -v rabbitmq-server >/dev/null; then
    if can_apt; then
      apt_install rabbitmq-server
    else
      echo "RabbitMQ is not running on 127.0.0.1:5672 and cannot be installed here." >&2
      echo "Start one (for example: docker run -d -p 5672:5672 rabbitmq:4-alpine) or set TEST_AMQP_URL, then run this again." >&2
      exit 1
    fi
  fi
  say "starting RabbitMQ"
  # The Debian package starts it as a service where there is an init; without one, by hand.
  if ! listening 127.0.0.1 5672; then
    if command -v runuser >/dev/null && id rabbitmq >/dev/null 2>&1; then
      runuser -u rabbitmq -- rabbitmq-server -detached >/dev/null 2>&1 || true
    else
      rabbitmq-server -detached >/dev/null 2>&1 || true
    fi
  fi
  # The broker takes a few seconds to boot.
  for _ in $(seq 1 60); do listening 127.0.0.1 5672 && return 0; sleep 1; done
  echo "RabbitMQ did not start (see /var/log/rabbitmq)" >&2
  exit 1
}

# Node.js builds the storefront's bundle and runs the browser tests (playwright-core drives the
# system's Chromium, which tests/ui/run.sh installs); checked first, not after the long build.
ensure_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if can_apt; then
      apt_install nodejs npm
    else
      echo "Node.js 20 or newer with npm is needed (the storefront bundle and the browser tests): install it, then run this again." >&2
      exit 1
    fi
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if (( major < 20 )); then
    echo "Node.js $(node --version) is too old: the browser tests need 20 or newer (Debian 13's nodejs, or NodeSource's packages on Debian 12)." >&2
    exit 1
  fi
}

command -v cargo >/dev/null || { echo "cargo is needed: install Rust from https://rustup.rs" >&2; exit 1; }
ensure_node
ensure_postgres
ensure_redis
ensure_rabbitmq

say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  say "cargo nextest run"
  cargo nextest run --workspace --no-fail-fast "$@"
else
  say "cargo test (cargo-nextest not installed)"
  cargo test --workspace --no-fail-fast "$@"
fi
say "deployment checks (manifests against the binary, collector, Dockerfile, scripts)"
cargo build --quiet -p tracemart
scripts/check-deploy.sh
say "the public API against its OpenAPI document (scripts/check-api.sh)"
scripts/check-api.sh
say "the storefront's committed bundle against its sources (scripts/check-storefront.sh)"
scripts/check-storefront.sh
say "the console UI and the storefront in headless Chromium (tests/ui/run.sh)"
tests/ui/run.sh
