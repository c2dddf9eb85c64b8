#!/usr/bin/env bash
# Idempotent setup for run-in-vm.sh on Debian 12 (bookworm) with only the Debian mirror reachable:
#   * qemu-system-x86 10.x from bookworm-backports (7.2 conflicts with the preinstalled backports qemu-utils),
#   * a Debian 6.1 kernel and static busybox, only unpacked into the cache (nothing else is installed),
#   * the L1 initramfs (busybox + virtio/9p/ext4/kvm modules + init.sh), rebuilt when its inputs change.
# `setup.sh rootfs` only prepares busybox and busybox-rootfs/ (all kvm-probe.sh needs).
# Cache layout: kernel/ (vmlinux, lib/modules/, version), busybox/bin/busybox, busybox-rootfs/,
# initramfs.cpio.gz, apt/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${AI_SDK_MICROSANDBOX_VMHOST_DIR:-$HOME/.cache/ai-sdk-microsandbox-dev/vmhost}"
mirror="${VMHOST_DEBIAN_MIRROR:-http://deb.debian.org}"
# Modules the L1 kernel needs, their dependencies are added from modules.dep.
modules="virtio_pci virtio_blk virtio_net 9pnet_virtio 9p ext4 crc32c_generic kvm_amd"

log() { echo "vmhost setup: $*" >&2; }
mkdir -p "$cache"
# One setup at a time (run-in-vm.sh may be started twice at once).
exec 8>"$cache/setup.lock"
flock 8
work="$(mktemp -d "$cache/setup.XXXXXX")"  # temp files, gone even when a step fails
trap 'rm -rf "$work"' EXIT

# --- private apt configuration: the system's sources and apt cache stay untouched -------------
apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
key=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$apt_dir/sources.list" <<EOF
deb [signed-by=$key] $mirror/debian bookworm main
deb [signed-by=$key] $mirror/debian bookworm-updates main
deb [signed-by=$key] $mirror/debian bookworm-backports main
deb [signed-by=$key] $mirror/debian-security bookworm-security main
EOF
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root -q)
export DEBIAN_FRONTEND=noninteractive
updated=
apt_update() {  # at most once per setup, and only when something has to be downloaded
  [ -n "$updated" ] && return
  log "apt-get update (private lists in $apt_dir)"
  apt-get "${apt_opts[@]}" update >&2
  updated=1
}

only_rootfs=; [ "${1-}" = rootfs ] && only_rootfs=1

# --- QEMU -----------------------------------------------------------------------------------------
if [ -z "$only_rootfs" ] && ! command -v qemu-system-x86_64 >/dev/null; then
  apt_update
  log "installing qemu-system-x86 from bookworm-backports"
  apt-get "${apt_opts[@]}" -y --no-install-recommends -t bookworm-backports install qemu-system-x86 >&2
fi

# Tools that not every minimal Debian image has: mkfs.ext4 (the scratch disk), xz (see vmlinux below).
for tool in mkfs.ext4:e2fsprogs xz:xz-utils; do
  if [ -z "$only_rootfs" ] && ! command -v "${tool%:*}" >/dev/null; then
    apt_update
    apt-get "${apt_opts[@]}" -y --no-install-recommends install "${tool#*:}" >&2
  fi
done

# --- kernel and busybox, unpacked into the cache ----------------------------------------------------
fetch_deb() {  # fetch_deb PACKAGE DIR: download PACKAGE's .deb and unpack it into DIR
  mkdir "$work/$1"
  (cd "$work/$1" && apt-get "${apt_opts[@]}" download "$1" >&2)
  dpkg -x "$work/$1"/*.deb "$work/$1/x"
  rm -rf "$2" && mv "$work/$1/x" "$2"
}
if [ ! -x "$cache/busybox/bin/busybox" ]; then
  apt_update
  log "unpacking busybox-static"
  fetch_deb busybox-static "$cache/busybox"
fi
if [ -z "$only_rootfs" ] && [ ! -f "$cache/kernel/version" ]; then
  apt_update
  # The 6.1 ABI package that the linux-image-amd64 metapackage currently points to.
  pkg="$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-6\.1\.[^ ]*-amd64\)$/\1/p' | head -1)"
  [ -n "$pkg" ] || { log "cannot find the kernel package behind linux-image-amd64"; exit 1; }
  log "unpacking $pkg"
  fetch_deb "$pkg" "$cache/kernel"
  "$cache/busybox/bin/busybox" depmod -b "$cache/kernel" "${pkg#linux-image-}"  # the .deb has no modules.dep
  echo "${pkg#linux-image-}" >"$cache/kernel/version"
fi
busybox="$cache/busybox/bin/busybox"

# A minimal busybox rootfs directory for microVM smoke tests (kvm-probe.sh copies it). It needs
# /etc/passwd and /etc/group: msb's guest agent resolves uid 0 through them.
if [ ! -f "$cache/busybox-rootfs/etc/group" ]; then
  rm -rf "$cache/busybox-rootfs"
  mkdir -p "$work/rootfs"/{bin,etc,root,tmp}
  cp "$busybox" "$work/rootfs/bin/busybox"
  for a in $("$busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$work/rootfs/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
  echo 'root:x:0:' >"$work/rootfs/etc/group"
  mv "$work/rootfs" "$cache/busybox-rootfs"
fi

[ -z "$only_rootfs" ] || exit 0
kver="$(cat "$cache/kernel/version")"

# QEMU boots the uncompressed ELF kernel through its PVH entry: about 2 s faster per boot than the
# bzImage, whose real-mode setup and xz decompression are slow under TCG.
if [ ! -s "$cache/kernel/vmlinux" ]; then
  bz="$cache/kernel/boot/vmlinuz-$kver"
  off="$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$bz" | head -n 1 | cut -d: -f1)"
  tail -c +$((off + 1)) "$bz" | xz -dcq >"$work/vmlinux" 2>/dev/null || true  # data follows the xz stream
  [ "$(head -c 4 "$work/vmlinux" | od -An -c | tr -d ' ')" = 177ELF ] || { log "cannot unpack $bz"; exit 1; }
  mv "$work/vmlinux" "$cache/kernel/vmlinux"
fi

# --- initramfs ------------------------------------------------------------------------------------
moddir="$cache/kernel/lib/modules/$kver"
hash="$(echo "$modules" | cat "$here/init.sh" - | sha256sum | cut -c1-16)-$kver"
if [ "$(cat "$cache/initramfs.hash" 2>/dev/null)" != "$hash" ]; then
  log "building initramfs ($hash)"
  root="$work/initramfs"
  mkdir -p "$root"/{bin,dev,proc,sys,newroot,etc,lib/modules}
  cp "$busybox" "$root/bin/busybox"
  for a in $("$busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
  cp "$here/init.sh" "$root/init" && chmod 755 "$root/init"
  # Modules (bookworm's are plain .ko) in load order: each one after its dependencies.
  declare -A dep=()   # module file -> its dependency files, from modules.dep
  while IFS=: read -r f d; do dep[$f]="$d"; done <"$moddir/modules.dep"
  order=()
  add() {  # add FILE after everything it depends on
    local d
    for d in ${dep[$1]}; do add "$d"; done
    [[ " ${order[*]-} " == *" $1 "* ]] || order+=("$1")
  }
  for m in $modules; do
    f="$(grep -oE "^[^:]*/${m//[_-]/[_-]}\.ko:" "$moddir/modules.dep")" ||
      { log "kernel $kver has no module $m"; exit 1; }
    add "${f%:}"
  done
  for f in "${order[@]}"; do
    mkdir -p "$root/lib/modules/$(dirname "$f")"
    cp "$moddir/$f" "$root/lib/modules/$f"
    echo "$f" >>"$root/lib/modules/load.list"
  done
  (cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$work/initramfs.cpio.gz"
  mv "$work/initramfs.cpio.gz" "$cache/initramfs.cpio.gz"
  echo "$hash" >"$cache/initramfs.hash"
fi

