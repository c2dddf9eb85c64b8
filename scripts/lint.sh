#!/usr/bin/env bash
# Code hygiene, counted like tests: rustfmt, clippy with warnings as errors, shellcheck over the
# shell the core runs in guests, oxlint over the JS.
# Usage: scripts/lint.sh [report.json]  (a vitest-shaped count for scripts/summarize-tests.mjs)
set -uo pipefail
cd "$(dirname "$0")/.."
report=${1-}
passed=0 failed=0
check() {  # check NAME COMMAND...: runs it, prints its output on failure
  local out
  if out=$("${@:2}" 2>&1); then
    passed=$((passed + 1)); echo "lint: $1 ok"
  else
    failed=$((failed + 1)); echo "lint: $1 FAILED"; echo "$out" | tail -40
  fi
}
# Debian's package; installed here on first use (root on our machines and CI).
if ! command -v shellcheck >/dev/null; then
  { apt-get install -y -q shellcheck || { apt-get update -q && apt-get install -y -q shellcheck; }; } >/dev/null 2>&1 ||
    echo "lint: could not install shellcheck (apt-get install shellcheck)"
fi
check "cargo fmt --check" cargo fmt --all -- --check
check "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings
check "shellcheck (guest scripts)" shellcheck crates/core/src/sh/*.sh
check "oxlint" npx oxlint --deny-warnings lib __test__ scripts bin examples bench
if [ -n "$report" ]; then
  printf '{"numPassedTests":%d,"numFailedTests":%d,"numFailedTestSuites":0}\n' "$passed" "$failed" >"$report"
fi
[ "$failed" = 0 ]
