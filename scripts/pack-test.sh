#!/usr/bin/env bash
# Packaging test: installs the packed packages the way a user gets them from npm, in a fresh
# project outside the repo, next to @ai-sdk/harness and ai from the registry, then imports the
# package and type-checks an agent that uses it with `tsc --strict`.
#
# Usage: scripts/pack-test.sh [report.json]
#   The report counts each step as a test for scripts/summarize-tests.mjs.
#   PACK_TEST_ADDON=<path to .node>   pack this addon instead of a release build (LTO, stripped: what
#                                     users get), which this script makes once per source and keeps
#                                     in $CARGO_TARGET_DIR/release-addons (outside the clone)
#   PACK_TEST_KEEP=1                  keep the temp dir (printed) for a look around
#   PACK_TEST_SESSION=1               also run one real microVM session from the installed copy, in
#                                     the QEMU test VM where KVM cannot boot microVMs; needs
#                                     AI_SDK_MICROSANDBOX_TEST_BUSYBOX_IMAGE (scripts/images/build.sh busybox)
#
# The published root manifest lists the platform packages as optionalDependencies; `napi
# prepublish` adds them on release, `platform-packages.mjs stamp` does the same here. Only the
# linux-x64-gnu addon can be built on this host, so only that platform package is packed: npm
# skips the others (optional, not on the registry at this version).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/node22.sh
repo=$PWD
report=${1:-}
platform=linux-x64-gnu
addon=${PACK_TEST_ADDON:-}
version=$(node -p 'require("./package.json").version')
dev() { node -p "require('./package.json').devDependencies['$1']"; }
harness_version=$(dev @ai-sdk/harness)
ai_version=$(dev ai)
# Pinned here, not in our devDependencies: only the temp project needs them.
typescript_version=5.9.3
types_node_version=22.20.7

work=$(mktemp -d /tmp/ai-sdk-microsandbox-pack.XXXXXX)
if [ "${PACK_TEST_KEEP:-0}" = 1 ]; then echo "pack test: keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work/tgz" "$work/project"

passed=0
failed=0
broken=''
# step NAME COMMAND...: runs it unless an earlier step failed (then it counts as failed too).
step() {
  local name=$1 t=$SECONDS
  shift
  if [ -n "$broken" ]; then
    echo "  - $name: not run ($broken failed)"
    failed=$((failed + 1))
    return
  fi
  if "$@" >"$work/step.log" 2>&1; then
    echo "  ✓ $name ($((SECONDS - t)) s)"
    passed=$((passed + 1))
  else
    echo "  ✗ $name ($((SECONDS - t)) s)"
    tail -n 40 "$work/step.log" | sed 's/^/      /'
    failed=$((failed + 1))
    broken=$name
  fi
}

size() { du -h "$1" | cut -f1; }
mib() { echo $(($(du -sbc "$@" | tail -n1 | cut -f1) / 1048576)); }
# What users download and install, in MiB: a budget each, so that growth is a decision.
ADDON_BUDGET=40
PLATFORM_TARBALL_BUDGET=16
INSTALLED_BUDGET=160

# The release addon, built once per source: cached by a digest of every file cargo reads and of the
# toolchain. Cargo's own fingerprints cannot do this: a fresh clone's new mtimes make them stale, and
# a fat-LTO build of our two crates takes minutes.
release_cache="${CARGO_TARGET_DIR:-target}/release-addons"
build_release() {
  local sources toolchain key
  sources=$(git ls-files -co --exclude-standard -z Cargo.toml Cargo.lock crates | xargs -0 sha256sum) || return 1
  toolchain=$(rustc -vV && npx napi --version && node -p 'JSON.stringify(require("./package.json").napi)' &&
    echo "RUSTFLAGS=${RUSTFLAGS:-}") || return 1
  key=$(printf '%s\n%s\n' "$sources" "$toolchain" | sha256sum | cut -c1-16)
  addon="$release_cache/$key/ai-sdk-microsandbox.$platform.node"
  if [ -f "$addon" ]; then
    echo "release addon for source $key: cached"
  else
    npx napi build --platform --release --manifest-path crates/napi/Cargo.toml --output-dir "$work/release" || return 1
    # Only the newest build is kept: an addon is tens of MiB.
    rm -rf "$release_cache" && mkdir -p "$release_cache/$key.tmp" &&
      cp "$work/release/ai-sdk-microsandbox.$platform.node" "$release_cache/$key.tmp/" &&
      mv "$release_cache/$key.tmp" "$release_cache/$key" || return 1
  fi
  ls -l "$addon"
}

pack_root() {
  npm pack --silent --pack-destination "$work" >/dev/null || return 1
  mkdir -p "$work/root" && tar -xzf "$work/ai-sdk-microsandbox-$version.tgz" -C "$work/root" || return 1
  node scripts/platform-packages.mjs stamp "$work/root/package" || return 1
  (cd "$work/root/package" && npm pack --silent --pack-destination "$work/tgz" >/dev/null) || return 1
  # The root must not carry an addon: it comes from the platform package.
  if tar -tzf "$work/tgz/ai-sdk-microsandbox-$version.tgz" | grep -q '\.node$'; then
    echo "the root tarball contains a .node file"
    return 1
  fi
}

pack_platform() {
  if [ ! -f "$addon" ]; then
    echo "no addon at $addon: build it first (bash scripts/setup.sh)"
    return 1
  fi
  # What `napi artifacts` does on release: the addon goes into npm/<platform>/ under its napi name.
  cp -r "npm/$platform" "$work/$platform" &&
    cp "$addon" "$work/$platform/ai-sdk-microsandbox.$platform.node" &&
    (cd "$work/$platform" && npm pack --silent --pack-destination "$work/tgz" >/dev/null)
}

install_packed() {
  cd "$work/project" || return 1
  echo '{ "name": "pack-test", "private": true, "type": "module" }' >package.json
  npm install --no-audit --no-fund \
    "$work/tgz/ai-sdk-microsandbox-$version.tgz" \
    "$work/tgz/ai-sdk-microsandbox-$platform-$version.tgz" \
    "@ai-sdk/harness@$harness_version" "ai@$ai_version" \
    "typescript@$typescript_version" "@types/node@$types_node_version" || return 1
  # The addon and the microsandbox runtime (msb + libkrunfw) came with the packages.
  ls node_modules/ai-sdk-microsandbox-$platform/ai-sdk-microsandbox.$platform.node \
    node_modules/@superradcompany/microsandbox-$platform/bin/msb
}

import_installed() {
  cd "$work/project" || return 1
  cat >import.mjs <<'EOF'
import assert from 'node:assert/strict';
import { createMicrosandbox, createMicrosandboxNetworkSandboxSession, MicrosandboxError } from 'ai-sdk-microsandbox';

const provider = createMicrosandbox({ image: 'node:22-bookworm-slim', ports: [{ host: 3000, guest: 3000 }] });
assert.equal(provider.specificationVersion, 'harness-sandbox-v1');
assert.equal(typeof provider.createSession, 'function');
assert.throws(
  () => createMicrosandbox({ image: 'node:22-bookworm-slim', ports: ['3000'] }),
  (e) => e instanceof MicrosandboxError && e.code === 'ERR_MICROSANDBOX_INVALID_SETTINGS',
);
await assert.rejects(
  createMicrosandboxNetworkSandboxSession({ runtime: 'node24' }),
  (e) => e instanceof MicrosandboxError && e.code === 'ERR_MICROSANDBOX_INVALID_SETTINGS',
);
console.log('imported; provider', provider.providerId);
EOF
  node import.mjs
}

doctor_installed() {
  cd "$work/project" || return 1
  # Exit status 1 only means microVMs cannot boot on this host; 2 would be a usage error.
  npx --no-install ai-sdk-microsandbox doctor --json >doctor.json
  [ $? -le 1 ] || return 1
  node -e '
    const r = JSON.parse(require("fs").readFileSync("doctor.json", "utf8"));
    if (!r.addon.ok || !r.runtime.ok || r.runtime.source !== "npm package") throw new Error(JSON.stringify(r, null, 2));
    console.log("addon", r.addon.path, "| msb", r.runtime.version, "| microVMs", r.ok ? "can boot" : "cannot boot here");'
}

typecheck() {
  cd "$work/project" || return 1
  cat >agent.ts <<'EOF'
import { HarnessAgent, type HarnessAgentAdapter } from '@ai-sdk/harness/agent';
import {
  createMicrosandbox,
  createMicrosandboxNetworkSandboxSession,
  MicrosandboxError,
  type MicrosandboxProvider,
} from 'ai-sdk-microsandbox';

declare const harness: HarnessAgentAdapter;

const sandbox: MicrosandboxProvider = createMicrosandbox({
  image: 'node:22-bookworm-slim',
  cpus: 1,
  memory: 1024,
  ports: [{ host: 3000, guest: 3000 }],
  networkPolicy: { mode: 'deny-all' },
});
export const agent = new HarnessAgent({ harness, sandbox });

// Today's factory takes sandbox-vercel's shapes.
export const sandboxSession = createMicrosandboxNetworkSandboxSession({ ports: [3000], timeout: 60_000, resources: { vcpus: 1 } });

// The settings are typed, not `any`.
// @ts-expect-error ports are numbers or { host, guest } pairs
createMicrosandbox({ image: 'node:22-bookworm-slim', ports: ['3000'] });

export function codeOf(e: unknown): string | undefined {
  return e instanceof MicrosandboxError ? e.code : undefined;
}
EOF
  cat >tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "strict": true,
    "noEmit": true,
    "target": "es2022",
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "types": ["node"],
    "skipLibCheck": true
  },
  "files": ["agent.ts"]
}
EOF
  npx tsc --strict -p tsconfig.json || return 1
  # skipLibCheck (as in most projects) would also hide errors inside our index.d.ts: check it alone.
  # Upstream declarations have errors of their own (@ai-sdk/provider lacks @types/json-schema; ai's
  # `typeof download` refers to itself), so only errors in our package count.
  echo '{ "extends": "./tsconfig.json", "compilerOptions": { "skipLibCheck": false },
    "files": ["node_modules/ai-sdk-microsandbox/index.d.ts"] }' >tsconfig.dts.json
  if npx tsc -p tsconfig.dts.json | grep 'ai-sdk-microsandbox/'; then return 1; fi
}

session() {
  cd "$work/project" || return 1
  cat >session.mjs <<'EOF'
import assert from 'node:assert/strict';
import { createMicrosandboxNetworkSandboxSession } from 'ai-sdk-microsandbox';

const image = process.env.AI_SDK_MICROSANDBOX_TEST_BUSYBOX_IMAGE;
assert.ok(image, 'AI_SDK_MICROSANDBOX_TEST_BUSYBOX_IMAGE names the test image (scripts/images/build.sh busybox)');
const session = await createMicrosandboxNetworkSandboxSession({ image, memory: 256 });
try {
  const out = await session.run({ command: 'echo hello from $(uname -s)' });
  assert.equal(out.exitCode, 0);
  assert.match(out.stdout, /hello from Linux/);
  console.log(out.stdout.trim());
} finally {
  await session.destroy();
}
EOF
  # Directly where KVM boots microVMs, else in the QEMU test VM (which sees this dir and env).
  "$repo/scripts/vmhost/run-in-vm.sh" --auto -- node session.mjs
}

sizes() {
  local modules="$work/project/node_modules" addon_mib tarball_mib installed_mib
  addon_mib=$(mib "$addon")
  tarball_mib=$(mib "$work/tgz/ai-sdk-microsandbox-$platform-$version.tgz")
  # Ours and the microsandbox runtime they bring (msb + libkrunfw), as installed.
  installed_mib=$(mib "$modules/ai-sdk-microsandbox" "$modules/ai-sdk-microsandbox-$platform" "$modules/@superradcompany")
  {
    for f in "$work"/tgz/*.tgz; do echo "$(basename "$f"): $(size "$f")"; done
    echo "addon $addon_mib MiB, platform tarball $tarball_mib MiB, installed $installed_mib MiB"
  } | tee "$work/sizes.txt"
  [ "$addon_mib" -le "$ADDON_BUDGET" ] && [ "$tarball_mib" -le "$PLATFORM_TARBALL_BUDGET" ] &&
    [ "$installed_mib" -le "$INSTALLED_BUDGET" ]
}

echo "== pack test (ai-sdk-microsandbox@$version, $platform, @ai-sdk/harness@$harness_version, ai@$ai_version)"
t0=$SECONDS
if [ -z "$addon" ]; then
  step "build the release addon (LTO, stripped), as users get it" build_release
fi
step "pack the root package (optionalDependencies as napi prepublish writes them)" pack_root
step "pack the $platform package with the built addon" pack_platform
step "install both tarballs with @ai-sdk/harness, ai and typescript from the registry" install_packed
step "import the installed package" import_installed
step "npx ai-sdk-microsandbox doctor from the installed copy" doctor_installed
step "tsc --strict: createMicrosandbox() in new HarnessAgent({ harness, sandbox }), the session factory, and our index.d.ts" typecheck
step "sizes within budget: addon $ADDON_BUDGET MiB, platform tarball $PLATFORM_TARBALL_BUDGET MiB, installed $INSTALLED_BUDGET MiB" sizes
[ -f "$work/sizes.txt" ] && sed 's/^/      /' "$work/sizes.txt"
if [ "${PACK_TEST_SESSION:-0}" = 1 ]; then
  step "one microVM session from the installed copy" session
fi
echo "== pack test: $passed passed, $failed failed in $((SECONDS - t0)) s"
if [ -n "$report" ]; then
  printf '{"numPassedTests":%d,"numFailedTests":%d,"numFailedTestSuites":0}\n' "$passed" "$failed" >"$report"
fi
[ "$failed" = 0 ]
