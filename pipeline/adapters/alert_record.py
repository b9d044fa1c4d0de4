"""The one codec of a stored alert: the JSON both the alerts topic and the Redis alerts
stream hold (:mod:`driftline.adapters.kafka.alerts`,
:mod:`driftline.adapters.redis_sink`).

>>> from datetime import UTC, datetime
>>> from driftline.core.events.records import Alert
>>> alert = Alert(alert_id="0@7:concept:main", partition=0, offset=7, kind="concept",
...               subject="main", signal="drift", detector="ADWIN", statistic={"width": 32.0},
...               window=32, event_time=datetime(2024, 1, 1, tzinfo=UTC), model="main",
...               model_version=3, action="none")
>>> alert_json(alert)[:60]  # keys sorted, compact: a replay writes the same bytes
'{"action":"none","alert_id":"0@7:concept:main","detector":"A'

"""

from __future__ import annotations

import json

from driftline.core.events.records import Alert

__all__ = ["alert_json"]


def alert_json(alert: Alert) -> str:
    """The alert as compact JSON, keys sorted: a replayed alert is byte for byte the same."""
    return json.dumps(alert.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
