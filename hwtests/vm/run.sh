#!/usr/bin/env bash
# Runs the QEMU guest checks by hand: prepares the kernel and initramfs
# (hwtests/vm/prepare.sh, cached), starts `reel-vtl serve`, boots the guest
# and prints every CHECK line. The work is done by the Rust test
# hwtests/tests/vm_guest.rs, which owns the child processes (stopped by
# PID on every exit path); this is only its command line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build -q -p reel-vtl --bin reel-vtl
exec cargo test -q -p reel-hwtests --test vm_guest vm_guest_real_kernel_drivers_and_tools -- --nocapture "$@"
