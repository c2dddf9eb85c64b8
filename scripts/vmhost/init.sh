#!/bin/sh
# shellcheck shell=dash disable=SC2154,SC3040  # vmhost_* come from the kernel; busybox sh has pipefail
# /init of the L1 VM started by run-in-vm.sh (busybox sh, runs from the initramfs).
# The host's / arrives over virtio-9p as "hostroot"; we chroot into it and run the runner's command file.
# The kernel command line hands us (as environment variables):
#   vmhost_run      host path of the run dir (cmd.sh in, ready/rc out)
#   vmhost_scratch  where the ext4 scratch disk (/dev/vda) goes, under our tmpfs /run
#   vmhost_faults   the file, in the chroot, that gets a line per microVM triple fault
#   vmhost_tty      1 if the caller's stdout is a terminal
export PATH=/bin
r=/newroot
fail() { echo "vmhost init: $*" >&2; poweroff -f; sleep 10; }

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# Two serial ports: ttyS0 is the runner's stdout (the command's output, and ours), ttyS1 the
# kernel's console, which the runner keeps in a log file so that a dying L1 leaves its reason there.
exec </dev/null >/dev/ttyS0 2>&1
stty -F /dev/ttyS0 -onlcr 2>/dev/null  # no \r before each \n
stty -F /dev/ttyS1 -onlcr 2>/dev/null
while read -r m; do insmod "/lib/modules/$m" || echo "vmhost init: insmod $m failed" >&2; done </lib/modules/load.list

# msize: the virtio transport maximum. cache=loose: fast, and the page cache starts empty each run.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot $r || fail "cannot mount the host root"
# The 9p root IS the host's root: everything L1-only goes on mounts that exist only in this VM.
mount -t devtmpfs dev $r/dev
mkdir -p $r/dev/pts $r/dev/shm  # inside the VM's devtmpfs
mount -t devpts devpts $r/dev/pts
mount -t tmpfs -o mode=1777 shm $r/dev/shm
mount -t proc proc $r/proc
mount -t sysfs sys $r/sys
mount -t cgroup2 cgroup2 $r/sys/fs/cgroup
mount -t tmpfs -o mode=755 run $r/run
# ext4 (not tmpfs or 9p): microsandbox needs xattrs on MSB_HOME. noinit_itable: the sparse image
# is all zeros already, so no background inode-table zeroing.
mkdir -p "$r$vmhost_scratch"
mount -t ext4 -o noinit_itable /dev/vda "$r$vmhost_scratch" || fail "cannot mount the scratch disk"

# Network (QEMU user net) and a private resolv.conf bind-mounted over the host's.
hostname vmhost
ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 ||
  echo "vmhost init: no network" >&2
echo "nameserver 10.0.2.3" >/etc/resolv.conf
rc=$r/etc/resolv.conf
if l=$(readlink $rc); then case $l in /*) rc=$r$l ;; *) rc=$r/etc/$l ;; esac; fi
case $rc in
  $r/run/*) mkdir -p "${rc%/*}" && cp /etc/resolv.conf "$rc" ;;  # a link into our own tmpfs /run
  *) mount --bind /etc/resolv.conf "$rc" ;;
esac

# Into the console log next to the kernel's messages: L1's free memory every 10 s (an L1 out of
# memory dies the same way as a panic), and every triple fault of a microVM (KVM's SVM shutdown
# exit, which libkrun reports only in the sandbox's own runtime.log, gone once it is removed).
(
  while :; do
    echo "[$(cut -d' ' -f1 /proc/uptime)] vmhost: MemAvailable $(($(sed -n 's/^MemAvailable: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024)) MiB"
    sleep 10
  done
) >/dev/ttyS1 2>&1 &
t=/sys/kernel/tracing
if mount -t tracefs tracefs $t && echo 'p:vmhost_microvm_shutdown kvm_amd:shutdown_interception' >$t/kprobe_events &&
  echo 1 >$t/events/kprobes/vmhost_microvm_shutdown/enable; then
  # Also into the chroot, where the tests read it (a retry is granted only for a failure
  # that a microVM triple fault explains, see __test__/support/emulator-retry.ts).
  cat $t/trace_pipe | tee "$r$vmhost_faults" >/dev/ttyS1 2>&1 &
else
  echo "vmhost init: cannot trace microVM triple faults" >/dev/ttyS1
fi

touch "$r$vmhost_run/ready"  # its host-side mtime marks the end of the boot
# The command and everything it starts (microVMs included) run on CPUs 1..N-1, never on CPU 0.
# QEMU's TCG clears IGNNE in CPU 0's hflags2 from whichever vCPU executes an FPU-state restore,
# with an unlocked read-modify-write that can set GIF back to 1 right after a #VMEXIT on CPU 0:
# L1 then takes an interrupt with the microVM's GS base loaded and panics (README.md). With no
# VMRUN on CPU 0, that race cannot hit a KVM guest. One CPU: nothing to keep apart.
cpus=$(nproc)
pin=
[ "$cpus" -gt 1 ] && pin="taskset $(printf '%x' $(((1 << cpus) - 2)))"
run() {
  $pin chroot $r /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash "$vmhost_run/cmd.sh" </dev/null
}
# ttyS0 is a tty; the command sees one only if the caller's stdout is one (no spinners in CI logs).
set -o pipefail
if [ "$vmhost_tty" = 1 ]; then run; else run 2>&1 | cat; fi
echo $? >"$r$vmhost_run/rc"

# Stop whatever the command left behind, then flush the 9p page cache and the scratch disk.
kill -9 -1 2>/dev/null
sync
umount "$r$vmhost_scratch" 2>/dev/null
sync
poweroff -f
