#!/usr/bin/env bash
# Can libkrun microVMs (microsandbox's msb runtime) REALLY boot here? Exit 0 "usable" or 1 "not usable",
# with one line saying why. An existing /dev/kvm is not enough (a nested PVM host has one, yet guests
# die with KVM_EXIT_INTERNAL_ERROR), so this boots a tiny busybox microVM and runs `echo ok` in it.
# The answer is cached per machine boot (boot_id); VMHOST_PROBE_FORCE=1 probes again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${AI_SDK_MICROSANDBOX_VMHOST_DIR:-$HOME/.cache/ai-sdk-microsandbox-dev/vmhost}"
msb_pkg=@superradcompany/microsandbox-linux-x64-gnu
msb_version=0.7.2

results="$cache/kvm-probe"
result="$results/$(cat /proc/sys/kernel/random/boot_id)"
if [ -f "$result" ] && [ -z "${VMHOST_PROBE_FORCE-}" ]; then
  tail -n 1 "$result"
  exit "$(head -n 1 "$result")"
fi
answer() {  # answer EXIT MESSAGE: print, cache (answers about the host only), exit
  echo "kvm-probe: $2"
  mkdir -p "$results"
  find "$results" -type f -mtime +2 -delete  # one file per boot: drop old ones
  printf '%s\nkvm-probe: %s (cached for this boot)\n' "$1" "$2" >"$result"
  exit "$1"
}
cannot() { echo "kvm-probe: not usable: could not test: $*"; exit 1; }  # not cached

[ -c /dev/kvm ] || answer 1 "not usable: /dev/kvm does not exist"
{ [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || answer 1 "not usable: /dev/kvm is not readable and writable by $(id -un)"

# The msb runtime: the project's own copy, else one installed into the cache.
pkg="$repo/node_modules/$msb_pkg"
if [ ! -x "$pkg/bin/msb" ]; then
  pkg="$cache/msb-runtime/node_modules/$msb_pkg"
  if [ ! -x "$pkg/bin/msb" ]; then
    echo "kvm-probe: installing $msb_pkg@$msb_version into $cache/msb-runtime" >&2
    # --force: its engines field says node >= 22, but only the binaries are used here.
    npm install --prefix "$cache/msb-runtime" --no-save --force --no-audit --no-fund --loglevel=error \
      "$msb_pkg@$msb_version" >&2 || true
  fi
fi
{ [ -x "$pkg/bin/msb" ] && ls "$pkg"/lib/libkrunfw.so.* >/dev/null 2>&1; } || cannot "no msb runtime in $pkg"
msb="$pkg/bin/msb"
"$here/setup.sh" rootfs || cannot "setup.sh rootfs failed"

# A temporary MSB_HOME and rootfs: on a real disk with xattrs (not tmpfs), at a short path (msb's
# sockets under MSB_HOME must stay below 108 bytes): /var/tmp, or inside run-in-vm.sh's VM its ext4
# scratch disk (the cache dir would be the host's disk over 9p there).
base="${AI_SDK_MICROSANDBOX_VMHOST_SCRATCH:-/var/tmp}"
work="$(mktemp -d "$base/kvm-probe.XXXXXX")"
home="$work/home"
# shellcheck disable=SC2317  # called by the trap
cleanup() {  # kill every process that still refers to our temporary MSB_HOME, then delete it
  local f pid args
  for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do
    pid="${f#/proc/}" pid="${pid%%/*}"
    [ "$pid" = $$ ] && continue
    { mapfile -d "" -t args <"$f"; } 2>/dev/null || continue
    [[ " ${args[*]-} " == *"$work"* ]] && kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
cp -a "$cache/busybox-rootfs" "$work/rootfs"

# create + exec (not `msb run`, which deletes the sandbox and its logs when the boot fails).
t0="$(date +%s)"
export MSB_HOME="$home"
out="$(timeout -k 5 90 "$msb" create --name kvm-probe "$work/rootfs" 2>&1 &&
  timeout -k 5 30 "$msb" exec --no-tty kvm-probe -- /bin/sh -c 'echo ok' 2>&1)" || true
secs=$(($(date +%s) - t0))
timeout -k 5 30 "$msb" stop --force kvm-probe >/dev/null 2>&1 || true
[ "$(printf '%s' "$out" | tail -n 1)" = ok ] &&
  answer 0 "usable: a libkrun microVM booted and ran a command (${secs} s, msb $("$msb" --version | cut -d' ' -f2))"

# Why not: the VMM's own log names the KVM failure; else the CLI's first error line.
why="$(grep -ho 'KVM_EXIT_[A-Z_]*' "$home"/sandboxes/*/logs/runtime.log 2>/dev/null | head -n 1)" || true
[ -n "$why" ] && why="$why: KVM cannot run a libkrun guest here (nested or paravirtualized KVM?)"
[ -n "$why" ] || why="$(printf '%s\n' "$out" | grep -m1 -iE 'error|fail' || printf '%s' "$out" | tail -n 1)"
answer 1 "not usable: the microVM did not boot after ${secs} s: ${why:-no output}"
