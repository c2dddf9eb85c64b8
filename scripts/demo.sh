#!/usr/bin/env bash
# Sets everything up and runs a demo session in a real microVM (examples/demo.mjs).
# Where KVM cannot boot microVMs it runs inside a QEMU TCG VM (scripts/vmhost).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node22.sh
# The tiny busybox test image: a first microVM in minutes (the harness image carries Claude Code).
image=${1:-$(scripts/images/build.sh busybox)}
scripts/vmhost/run-in-vm.sh --auto -- node examples/demo.mjs "$image"
