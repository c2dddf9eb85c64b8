# shellcheck shell=bash disable=SC2034,SC2154 # sourced by build.sh, which uses/sets these
# Recipe for build.sh: a tiny image, Debian's static busybox with every applet linked.
# Needs no root: all entries are packed as root-owned.

IMAGE_CONFIG='{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/root"}'
PACK_FLAGS="--all-root"

build_rootfs() {
  local rootfs="$1" applet
  dpkg -x "$(deb_fetch busybox-static)" "$work/busybox"
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,dev,proc,sys,var}
  install -m 0755 "$work/busybox/bin/busybox" "$rootfs/bin/busybox"
  # What `busybox --install -s` does at boot, done now: an absolute symlink per applet
  # (bin/sh, usr/bin/awk, ...). The binary is static, so it runs on the host.
  "$rootfs/bin/busybox" --list-full | grep -vx bin/busybox | while read -r applet; do
    mkdir -p "$rootfs/$(dirname "$applet")"
    ln -sfn /bin/busybox "$rootfs/$applet"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$rootfs/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$rootfs/etc/group"
  chmod 1777 "$rootfs/tmp"
  chmod 0700 "$rootfs/root"
  if ! [ -L "$rootfs/bin/sh" ] || ! "$rootfs/bin/busybox" sh -c true; then die "no working bin/sh"; fi
}
