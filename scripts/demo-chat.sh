#!/usr/bin/env bash
# Sets everything up and starts the useChat example (examples/next-chat) for a person, on
# http://localhost:3000 (DEMO_CHAT_PORT): against the Anthropic API when ANTHROPIC_API_KEY is set,
# else against a local fake model API. Where KVM cannot boot microVMs the app runs inside a QEMU TCG
# VM (scripts/vmhost) whose port is forwarded to the host's loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/next-chat.sh build
source scripts/node22.sh
image=${1:-$(scripts/images/build.sh harness)}
port=${DEMO_CHAT_PORT:-3000}
export DEMO_CA_BUNDLE=${DEMO_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
scripts/vmhost/run-in-vm.sh --auto --forward "$port" --timeout 86400 -- node examples/next-chat/demo.mjs "$image" "$port"
