#!/usr/bin/env bash
# Checks that the committed storefront bundle is what its sources build: copies
# crates/shop/src/services/frontend/storefront (without node_modules) to a temporary folder,
# installs the locked packages there with `npm ci`, runs `node build.mjs`, and fails when the
# result differs from the committed dist/. With --smoke, also drives the page in headless
# Chromium against its mock shop (dev/smoke.mjs).
#   scripts/check-storefront.sh [--smoke]
# Needs Node.js 18 or newer with npm (20 or newer for --smoke); the bundle is what the frontend
# service serves.
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --smoke) SMOKE=1; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option '$1' (see scripts/check-storefront.sh --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

DIR=crates/shop/src/services/frontend/storefront

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  fail "node and npm are needed to check the storefront bundle; install them (Debian/Ubuntu: apt-get install -y nodejs npm) and run scripts/check-storefront.sh again"
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if (( major < 18 )); then
  fail "Node.js $(node --version) is too old for the storefront build: install Node.js 18 or newer"
fi
if (( SMOKE && major < 20 )); then
  fail "Node.js $(node --version) is too old for the storefront smoke test (playwright-core): install Node.js 20 or newer"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say "npm ci and build of the storefront in $work"
tar -C "$DIR" --exclude=node_modules --exclude=dist -cf - . | tar -C "$work" -xf -
(cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && node build.mjs)

stale=0
for f in "$work"/dist/*; do
  name=$(basename "$f")
  if ! cmp -s "$f" "$DIR/dist/$name"; then
    echo "differs: $DIR/dist/$name" >&2
    stale=1
  fi
done
for f in "$DIR"/dist/*; do
  [[ -e "$work/dist/$(basename "$f")" ]] || { echo "not built any more: $f" >&2; stale=1; }
done
if (( stale )); then
  fail "the committed storefront bundle is stale: run (cd $DIR && npm ci && node build.mjs) and commit $DIR/dist"
fi
say "the committed storefront bundle matches its sources"

if (( SMOKE )); then
  say "storefront smoke test in headless Chromium"
  (cd "$work" && node dev/smoke.mjs) || fail "the storefront smoke test failed (Chromium: apt-get install -y chromium, or set CHROMIUM)"
fi
