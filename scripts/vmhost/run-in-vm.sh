#!/usr/bin/env bash
# Runs one command inside a throwaway QEMU TCG VM ("L1") whose /dev/kvm works, for hosts where libkrun
# microVMs cannot boot (no KVM, or nested KVM that fails with KVM_EXIT_INTERNAL_ERROR).
# L1 mounts the host's / over virtio-9p READ-WRITE and chroots into it, so the command sees the host's
# files, the caller's cwd and exported environment. MSB_HOME lives on an ext4 scratch disk kept in the
# cache dir (microsandbox needs xattrs, and its image cache survives between runs).
set -euo pipefail

usage() {
  echo "usage: $0 [--auto] [--timeout SECS] [--memory MiB] [--cpus N] [--forward PORT] [--fresh-scratch] -- command [args...]" >&2
  exit 2
}
timeout=3600 memory=6144 cpus=3 fresh='' auto='' forward=''
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout | --memory | --cpus | --forward)
      [[ "${2-}" =~ ^[1-9][0-9]*$ ]] || usage
      declare "${1#--}=$2"; shift 2 ;;
    --fresh-scratch) fresh=1; shift ;;
    --auto) auto=1; shift ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[ $# -gt 0 ] || usage
# Already inside the VM: just run the command (lets scripts call the runner unconditionally).
[ "${AI_SDK_MICROSANDBOX_VMHOST-}" = 1 ] && exec "$@"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${AI_SDK_MICROSANDBOX_VMHOST_DIR:-$HOME/.cache/ai-sdk-microsandbox-dev/vmhost}"
log() { echo "vmhost: $*" >&2; }
now() { date +%s.%N; }

# --auto: the command runs directly where kvm-probe.sh boots a microVM, else in the VM; microVMs
# boot where it runs either way. EMULATED=1 tells it they are 10-15x slower there (vitest's retry,
# bench sizes). Our lines go to stderr: stdout is the command's.
if [ -n "$auto" ]; then
  export AI_SDK_MICROSANDBOX_KVM=1
  "$here/kvm-probe.sh" >&2 && exec "$@"
  export AI_SDK_MICROSANDBOX_EMULATED=1
  log "KVM cannot boot microVMs here: running the command inside a QEMU TCG VM (slow, but real)"
fi
t0="$(now)"

mkdir -p "$cache"
cache="$(cd "$cache" && pwd -P)"  # absolute and without symlinks, as the VM sees the host's root
# Paths go into QEMU options (',' is special) and the kernel command line (split on spaces).
[[ "$cache" != *[[:space:],]* ]] || { log "the cache dir must not contain spaces or commas: $cache"; exit 2; }
"$here/setup.sh"

# One VM at a time per cache dir: the scratch disk must not be mounted twice.
exec 9>"$cache/scratch.lock"
flock -n 9 || { log "waiting for another run-in-vm.sh using $cache"; flock 9; }

# The VM mounts the scratch disk on its own tmpfs /run: a short path, because msb's socket paths
# under MSB_HOME must stay below 108 bytes (a MSB_HOME under ~/.cache is too long).
img="$cache/scratch.img" mnt=/run/vmhost faults=/run/vmhost-microvm-faults
if [ -n "$fresh" ] || [ ! -f "$img" ]; then
  log "creating the 16 GiB sparse ext4 scratch disk $img"
  rm -f "$img" "$img.new"
  truncate -s 16G "$img.new"
  mkfs.ext4 -q -F -L vmhost-scratch "$img.new"
  mv "$img.new" "$img"
fi

run="$(mktemp -d "$cache/run.XXXXXX")"  # mode 700: holds the caller's environment
qpid= tpid= wpid=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  if [ -n "$qpid" ]; then kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; fi
  if [ -n "$tpid" ]; then kill "$tpid" 2>/dev/null || true; fi
  if [ -n "$wpid" ]; then kill "$wpid" 2>/dev/null || true; fi
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The command file that L1 runs in the chroot with bash.
(umask 077 && export -p >"$run/env")
{
  printf '. %q 2>/dev/null; rm -f %q\n' "$run/env" "$run/env"
  echo "export AI_SDK_MICROSANDBOX_VMHOST=1 AI_SDK_MICROSANDBOX_VMHOST_SCRATCH=$mnt MSB_HOME=$mnt/msb AI_SDK_MICROSANDBOX_VMHOST_FAULTS=$faults"
  echo "mkdir -p $mnt/msb"
  echo "umask $(umask)"
  printf 'cd %q || exit 1\n' "$PWD"
  printf '%q ' "$@"; echo
} >"$run/cmd.sh"

tty=0; [ -t 1 ] && tty=1
# L1's kernel console is the second serial port, a file: warnings and worse (panics, oopses,
# the OOM killer), plus init.sh's memory and microVM triple-fault lines. VMHOST_DEBUG=1 logs
# every kernel message and shows the log live on stderr.
console="$run/console.log"
loglevel=5
[ -z "${VMHOST_DEBUG-}" ] || loglevel=8
: >"$console"
# shellcheck disable=SC2054  # commas are QEMU's
qemu=(qemu-system-x86_64 -nodefaults -no-user-config -machine q35 -accel tcg -cpu max
  -m "$memory" -smp "$cpus" -display none -monitor none -no-reboot
  -serial stdio -serial "file:$console" -d cpu_reset -D "$run/qemu.log"  # QEMU logs an L1 triple fault there
  -kernel "$cache/kernel/vmlinux" -initrd "$cache/initramfs.cpio.gz"
  -append "console=ttyS1 rdinit=/init loglevel=$loglevel panic=-1 mitigations=off edd=off vmhost_run=$run vmhost_scratch=$mnt vmhost_faults=$faults vmhost_tty=$tty"
  -drive "file=$img,format=raw,if=virtio,cache=unsafe"
  -fsdev local,id=hostroot,path=/,security_model=none,multidevs=remap
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
  -nic "user,model=virtio-net-pci${forward:+,hostfwd=tcp:127.0.0.1:$forward-:$forward}")
tq="$(now)"
if [ -n "${VMHOST_DEBUG-}" ]; then tail -n +1 -f "$console" >&2 & tpid=$!; fi
# The first serial port is the command's stdout+stderr; stdin is not forwarded.
timeout -k 5 "$timeout" "${qemu[@]}" </dev/null &
qpid=$!
# L1's init writes a heartbeat line to the console log every 10 s. When it stops, L1 has hung (the
# emulator's nested-SVM bug can wedge it instead of panicking): stop it now rather than at --timeout.
(
  while sleep 15; do
    [ $(($(date +%s) - $(stat -c %Y "$console"))) -gt 120 ] || continue
    touch "$run/hung"; kill "$qpid" 2>/dev/null; exit
  done
) &
wpid=$!
st=0; wait "$qpid" || st=$?
kill "$wpid" 2>/dev/null || true
qpid=
t1="$(now)"

timing() {
  local boot=
  [ -f "$run/ready" ] && boot="$(stat -c %.9Y "$run/ready")"
  awk -v t0="$t0" -v tq="$tq" -v b="$boot" -v t1="$t1" 'BEGIN {
    printf "vmhost: setup %.1f s, VM boot %s, total %.1f s\n", tq - t0, b == "" ? "n/a" : sprintf("%.1f s", b - tq), t1 - t0 }' >&2
}
timing

# Console lines that say why L1 or a microVM died.
evidence='Kernel panic|Oops|BUG:|WARNING:|Comm:|stack guard|double fault|general protection|Call Trace|RIP:|lockup|hung_task|blocked for more than|oom-kill|Out of memory|Triple fault|vmhost_microvm_shutdown'
# The log without the serial port's \r, plus QEMU's triple-fault line (its register dumps stay out).
{ tr -d '\r' <"$console"; echo; grep -h 'Triple fault' "$run/qemu.log" 2>/dev/null; } >"$run/console.txt" || true
finish() {  # finish EXIT_CODE
  [ -z "${VMHOST_CONSOLE_LOG-}" ] || cp "$run/console.txt" "$VMHOST_CONSOLE_LOG" || true
  if [ "$1" != 0 ]; then cp "$run/console.txt" "$cache/last-failed-console.log" || true; fi
  local n
  n="$(grep -c vmhost_microvm_shutdown "$run/console.txt" || true)"
  [ "$n" = 0 ] || log "$n microVM triple fault(s) during this run (KVM shutdown exits, logged in $cache/last-failed-console.log when the run fails)"
  grep 'Out of memory: Killed' "$run/console.txt" | sed 's/^/vmhost: L1 /' >&2 || true
  if [ "$1" = 124 ] || [ "$1" = 125 ]; then
    log "L1 kernel console, the lines that say why (whole log: $cache/last-failed-console.log):"
    if grep -qE "$evidence" "$run/console.txt"; then
      grep -E "$evidence" "$run/console.txt" | tail -n 40 >&2
    else
      tail -n 15 "$run/console.txt" >&2
    fi
    grep 'vmhost: MemAvailable' "$run/console.txt" | tail -n 1 >&2 || true
  fi
  exit "$1"
}
if [ -f "$run/hung" ] && [ ! -s "$run/rc" ]; then
  log "L1 hung: its console heartbeat stopped for over 120 s; the VM was stopped"
  finish 125
fi
if [ "$st" = 124 ] || { [ "$st" = 137 ] && [ ! -f "$run/rc" ]; }; then
  log "timed out after $timeout s; the VM was stopped"
  finish 124
fi
if [ ! -s "$run/rc" ]; then
  log "the VM stopped without reporting the command's exit code (QEMU exit status $st)"
  finish 125
fi
finish "$(cat "$run/rc")"
