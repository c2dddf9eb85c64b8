#!/usr/bin/env bash
# Measures how often the test VM or its microVMs die under the heaviest tests (issue #14): runs the
# four-concurrent-boot lifecycle test and the stress file N times, each in a new test VM, with no
# retries, and prints one line per run and a summary row for scripts/vmhost/README.md.
# Usage: scripts/vmhost/stability.sh [RUNS] [run-in-vm.sh options...]
# Needs the addon built and the test images (scripts/images/build.sh); run nothing else meanwhile.
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
shift || true
source scripts/node22.sh
source scripts/images/test-env.sh
export AI_SDK_MICROSANDBOX_KVM=1 AI_SDK_MICROSANDBOX_EMULATED=1
work=$(mktemp -d /tmp/vmhost-stability.XXXXXX)
deaths=0 faults=0 failed=0 times=()
for i in $(seq 1 "$runs"); do
  t=$SECONDS rc=0
  VMHOST_CONSOLE_LOG="$work/console-$i.txt" scripts/vmhost/run-in-vm.sh "$@" -- \
    npx vitest run __test__/integration/lifecycle.spec.ts __test__/stress/stress.spec.ts --retry=0 \
    -t '4 sessions|stdout flood|32 MiB' --reporter=json --outputFile="$work/run-$i.json" >"$work/out-$i.txt" 2>&1 || rc=$?
  secs=$((SECONDS - t))
  f=$(grep -c vmhost_microvm_shutdown "$work/console-$i.txt" 2>/dev/null || true)
  n=$(node -p "require('$work/run-$i.json').numFailedTests" 2>/dev/null || echo '?')
  died=0; { [ "$rc" = 124 ] || [ "$rc" = 125 ]; } && died=1
  deaths=$((deaths + died)) faults=$((faults + ${f:-0}))
  [ "$n" = '?' ] || failed=$((failed + n))
  times+=("$secs")
  echo "run $i: exit $rc, L1 died $died, microVM triple faults ${f:-0}, failed tests $n, $secs s"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
echo "summary: $runs runs, $deaths L1 deaths, $faults microVM triple faults, $failed failed tests, median $median s (logs in $work)"
