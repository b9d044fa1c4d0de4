"""Alerts on Kafka: each alert as JSON on the namespace's alerts topic, keyed by its id."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from driftline.consumers.acks import send_acknowledged
from driftline.core.events.records import Alert

__all__ = ["AlertPublisher", "alert_json"]


def alert_json(alert: Alert) -> str:
    """The alert as compact JSON, keys sorted: a replayed alert is byte for byte the same."""
    return json.dumps(alert.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)


class AlertPublisher:
    """Publish alerts to ``<ns>.alerts`` and wait for the acks (at-least-once: a replay
    after a crash publishes an alert again under the same id, which readers keep once)."""

    def __init__(self, producer: Any, topic: str) -> None:
        self._producer = producer
        self.topic = topic

    def publish(self, alerts: Sequence[Alert]) -> None:
        if alerts:
            send_acknowledged(
                self._producer,
                (
                    {
                        "topic": self.topic,
                        "key": alert.alert_id.encode(),
                        "value": alert_json(alert).encode(),
                        "headers": [("driftline.kind", b"alert")],
                    }
                    for alert in alerts
                ),
                "alert(s)",
            )
