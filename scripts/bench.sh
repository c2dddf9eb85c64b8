#!/usr/bin/env bash
# Benchmarks (not tests), each measured against a baseline in the same run:
#   bench/session.bench.mjs      run('true') and a 64 MiB file round trip vs the raw microsandbox SDK
#   bench/template.bench.mjs     a session forked from a bootstrap template vs a cold create
#   examples/fork_options_bench  the SDK's fork options (disk snapshot, full snapshot, live branch)
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
  echo "== session vs the raw SDK"; node bench/session.bench.mjs "$1" "$2/raw_sdk_bench"
  echo "== fork from a template vs cold create"; node bench/template.bench.mjs "$1"
  echo "== the SDK fork options"; "$2/fork_options_bench" "$1" "$3"' bench "$image" "$examples" "$msb")
if scripts/vmhost/kvm-probe.sh >/dev/null; then
  "${benches[@]}"
else
  scripts/vmhost/run-in-vm.sh -- "${benches[@]}"
fi
