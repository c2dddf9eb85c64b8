#!/usr/bin/env bash
# Sets everything up and runs the real Claude Code agent in a microVM (examples/claude-code.mjs):
# against the Anthropic API when ANTHROPIC_API_KEY is set, else against a local fake model API.
# Where KVM cannot boot microVMs it runs inside a QEMU TCG VM (scripts/vmhost): slow, but real.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node22.sh
image=${1:-$(scripts/images/build.sh harness)}
# Networks that re-sign TLS with a local CA: the guest's pnpm needs the host's bundle. Set
# DEMO_CA_BUNDLE= (empty) to skip.
export DEMO_CA_BUNDLE=${DEMO_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
scripts/vmhost/run-in-vm.sh --auto -- node examples/claude-code.mjs "$image"
