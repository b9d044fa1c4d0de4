"""The consumer group's lag, as a health check sees it from outside the group.

Per partition of the events topic: its end offset minus the offset the group committed
(which is a checkpoint's offset: see :mod:`consumers.worker`). A partition the group has
never committed lags by everything it holds. One long-lived consumer that never joins
the group asks for both; calls are serialised (a Kafka consumer serves one thread) and
answered from a short cache, so a dashboard polling every second costs Kafka little.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from pipeline.adapters.kafka_clients import make_consumer
from pipeline.adapters.settings import KafkaSettings
from pipeline.core.errors import ServiceUnavailable

__all__ = ["GroupLag"]


class GroupLag:
    """Lag per partition of ``group`` on ``topic``; Kafka is reached on first use."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        group: str,
        *,
        cache_s: float = 2.0,
        timeout_ms: int = 3000,
    ) -> None:
        self.kafka = kafka
        self.topic = topic
        self.group = group
        self.cache_s = cache_s
        self.timeout_ms = timeout_ms
        self._consumer: KafkaConsumer | None = None
        self._lock = threading.Lock()
        self._answer: tuple[float, dict[int, int]] | None = None

    def read(self) -> dict[int, int]:
        """Records the group has yet to commit past, per partition (``{}``: no topic).

        Raises :class:`ServiceUnavailable` when Kafka does not answer.
        """
        with self._lock:
            now = time.monotonic()
            if self._answer is not None and now - self._answer[0] < self.cache_s:
                return dict(self._answer[1])
            try:
                lags = self._ask()
            except KafkaError as exc:
                self._drop()
                raise ServiceUnavailable(f"Kafka did not answer: {type(exc).__name__}") from exc
            self._answer = (now, lags)
            return dict(lags)

    def _ask(self) -> dict[int, int]:
        if self._consumer is None:
            self._consumer = make_consumer(
                self.kafka,
                group_id=self.group,
                enable_auto_commit=False,
                request_timeout_ms=self.timeout_ms + 2000,
            )
        consumer = self._consumer
        partitions = consumer.partitions_for_topic(self.topic) or set()
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        if not tps:
            return {}
        ends: dict[Any, int] = consumer.end_offsets(tps)
        lags = {}
        for tp in tps:
            committed = consumer.committed(tp)
            lags[tp.partition] = max(0, ends[tp] - (committed or 0))
        return lags

    def _drop(self) -> None:
        if self._consumer is not None:
            # closing a client whose broker is gone: nothing to keep from it
            with contextlib.suppress(Exception):
                self._consumer.close(autocommit=False)
            self._consumer = None

    def close(self) -> None:
        with self._lock:
            self._drop()
