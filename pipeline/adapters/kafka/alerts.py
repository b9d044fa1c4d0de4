"""Alerts on Kafka: each alert as JSON (:mod:`driftline.adapters.alert_record`) on the
namespace's alerts topic, keyed by its id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from driftline.adapters.alert_record import alert_json
from driftline.adapters.kafka.acks import send_acknowledged
from driftline.core.events.records import Alert

__all__ = ["AlertPublisher"]


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
                        "headers": [
                            ("driftline.kind", b"alert"),
                            ("driftline.id", alert.alert_id.encode()),
                        ],
                    }
                    for alert in alerts
                ),
                "alert(s)",
            )
