#!/usr/bin/env bash
# The project's one test command (README and .ci/run both call it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --all-targets
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --doc 2>&1 | tee "$log"
cargo test --workspace --all-targets 2>&1 | tee -a "$log"
bash scripts/fuzz.sh "${REEL_FUZZ_SECONDS:-15}"
# One closing line over every cargo test binary (set -o pipefail has
# already stopped the script on any failure).
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
