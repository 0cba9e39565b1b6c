#!/usr/bin/env bash
# The project's one test command (README and .ci/run both call it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --all-targets
cargo test --workspace --all-targets
cargo test --workspace --doc
bash scripts/fuzz.sh "${REEL_FUZZ_SECONDS:-30}"
