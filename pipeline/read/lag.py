"""The consumer group's lag, as a health check sees it from outside the group.

Per partition of the events topic: its end offset minus the offset the group committed
(which is a checkpoint's offset: see :mod:`driftline.consumers.worker`). A partition the group has
never committed lags by everything it still holds, from its log start (records deleted by
retention are no lag: the group starts at the earliest kept offset), and so does a commit
older than the log start. One long-lived consumer that never joins the group asks for all
three (:class:`~driftline.adapters.kafka_reads.GroupOffsets`); calls are serialised (a Kafka
consumer serves one thread) and answered from a short cache, so a dashboard polling every
second costs Kafka little.
"""

from __future__ import annotations

import threading
import time

from driftline.adapters.kafka_reads import GroupOffsets
from driftline.adapters.settings import KafkaSettings

__all__ = ["GroupLag", "lag_of"]


def lag_of(start: int, end: int, committed: int | None) -> int:
    """Records from where the group reads next to the end of a partition that holds
    offsets ``start`` (its earliest kept) up to ``end``: the group reads from ``committed``,
    or from ``start`` when it never committed or its commit is older than the log start
    (the workers reset to the earliest offset).

    >>> lag_of(0, 100, 40), lag_of(700, 1000, None), lag_of(700, 1000, 500)
    (60, 300, 300)
    >>> lag_of(0, 100, 100), lag_of(100, 100, None)
    (0, 0)
    """
    return max(0, end - max(start, committed if committed is not None else start))


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
        self._offsets = GroupOffsets(kafka, group, timeout_ms=timeout_ms)
        self._lock = threading.Lock()
        self._answer: tuple[float, dict[int, int]] | None = None

    def read(self) -> dict[int, int]:
        """Records the group has yet to commit past, per partition (``{}``: no topic).

        Raises :class:`~driftline.core.errors.ServiceUnavailable` when Kafka does not
        answer.
        """
        with self._lock:
            now = time.monotonic()
            if self._answer is not None and now - self._answer[0] < self.cache_s:
                return dict(self._answer[1])
            offsets = self._offsets.read(self.topic)
            lags = {p: lag_of(o.start, o.end, o.committed) for p, o in offsets.items()}
            self._answer = (now, lags)
            return dict(lags)

    def close(self) -> None:
        with self._lock:
            self._offsets.close()
