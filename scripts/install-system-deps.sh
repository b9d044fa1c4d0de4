#!/usr/bin/env bash
# Install what driftline's local stack needs from the system, when it is missing:
# redis-server (Debian's package), Java 17+ and Maven (to fetch and run Kafka); and, for
# the dashboard's browser test only, Chromium and its driver (best effort: without them
# that one test skips, saying why). Idempotent: does nothing when everything is present.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

# The browser of tests/e2e/test_dashboard.py: never fatal (a machine without apt-get or
# without those packages runs every other test).
browser_deps() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "no chromium/chromedriver and no apt-get: the dashboard's browser test will skip" >&2
    return 0
  fi
  echo "installing chromium chromium-driver from Debian's packages (the dashboard test)" >&2
  if ! { $SUDO apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
           chromium chromium-driver >/dev/null; }; then
    echo "chromium could not be installed: the dashboard's browser test will skip" >&2
  fi
}
browser_deps

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "driftline needs: ${missing[*]} (install them with your package manager," \
       "or point DRIFTLINE_KAFKA_BOOTSTRAP / DRIFTLINE_REDIS_URL at existing services)" >&2
  exit 1
fi

echo "installing ${missing[*]} from Debian's packages" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system-wide redis-server on install; driftline runs its own on a free
# port, so the system one is left as the package configured it.
