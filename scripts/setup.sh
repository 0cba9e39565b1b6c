#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine. Idempotent:
# a second run only checks. Nothing here may be installed by hand instead.
set -euo pipefail

need_apt=()
for cmd_pkg in dd:coreutils; do
  cmd=${cmd_pkg%%:*}; pkg=${cmd_pkg#*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# cargo-fuzz drives the libFuzzer targets (drivers/fuzz, vtl-emulator/fuzz).
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
