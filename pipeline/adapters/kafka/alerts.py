"""Alerts on Kafka: each alert as JSON (:mod:`driftline.adapters.alert_record`) on the
namespace's alerts topic, keyed by its id, with the partition and offset that raised it
in its headers (``driftline.source.partition``, ``driftline.source.offset``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from driftline.adapters.alert_record import alert_json
from driftline.adapters.kafka.acks import send_acknowledged
from driftline.adapters.kafka.published import OutputPositions
from driftline.core.events.records import Alert

__all__ = ["AlertPublisher"]


class AlertPublisher:
    """Publish alerts to ``<ns>.alerts`` and wait for the acks; ``positions`` learns where
    they landed. A replay after a crash makes an alert again under the same id: the worker
    leaves out those already published (:mod:`driftline.consumers.replayed`)."""

    def __init__(self, producer: Any, topic: str, positions: OutputPositions | None = None) -> None:
        self._producer = producer
        self.topic = topic
        self.positions = positions

    def publish(self, alerts: Sequence[Alert]) -> None:
        if alerts:
            acked = send_acknowledged(
                self._producer,
                (
                    {
                        "topic": self.topic,
                        "key": alert.alert_id.encode(),
                        "value": alert_json(alert).encode(),
                        "headers": [
                            ("driftline.kind", b"alert"),
                            ("driftline.id", alert.alert_id.encode()),
                            ("driftline.source.partition", str(alert.partition).encode()),
                            ("driftline.source.offset", str(alert.offset).encode()),
                        ],
                    }
                    for alert in alerts
                ),
                "alert(s)",
            )
            if self.positions is not None:
                self.positions.acked(acked)
