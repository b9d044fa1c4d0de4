#!/usr/bin/env bash
# Prometheus's promtool, for the tests that check the alert rules, their unit tests and a
# scrape of the worker and of `driftline serve` (tests/integration/ops). Built once from
# the Go module proxy into the cache the Kafka jars use, outside the repository:
#   ${DRIFTLINE_CACHE_DIR:-~/.cache/driftline}/promtool-<version>/promtool
# (~10 minutes and ~1.8 GB of module cache the first time; nothing after). Idempotent.
#
#   scripts/ensure-promtool.sh          build it if absent; print its path
#   scripts/ensure-promtool.sh --where  print where it is (or would be), build nothing
#
# DRIFTLINE_PROMTOOL names a promtool to use instead (nothing is built). Without Go the
# build is skipped, not fatal: the tests that need promtool then skip, saying why.
set -euo pipefail

VERSION="v0.316.0"  # github.com/prometheus/prometheus's Go module: Prometheus 3.16.0
CACHE="${DRIFTLINE_CACHE_DIR:-$HOME/.cache/driftline}"
CACHE="${CACHE/#\~/$HOME}"
TARGET="${DRIFTLINE_PROMTOOL:-$CACHE/promtool-$VERSION/promtool}"

if [ "${1:-}" = "--where" ]; then
  echo "$TARGET"
  exit 0
fi
if [ -x "$TARGET" ]; then
  echo "$TARGET"
  exit 0
fi
if [ -n "${DRIFTLINE_PROMTOOL:-}" ]; then
  echo "DRIFTLINE_PROMTOOL=$DRIFTLINE_PROMTOOL is not an executable" >&2
  exit 1
fi
if ! command -v go >/dev/null 2>&1; then
  echo "no Go toolchain: promtool is not built, and the tests that need it will skip" >&2
  exit 0
fi

BIN="$(dirname "$TARGET")"
mkdir -p "$BIN"
echo "building promtool $VERSION into $BIN (once: ~10 min, ~1.8 GB of Go module cache)" >&2
# The module and build caches live beside it, so a rebuild downloads nothing again.
GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/mod" \
  GOFLAGS="-modcacherw" GOBIN="$BIN.partial" \
  go install "github.com/prometheus/prometheus/cmd/promtool@$VERSION"
mv "$BIN.partial/promtool" "$TARGET"
rmdir "$BIN.partial"
echo "$TARGET"
