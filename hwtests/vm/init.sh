#!/bin/sh
# /init of the hwtests/vm guest (busybox sh). Loads the SCSI drivers, finds
# the VTL's tape drive and changer that QEMU passes through as SCSI generic
# devices, runs the checks and powers off.
#
# Output contract with hwtests/tests/vm_guest.rs: one line per check,
#   CHECK <name> PASS|FAIL <detail>
# lines starting with "  | " are the output of a failed check's command,
# and the last line is
#   CHECKS DONE pass=<n> fail=<m>
# A missing final line (crash, hang, panic) is a failure on the host side.
#
# The real tools live in /opt/real/bin: busybox has applets named mt, tar
# and lsscsi that would shadow them, so they are always called by path.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
R=/opt/real/bin
B=/opt/reel/bin
NPASS=0
NFAIL=0
LOG=/tmp/check.log

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mkdir -p /tmp/w
cd /tmp/w || exit 1

pass() { echo "CHECK $1 PASS $2"; NPASS=$((NPASS + 1)); }
fail() {
  echo "CHECK $1 FAIL $2"
  NFAIL=$((NFAIL + 1))
  [ -s "$LOG" ] && sed 's/^/  | /' "$LOG"
}
# run CMD...: runs it with its output in $LOG (shown when the check fails).
run() { "$@" >"$LOG" 2>&1; }
# has PATTERN: the last command's output contains the fixed string.
has() { grep -qF -- "$1" "$LOG"; }
finish() {
  echo "CHECKS DONE pass=$NPASS fail=$NFAIL"
  sync
  poweroff -f
}

# ---------------------------------------------------------------- boot
bad=
for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" >"$LOG" 2>&1 || bad="$bad $m"
done
if [ -z "$bad" ]; then pass boot.modules "$(wc -l </lib/modules/order) modules loaded"; else fail boot.modules "insmod failed:$bad"; fi

# The SCSI scan is asynchronous: wait (up to 30 s) for both devices.
i=0
while [ $i -lt 60 ]; do
  $R/lsscsi -g >"$LOG" 2>&1
  grep -q ' tape ' "$LOG" && grep -q ' mediumx ' "$LOG" && break
  sleep 0.5
  i=$((i + 1))
done
# lsscsi -g: [H:C:T:L] type vendor product rev /dev/node /dev/sgN
TAPE_SG=$(awk '$2 == "tape" { print $NF; exit }' "$LOG")
TAPE_ST=$(awk '$2 == "tape" { print $(NF-1); exit }' "$LOG")
CH_SG=$(awk '$2 == "mediumx" { print $NF; exit }' "$LOG")
CH_DEV=$(awk '$2 == "mediumx" { print $(NF-1); exit }' "$LOG")
sed 's/^/  | /' "$LOG"
case "$TAPE_SG:$CH_SG:$TAPE_ST:$CH_DEV" in
  /dev/sg*:/dev/sg*:/dev/st*:/dev/sch*)
    NST=/dev/n${TAPE_ST#/dev/}
    pass lsscsi "tape $TAPE_ST $TAPE_SG, changer $CH_DEV $CH_SG"
    ;;
  *)
    fail lsscsi "tape or changer missing (tape=$TAPE_SG/$TAPE_ST changer=$CH_SG/$CH_DEV)"
    finish
    ;;
esac

finish
