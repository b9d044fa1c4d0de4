"""Watermark ticks written to idle partitions of the events topic
(:mod:`driftline.core.events.ticks`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from kafka.errors import KafkaError

from driftline.core.events.codec import KIND_HEADER, EventCodec
from driftline.core.events.ticks import WatermarkTick

__all__ = ["TickPublisher"]

log = logging.getLogger(__name__)


class TickPublisher:
    """Append one tick per idle partition and wait for the acknowledgements."""

    def __init__(self, producer: Any, topic: str, source: str, codec: EventCodec | None = None):
        self._producer = producer
        self.topic = topic
        self._value = (codec or EventCodec()).encode_tick(WatermarkTick(source=source))

    def tick(self, partitions: Iterable[int]) -> int:
        """Ticks acknowledged; a failure is logged, not raised (it only delays expiry)."""
        futures = []
        try:
            for partition in partitions:
                futures.append(
                    self._producer.send(
                        self.topic,
                        value=self._value,
                        partition=partition,
                        headers=[(KIND_HEADER, b"tick")],
                    )
                )
            self._producer.flush(timeout=30)
        except KafkaError as exc:
            log.warning("watermark ticks not written (%s): idle expiry waits", exc)
            return 0
        return sum(1 for f in futures if f.succeeded())
