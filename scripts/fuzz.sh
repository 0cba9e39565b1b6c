#!/usr/bin/env bash
# Runs every cargo-fuzz target of the workspace for a bounded time each.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30)
# A crash fails the run; the reproducer is left in <crate>/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}

# cargo-fuzz needs nightly flags (-Zsanitizer); use a nightly toolchain when
# one is installed, else let the stable compiler accept them.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

total=0
for dir in */fuzz; do
  [ -f "$dir/Cargo.toml" ] || continue
  crate=${dir%/fuzz}
  for target in $(cd "$crate" && "${fuzz[@]}" list); do
    echo "== fuzz $crate/$target for ${secs}s"
    mkdir -p "$dir/corpus/$target"
    (cd "$crate" && "${fuzz[@]}" run "$target" "fuzz/corpus/$target" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=0 2>&1 | tail -n 3)
    total=$((total + 1))
  done
done
echo "fuzz: $total targets ran ${secs}s each without a crash"
