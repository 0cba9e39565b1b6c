#!/usr/bin/env bash
# The project's one test command (README and .ci/run both call it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --all-targets
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --doc 2>&1 | tee "$log"
# The issue-sized end-to-end backup: 3 GiB of this machine's files through
# reeld across cartridges (about 2 minutes in a debug build).
export REEL_E2E_BIG="${REEL_E2E_BIG:-1}"
# --no-fail-fast: one run reports every failing test binary, not just the first.
status=0
cargo test --workspace --all-targets --no-fail-fast 2>&1 | tee -a "$log" || status=$?
# One closing line over every cargo test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
if [ "$status" -ne 0 ]; then
    echo "tests failed (cargo test exit $status)"
    exit "$status"
fi
bash scripts/fuzz.sh "${REEL_FUZZ_SECONDS:-15}"
