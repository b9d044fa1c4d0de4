#!/usr/bin/env bash
# The browser of tests/e2e/test_dashboard.py, for `make test` only (never `make demo`):
# Chromium and its driver from Debian's packages, when missing. Never fatal: a machine
# without apt-get or without those packages runs every other test, and that one skips,
# saying why. Idempotent: does nothing when both are present.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no chromium/chromedriver and no apt-get: the dashboard's browser test will skip" >&2
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "installing chromium chromium-driver from Debian's packages (the dashboard test)" >&2
if ! { $SUDO apt-get update -qq &&
       DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
         chromium chromium-driver >/dev/null; }; then
  echo "chromium could not be installed: the dashboard's browser test will skip" >&2
fi
