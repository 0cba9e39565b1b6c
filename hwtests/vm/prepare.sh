#!/usr/bin/env bash
# Prepares what hwtests/tests/vm_guest.rs boots in QEMU: a Debian 6.1 kernel
# (apt-get download + dpkg -x, never installed on the host) and an
# initramfs holding
#   /init                 hwtests/vm/init.sh (the guest's checks)
#   /bin/busybox + links  the shell and small utilities
#   /lib/modules/*.ko     scsi_common .. ch, in load order
#   /opt/real/bin         the real tools (mtx, tapeinfo, loaderinfo, mt-st,
#                         sg_inq, sg_vpd, lsscsi, GNU tar, btape) and, at
#                         their host paths, every shared library they load;
#                         busybox has applets of the same names, so the guest
#                         calls these by absolute path
#   /opt/reel/bin         chio (static, hwtests/vm/chio.c), reelctl and
#                         reel-hwtest (static glibc builds of this workspace)
#
# Everything is cached under $REEL_VM_CACHE (default target/vm-cache): the
# kernel per package version, the initramfs per hash of all its inputs, so
# a rerun with nothing changed costs a few hashes.
#
# Prints KEY=VALUE lines on stdout (VMLINUZ, INITRD, KERNEL, HWTEST, and
# REEL_VTL: an optimized reel-vtl for the host side);
# progress goes to stderr.
#
# Environment:
#   REEL_VM_CACHE    cache directory
#   REEL_VM_KERNEL   kernel package (default: the newest
#                    linux-image-6.1.0-N-amd64 apt knows)
#   REEL_VM_NO_BUILD when set, the static reel binaries are not rebuilt
#                    (those already in the static target directory are used)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${REEL_VM_CACHE:-$repo/target/vm-cache}
static_target=$repo/target/vm-static
mkdir -p "$cache"

log() { echo "vm/prepare: $*" >&2; }
die() { echo "vm/prepare: error: $*" >&2; exit 1; }

# Host tools this script itself needs.
for t in apt-get dpkg-deb cpio gzip gcc ldd sha256sum busybox; do
  command -v "$t" >/dev/null 2>&1 || die "$t missing (run scripts/setup.sh)"
done

# ---------------------------------------------------------------- kernel
kpkg=${REEL_VM_KERNEL:-}
if [ -z "$kpkg" ]; then
  kpkg=$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
    grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1 || true)
  if [ -z "$kpkg" ]; then
    # apt lists unavailable (offline machine): fall back to a cached kernel.
    kpkg=$(ls -1 "$cache" 2>/dev/null | sed -n 's/^kernel-//p' | sort -V | tail -n 1)
  fi
fi
[ -n "$kpkg" ] || die "no linux-image-6.1.0-*-amd64 known to apt (apt-get update?)"
kdir=$cache/kernel-$kpkg
# Load order: SCSI core, virtio-scsi (QEMU's passthrough of the VTL's
# LUNs), virtio-net and the kernel's own iSCSI initiator (a second path to
# the same LUNs, whose SG_IO reports real residuals; iscsi_tcp allocates a
# crc32c hash per connection, so that module comes first), then sg, st, ch.
modules=(scsi_common scsi_mod virtio_ring virtio virtio_pci_modern_dev
  virtio_pci_legacy_dev virtio_pci virtio_scsi failover net_failover virtio_net
  crc32c_generic scsi_transport_iscsi libiscsi libiscsi_tcp iscsi_tcp sg st ch)
if [ "$(cat "$kdir/.done" 2>/dev/null)" != "${modules[*]}" ]; then
  log "fetching $kpkg"
  tmp=$(mktemp -d "$cache/.kernel.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -q "$kpkg") >&2 || die "apt-get download $kpkg failed"
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  mkdir -p "$tmp/out/modules"
  cp "$tmp"/x/boot/vmlinuz-* "$tmp/out/vmlinuz"
  for m in "${modules[@]}"; do
    f=$(find "$tmp/x/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n 1)
    [ -n "$f" ] || die "module $m not in $kpkg"
    case $f in
      *.ko.xz) xz -dc "$f" >"$tmp/out/modules/$m.ko" ;;
      *.ko.zst) zstd -qdc "$f" >"$tmp/out/modules/$m.ko" ;;
      *) cp "$f" "$tmp/out/modules/$m.ko" ;;
    esac
  done
  rm -rf "$kdir"
  mv "$tmp/out" "$kdir"
  rm -rf "$tmp"
  trap - EXIT
  echo "${modules[*]}" >"$kdir/.done"
fi

# ------------------------------------------------------------ open-iscsi
# iscsistart (open-iscsi's initramfs login tool: no iscsid needed) and its
# library, unpacked from the packages, never installed on the host.
oiver=$(apt-cache show --no-all-versions open-iscsi 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$oiver" ] || oiver=$(ls -1 "$cache" 2>/dev/null | sed -n 's/^open-iscsi-//p' | sort -V | tail -n 1)
[ -n "$oiver" ] || die "open-iscsi unknown to apt (apt-get update?)"
oidir=$cache/open-iscsi-$oiver
if [ "$(cat "$oidir/.done" 2>/dev/null)" != 2 ]; then
  log "fetching open-iscsi $oiver"
  tmp=$(mktemp -d "$cache/.oi.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -q open-iscsi libopeniscsiusr) >&2 ||
    die "apt-get download open-iscsi libopeniscsiusr failed"
  for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$tmp/x"; done
  mkdir -p "$tmp/out/lib"
  cp "$tmp/x/sbin/iscsistart" "$tmp/out/iscsistart"
  # Under the name in iscsistart's DT_NEEDED (the full version).
  cp -a "$tmp"/x/usr/lib/x86_64-linux-gnu/libopeniscsiusr.so.* "$tmp/out/lib/"
  rm -rf "$oidir"
  mv "$tmp/out" "$oidir"
  rm -rf "$tmp"
  trap - EXIT
  echo 2 >"$oidir/.done"
fi

# ------------------------------------------------ static reel binaries
# A separate target directory: crt-static changes RUSTFLAGS, which would
# otherwise invalidate the normal build's artifacts.
sbin=$static_target/x86_64-unknown-linux-gnu/release
# One cargo invocation for all binaries: the shared crates build once.
# reel-vtl runs on the host, but optimized: btape pushes 2.6 GB through it.
build_args=(-p reeld --bin reelctl -p reel-vtl --bin reel-vtl)
hwtest=
if [ -f "$repo/hwtests/src/bin/reel-hwtest.rs" ]; then
  build_args+=(-p reel-hwtests --bin reel-hwtest)
  hwtest=$sbin/reel-hwtest
fi
if [ -z "${REEL_VM_NO_BUILD:-}" ]; then
  log "building static reelctl, reel-vtl${hwtest:+ and reel-hwtest} (cargo, incremental)"
  RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release \
    --manifest-path "$repo/Cargo.toml" --target x86_64-unknown-linux-gnu \
    --target-dir "$static_target" "${build_args[@]}" >&2 || die "static build failed"
fi
for b in "$sbin/reelctl" "$sbin/reel-vtl" $hwtest; do
  [ -x "$b" ] || die "static $b not built"
  ldd "$b" 2>&1 | grep -Eq 'not a dynamic executable|statically linked' ||
    die "$b is not statically linked"
done

# ----------------------------------------------------------- real tools
find_exe() {
  for d in /usr/sbin /usr/bin /sbin /bin; do
    [ -x "$d/$1" ] && { echo "$d/$1"; return; }
  done
  die "$1 missing (run scripts/setup.sh)"
}
# guest name : host program
real_tools=(
  "mtx:$(find_exe mtx)" "tapeinfo:$(find_exe tapeinfo)" "loaderinfo:$(find_exe loaderinfo)"
  "mt:$(find_exe mt-st)" "sg_inq:$(find_exe sg_inq)" "sg_vpd:$(find_exe sg_vpd)"
  "lsscsi:$(find_exe lsscsi)" "tar:$(find_exe tar)" "btape:$(find_exe btape)"
)

# ------------------------------------------------------------ the hash
# Every input of the image, so any change rebuilds it and nothing else does.
inputs=("$here/prepare.sh" "$here/init.sh" "$here/chio.c" "$kdir/vmlinuz"
  "$sbin/reelctl" /bin/busybox "$kdir"/modules/*.ko "$oidir/iscsistart" "$oidir"/lib/*)
[ -n "$hwtest" ] && inputs+=("$hwtest")
for rt in "${real_tools[@]}"; do inputs+=("${rt#*:}"); done
hash=$( (echo "$kpkg"; sha256sum "${inputs[@]}") | sha256sum | cut -c1-16)
initrd=$cache/initrd-$hash.cpio.gz

if [ ! -f "$initrd" ]; then
  log "building initramfs $initrd"
  root=$(mktemp -d "$cache/.root.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,opt/real/bin,opt/reel/bin,etc,dev,proc,sys,tmp,root,var/tmp}
  cp /bin/busybox "$root/bin/busybox"
  # Links for every applet; never one named busybox pointing at itself (the
  # kernel fails to exec /init with ELOOP, -40, and panics).
  busybox --list-full | while read -r applet; do
    case $applet in */busybox | "") continue ;; esac
    mkdir -p "$root/$(dirname "$applet")"
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
  done
  cp "$here/init.sh" "$root/init"
  chmod 755 "$root/init"
  cp "$kdir"/modules/*.ko "$root/lib/modules/"
  printf '%s\n' "${modules[@]}" >"$root/lib/modules/order"

  # The real tools and their shared-library closure, at the host's paths
  # (ldd lists the whole closure, the loader included).
  # Libraries from $oidir go to the guest's standard library directory.
  copy_prog() { # name program
    cp "$2" "$root/opt/real/bin/$1"
    if LD_LIBRARY_PATH=$oidir/lib ldd "$2" | grep -q 'not found'; then
      die "$2: a shared library is missing: $(LD_LIBRARY_PATH=$oidir/lib ldd "$2" | grep 'not found')"
    fi
    LD_LIBRARY_PATH=$oidir/lib ldd "$2" | awk '/=> \//{print $3} /^\t\/[^ ]*ld-linux/{print $1}' |
      while read -r lib; do
        for p in "$lib" "$(readlink -f "$lib")"; do
          dest=$p
          case $p in "$oidir"/*) dest=/usr/lib/x86_64-linux-gnu/${p##*/} ;; esac
          [ -e "$root$dest" ] && continue
          mkdir -p "$root$(dirname "$dest")"
          cp -L "$p" "$root$dest"
        done
      done
  }
  for rt in "${real_tools[@]}"; do copy_prog "${rt%%:*}" "${rt#*:}"; done
  copy_prog iscsistart "$oidir/iscsistart"
  mkdir -p "$root/etc/iscsi"
  # btape reads a storage daemon configuration; init.sh writes its own,
  # but Bacula also wants its working directories to exist.
  mkdir -p "$root/etc/bacula" "$root/var/lib/bacula" "$root/run/bacula"
  printf 'root:x:0:0:root:/root:/bin/sh\nbacula:x:0:0:bacula:/var/lib/bacula:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nbacula:x:0:\ntape:x:26:\ndisk:x:6:\n' >"$root/etc/group"

  gcc -static -O2 -Wall -Werror -o "$root/opt/reel/bin/chio" "$here/chio.c"
  # Release builds carry debug info (workspace profile); the guest needs none.
  strip --strip-debug -o "$root/opt/reel/bin/reelctl" "$sbin/reelctl"
  [ -n "$hwtest" ] && strip --strip-debug -o "$root/opt/reel/bin/reel-hwtest" "$hwtest"

  (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$root"
  trap - EXIT
  # Older images are never needed again.
  find "$cache" -maxdepth 1 -name 'initrd-*.cpio.gz' ! -name "initrd-$hash.cpio.gz" -delete
fi

echo "KERNEL=$kpkg"
echo "VMLINUZ=$kdir/vmlinuz"
echo "INITRD=$initrd"
echo "HWTEST=${hwtest:+yes}"
echo "REEL_VTL=$sbin/reel-vtl"
