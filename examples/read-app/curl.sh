#!/usr/bin/env bash
# The latest prediction of a key over HTTP, from `driftline serve` (running beside it, on
# DRIFTLINE_SERVE_PORT, 8000 by default): then several keys in one request.
#     ./curl.sh C042 C007
set -euo pipefail
base="http://127.0.0.1:${DRIFTLINE_SERVE_PORT:-8000}"
key="${1:-C042}"
curl --fail --silent --show-error "$base/v1/predictions/$key"
echo
curl --fail --silent --show-error "$base/v1/predictions?keys=$key,${2:-C007}"
echo
