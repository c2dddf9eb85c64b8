#!/usr/bin/env bash
# Runs the tests: unit (cargo + vitest + the packaging test) and integration (real microVMs).
# Usage: scripts/test.sh [all|unit|integration|stress|e2e]. Ends with "N passed, N failed".
# `stress` (sustained guest I/O, __test__/stress) is not part of `all`: see its spec file.
# `e2e` (__test__/e2e) drives the real agents against the real model APIs when their keys are set.
# Integration tests boot real microVMs: directly where KVM works, otherwise inside
# a QEMU TCG VM (scripts/vmhost) where microsandbox's KVM guests can run.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
t0=$SECONDS
bash scripts/setup.sh
source scripts/node22.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ai-sdk-microsandbox-build/target}"
echo "== setup done in $((SECONDS - t0)) s"

results=$(mktemp -d /tmp/ai-sdk-microsandbox-test.XXXXXX)
# Names this test run: a file rerun after its test VM died finds what an earlier attempt left (agents.spec.ts).
export AI_SDK_MICROSANDBOX_TEST_RUN="${results##*.}"
vitest() { npx vitest run "$@" --reporter=verbose --reporter=json; }
# Unit tests that only make sense without usable KVM (fail-fast errors) read this; run-in-vm.sh
# --auto sets it to 1 for the microVM tests, which run where microVMs boot.
if scripts/vmhost/kvm-probe.sh; then export AI_SDK_MICROSANDBOX_KVM=1; else export AI_SDK_MICROSANDBOX_KVM=0; fi

if [ "$what" = all ] || [ "$what" = unit ]; then
  t=$SECONDS
  cargo test --workspace 2>&1 | tee "$results/cargo.log" || true
  vitest __test__/unit --outputFile="$results/unit.json" || touch "$results/unit.failed"
  bash scripts/lint.sh "$results/lint.json" || true
  # The packed packages installed in a fresh project, as users get them; with the integration
  # half, also one microVM session from that installed copy.
  if [ "$what" = all ]; then
    source scripts/images/test-env.sh
    PACK_TEST_SESSION=1 bash scripts/pack-test.sh "$results/pack.json" || touch "$results/pack.failed"
  else
    bash scripts/pack-test.sh "$results/pack.json" || touch "$results/pack.failed"
  fi
  echo "== unit tests done in $((SECONDS - t)) s"
fi

if [ "$what" = e2e ] && [ -z "${ANTHROPIC_API_KEY:-}" ]; then
  echo "== ANTHROPIC_API_KEY is not set: no end-to-end test to run (npm test runs the agent against a local fake model API)"
elif [ "$what" = all ] || [ "$what" = integration ] || [ "$what" = stress ] || [ "$what" = e2e ]; then
  t=$SECONDS
  dir=__test__/integration
  [ "$what" = stress ] && dir=__test__/stress
  [ "$what" = e2e ] && dir=__test__/e2e
  source scripts/images/test-env.sh
  echo "== test images ready in $((SECONDS - t)) s"
  # agents.spec drives the useChat example app in Debian's Chromium: built here, outside the (slow) test VM.
  if [ "$what" != stress ] && [ "$what" != e2e ]; then
    # A failure here fails the browser test (it finds no build or no browser), not the whole run.
    if ! command -v chromium >/dev/null; then
      if [ "$(id -u)" = 0 ]; then
        { apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y chromium >/dev/null; } || true
      else
        echo "== the browser test needs Chromium: sudo apt-get install chromium" >&2
      fi
    fi
    CHROMIUM=$(command -v chromium || echo /usr/bin/chromium)
    export CHROMIUM
    bash scripts/next-chat.sh build || echo "== examples/next-chat did not build"
    echo "== examples/next-chat built in $((SECONDS - t)) s"
  fi
  suite=(npx vitest run --reporter=verbose --reporter=json --reporter=./__test__/support/passed-tests.ts)
  # One vitest per file, where KVM cannot boot microVMs each in a new QEMU TCG VM (run-in-vm.sh
  # --auto). The emulator's nested SVM is not stable (scripts/vmhost/README.md): a file whose test
  # VM died (exit 125, its kernel evidence printed by run-in-vm.sh) runs again in a new VM, skipping
  # the tests that had passed (__test__/support/passed-tests.ts), as long as attempts make progress:
  # at most 5, and never after two in a row that passed nothing new. A file whose tests failed is
  # not rerun. Run directly, nothing exits 125.
  for spec in "$dir"/*.spec.ts; do
    name=$(basename "$spec" .spec.ts)
    export AI_SDK_MICROSANDBOX_TEST_PASSED_LOG="$results/integration-$name.passed"
    passed_so_far() { { sort -u "$AI_SDK_MICROSANDBOX_TEST_PASSED_LOG" 2>/dev/null || true; } | wc -l; }
    stalled=0
    for attempt in 1 2 3 4 5; do
      before=$(passed_so_far) rc=0
      AI_SDK_MICROSANDBOX_TEST_ATTEMPT=$attempt scripts/vmhost/run-in-vm.sh --auto -- "${suite[@]}" "$spec" --outputFile="$results/integration-$name.json" || rc=$?
      [ "$rc" = 125 ] || break
      if [ "$(passed_so_far)" = "$before" ]; then stalled=$((stalled + 1)); else stalled=0; fi
      if [ "$attempt" = 5 ] || [ "$stalled" = 2 ]; then
        echo "== the test VM died during $name (exit 125, attempt $attempt); giving up on the file"
        break
      fi
      echo "== the test VM died during $name (exit 125, attempt $attempt); rerunning the file in a new one"
    done
    [ "$rc" = 0 ] || touch "$results/integration-$name.failed"
  done
  echo "== integration tests done in $((SECONDS - t)) s"
fi

echo "== total $((SECONDS - t0)) s"
node scripts/summarize-tests.mjs "$results"
