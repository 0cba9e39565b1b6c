#!/bin/sh
# Developer aid: validate the udev rules and the unit file with the
# system's own tools when they are installed; skip silently otherwise.
set -e
dir=$(dirname "$0")
if command -v udevadm >/dev/null 2>&1 && udevadm verify --help >/dev/null 2>&1; then
    udevadm verify --resolve-names=never "$dir"/*.rules
fi
if command -v systemd-analyze >/dev/null 2>&1; then
    # reeld may not be installed; only syntax problems are of interest.
    systemd-analyze verify "$dir"/reeld.service 2>&1 | grep -v -e 'reeld' -e 'Command .* is not executable' >&2 || true
fi
