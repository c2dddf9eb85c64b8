#!/usr/bin/env bash
# Idempotent setup on a fresh machine: Node >= 22, npm dependencies, the native addon.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node22.sh

# Reinstall only when the lockfile changed since the last install.
stamp=node_modules/.ai-sdk-microsandbox-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi

# The Codex tests' fixture project: the vendored adapter and harness (__test__/fixtures/codex/vendor).
fixture=__test__/fixtures/codex
if [ ! -f "$fixture/node_modules/.ai-sdk-microsandbox-lock" ] || ! cmp -s "$fixture/package-lock.json" "$fixture/node_modules/.ai-sdk-microsandbox-lock"; then
  npm ci --prefix "$fixture" --no-audit --no-fund
  cp "$fixture/package-lock.json" "$fixture/node_modules/.ai-sdk-microsandbox-lock"
fi

# The microsandbox crate takes minutes to build cold: keep the target dir outside
# the clone so fresh clones (and CI) reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ai-sdk-microsandbox-build/target}"
npm run --silent build:debug
