#!/usr/bin/env bash
# Your CSV to predictions, in one command: replay loans.csv into Kafka, predict every
# application and learn every label (each known 30 days later), then read one customer's
# latest prediction. Kafka and Redis: DRIFTLINE_KAFKA_BOOTSTRAP and DRIFTLINE_REDIS_URL
# when set, else the local stack (started here if it is not running).
set -euo pipefail
cd "$(dirname "$0")"
if [[ -z "${DRIFTLINE_KAFKA_BOOTSTRAP:-}" || -z "${DRIFTLINE_REDIS_URL:-}" ]]; then
    driftline stack up
fi
driftline produce csv loans.csv --key customer --time applied_at --label defaulted \
    --event-id loan_id --outcome-delay 2592000
driftline consume --until-idle 5 --pending-ttl 2678400   # labels may come 31 days later
driftline predictions get "${1:-C042}" --json
