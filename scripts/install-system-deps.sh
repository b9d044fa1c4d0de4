#!/usr/bin/env bash
# Install what driftline's local stack needs from the system, when it is missing:
# redis-server (Debian's package), Java 17+ and Maven (to fetch and run Kafka). The
# dashboard test's browser is not among them: `make test` installs it
# (scripts/install-browser-deps.sh). Idempotent: does nothing when everything is present.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

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
