"""The Kafka publisher: events keyed by entity, every delivery checked.

Observations and outcomes of one entity share the record key, so the default
partitioner puts them in the same partition, in order. The producer is idempotent with
``acks="all"``; a record Kafka did not acknowledge raises :class:`PublishError` at the
next :meth:`EventPublisher.flush` (or earlier, at the send), never disappears.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from kafka.errors import KafkaError

from pipeline.core.codec import KIND_HEADER, EventCodec
from pipeline.core.errors import PublishError
from pipeline.core.events import Event
from pipeline.core.times import to_millis

__all__ = ["KIND_HEADER", "EventPublisher", "PublishReport"]

log = logging.getLogger(__name__)


class _Producer(Protocol):
    def send(self, topic: str, **kwargs: Any) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


@dataclass
class PublishReport:
    """What was acknowledged: counts by kind and by partition, offsets per partition."""

    topic: str
    by_kind: Counter[str] = field(default_factory=Counter)
    by_partition: Counter[int] = field(default_factory=Counter)
    last_offsets: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "published": self.total,
            "observations": self.by_kind["observation"],
            "outcomes": self.by_kind["outcome"],
            "partitions": {str(p): n for p, n in sorted(self.by_partition.items())},
            "last_offsets": {str(p): o for p, o in sorted(self.last_offsets.items())},
        }


class EventPublisher:
    """Publish :class:`~pipeline.core.events.Observation` and ``Outcome`` events to one topic."""

    def __init__(
        self,
        producer: _Producer,
        topic: str,
        codec: EventCodec | None = None,
        max_unsettled: int = 20_000,
    ) -> None:
        self._producer = producer
        self._codec = codec or EventCodec()
        self._max_unsettled = max_unsettled
        self._unsettled: list[tuple[str, Any]] = []
        self.report = PublishReport(topic)

    @property
    def topic(self) -> str:
        return self.report.topic

    def publish(self, event: Event) -> None:
        """Send ``event`` (asynchronously); its delivery is checked at the next flush."""
        kind = event.kind
        try:
            future = self._producer.send(
                self.topic,
                key=event.key.encode(),
                value=self._codec.encode(event),
                headers=[(KIND_HEADER, kind.encode())],
                timestamp_ms=to_millis(event.event_time),
            )
        except KafkaError as exc:
            raise PublishError(f"Kafka refused {kind} {event.event_id}: {exc}", 1, exc) from exc
        self._unsettled.append((kind, future))
        if len(self._unsettled) >= self._max_unsettled:
            self.flush()

    def flush(self, timeout_s: float | None = 120.0) -> PublishReport:
        """Wait for every sent record's acknowledgement; raise if any failed."""
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as exc:
            raise PublishError(f"flush did not complete: {exc}", len(self._unsettled), exc) from exc
        failed = 0
        first_error: BaseException | None = None
        for kind, future in self._unsettled:
            if future.succeeded():
                metadata = future.value
                self.report.by_kind[kind] += 1
                self.report.by_partition[metadata.partition] += 1
                previous = self.report.last_offsets.get(metadata.partition, -1)
                self.report.last_offsets[metadata.partition] = max(previous, metadata.offset)
            else:
                failed += 1
                first_error = first_error or future.exception or TimeoutError("not acknowledged")
        self._unsettled.clear()
        if failed:
            raise PublishError(
                f"{failed} record(s) were not acknowledged by Kafka: {first_error!r}",
                failed,
                first_error,
            )
        return self.report

    def close(self) -> None:
        """Flush, then close the producer (even when the flush fails)."""
        try:
            self.flush()
        finally:
            self._producer.close(timeout=10)

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            try:
                self.flush()
            except PublishError:
                log.exception("records not acknowledged while handling another error")
            finally:
                self._producer.close(timeout=10)
