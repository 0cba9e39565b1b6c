#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine. Idempotent:
# a second run only checks. Nothing here may be installed by hand instead.
set -euo pipefail

need_apt=()
for cmd_pkg in dd:coreutils unshare:util-linux mount:mount perl:perl; do
  cmd=${cmd_pkg%%:*}; pkg=${cmd_pkg#*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# Bacula's own mtx-changer script (daemon/tests/bacula.rs runs it through
# reel's mtx shim). bacula-sd ships /etc/bacula/scripts/mtx-changer; its
# dependency on the real mtx only provides the path the script hard-codes,
# which the test bind-mounts reel over in a private mount namespace.
[ -f /etc/bacula/scripts/mtx-changer ] || need_apt+=(bacula-sd)
# iSCSI interop (hwtests/tests/iscsi_interop*.rs): tgt's tgtd is the
# independent target reel's initiator is checked against; libiscsi-bin's
# iscsi-ls / iscsi-inq are the independent initiator for reel-vtl serve.
# Debian puts tgtd in /usr/sbin, so test for the file, not PATH.
[ -x /usr/sbin/tgtd ] || need_apt+=(tgt)
command -v iscsi-inq >/dev/null 2>&1 || need_apt+=(libiscsi-bin)
# Real Linux kernel drivers in a QEMU guest (hwtests/vm, hwtests/tests/vm_guest.rs):
# QEMU under TCG with its iSCSI block driver, a static busybox for the
# initramfs, the real tape/changer tools copied into the guest, and gcc's
# static libc for the guest's `ch` ioctl program. The guest kernel and
# open-iscsi's iscsistart are fetched by hwtests/vm/prepare.sh with
# apt-get download (unpacked into its cache, never installed).
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_apt+=(qemu-system-x86)
[ -f /usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so ] || need_apt+=(qemu-block-extra)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need_apt+=(busybox-static)
for cmd_pkg in mtx:mtx mt-st:mt-st sg_inq:sg3-utils lsscsi:lsscsi tar:tar btape:bacula-sd cpio:cpio gcc:gcc; do
  cmd=${cmd_pkg%%:*}; pkg=${cmd_pkg#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need_apt+=("$pkg")
done
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need_apt+=(libc6-dev)
# Disk benchmark (reelctl bench disk): fio with its io_uring engine is the
# anchor the disk driver is measured against.
command -v fio >/dev/null 2>&1 || need_apt+=(fio)
# Dedup store (daemon/tests/dedup_tar.rs): archives made by GNU tar in
# gnu, oldgnu, ustar and pax formats, sparse files, long names.
command -v tar >/dev/null 2>&1 || need_apt+=(tar)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

# cargo-fuzz drives the libFuzzer targets (drivers/fuzz, vtl-emulator/fuzz).
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# Dedup benchmark peers (reelctl bench dedup, daemon/src/dedupbench.rs):
# restic and borgbackup ingest the same generations of real files as reel.
need_bench=()
command -v restic >/dev/null 2>&1 || need_bench+=(restic)
command -v borg >/dev/null 2>&1 || need_bench+=(borgbackup)
if [ ${#need_bench[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_bench[@]}"
fi
