#!/usr/bin/env bash
# Sets everything up and runs a demo session in a real microVM (examples/demo.mjs).
# Where KVM cannot boot microVMs it runs inside a QEMU TCG VM (scripts/vmhost).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node22.sh
image=${1:-$(scripts/images/build.sh harness)}
if scripts/vmhost/kvm-probe.sh; then
  node examples/demo.mjs "$image"
else
  echo "KVM cannot boot microVMs on this host: running the demo inside a QEMU TCG VM (slow, but real)"
  scripts/vmhost/run-in-vm.sh -- node examples/demo.mjs "$image"
fi
