#!/usr/bin/env bash
# Prints our session's speed as ratios against the raw microsandbox SDK, in one microVM.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node22.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ai-sdk-microsandbox-build/target}"
cargo build -q -p ai-sdk-microsandbox-core --example raw_sdk_bench
raw="$CARGO_TARGET_DIR/debug/examples/raw_sdk_bench"
image=$(scripts/images/build.sh harness)
benches=(bash -c 'node bench/session.bench.mjs "$1" "$2" && node bench/template.bench.mjs "$1"' bench "$image" "$raw")
if scripts/vmhost/kvm-probe.sh >/dev/null; then
  "${benches[@]}"
else
  scripts/vmhost/run-in-vm.sh -- "${benches[@]}"
fi
