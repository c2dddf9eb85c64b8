#!/usr/bin/env bash
# Benchmarks (not tests), each measured against a baseline in the same run:
#   bench/bench.mjs              every ratio the project states, ours vs the raw microsandbox SDK
#                                (crates/core/examples/raw_sdk_bench.rs); writes bench/results.json
#                                and the README's performance section
#   examples/fork_options_bench  the SDK's fork options (disk snapshot, full snapshot, live branch)
# bench/run-flood-rss.mjs (host RSS during a run() flood) runs on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node22.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ai-sdk-microsandbox-build/target}"
cargo build -q -p ai-sdk-microsandbox-core --examples
examples="$CARGO_TARGET_DIR/debug/examples"
msb="$(node -p "require('path').join(require('path').dirname(require.resolve('@superradcompany/microsandbox-linux-x64-gnu/package.json')), 'bin', 'msb')")"
image=$(scripts/images/build.sh harness)
benches=(bash -c '
  echo "== every ratio, ours vs the raw SDK"; node bench/bench.mjs "$1" "$2/raw_sdk_bench" "$3"
  echo "== the SDK fork options"; "$2/fork_options_bench" "$1" "$3"' bench "$image" "$examples" "$msb")
scripts/vmhost/run-in-vm.sh --auto -- "${benches[@]}"
