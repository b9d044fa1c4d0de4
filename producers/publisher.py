"""The Kafka publisher: events keyed by entity, every delivery checked and counted.

Observations and outcomes of one entity share the record key, so the default
partitioner puts them in the same partition, in order. The producer is idempotent with
``acks="all"``. Every record ends either *acknowledged* (counted by kind and partition in
:class:`PublishReport`) or *failed* (counted by reason); the first failure seen stops the
publisher with a :class:`PublishError` that says both, so a replay never runs on past a
gap in its stream. How long a record may stay unanswered is bounded by
:class:`DeliveryBounds`, derived from the Kafka request timeout.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, TypedDict

from kafka.errors import KafkaError

from driftline.core.errors import PublishError
from driftline.core.events.codec import KIND_HEADER, EventCodec
from driftline.core.events.model import Event
from driftline.core.times import to_millis

__all__ = [
    "KIND_HEADER",
    "Delivery",
    "DeliveryBounds",
    "EventPublisher",
    "PublishReport",
    "PublisherTimeouts",
]

log = logging.getLogger(__name__)

#: Reason of a record that had no answer when the flush stopped waiting.
NO_ANSWER = "no answer"
#: Longest example error message kept per failure reason.
_EXAMPLE_CHARS = 200


class _Producer(Protocol):
    def send(self, topic: str, **kwargs: Any) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


class PublisherTimeouts(TypedDict):
    """The :class:`EventPublisher` waits that go with a producer's delivery timeout."""

    flush_timeout_s: float
    failure_wait_s: float


@dataclass(frozen=True)
class DeliveryBounds:
    """How long a record may go unanswered, derived from the Kafka request timeout.

    A record gets two request timeouts to be acknowledged (time for one retry after a
    leader moves), :meth:`send <EventPublisher.publish>` blocks at most one request
    timeout for metadata or buffer space, a flush waits for the delivery timeout plus one
    request timeout (kafka-python has settled every record by then, unless its sender is
    stuck without a producer id), and once a record has failed the rest in flight get one
    request timeout to answer. With the cluster gone, publishing fails within about three
    request timeouts of the last send, never hangs.

    >>> bounds = DeliveryBounds(request_timeout_ms=5_000)
    >>> bounds.producer_options()
    {'delivery_timeout_ms': 10000, 'max_block_ms': 5000}
    >>> bounds.flush_timeout_s, bounds.failure_wait_s
    (15.0, 5.0)
    """

    request_timeout_ms: int
    linger_ms: int = 5

    @property
    def delivery_timeout_ms(self) -> int:
        # kafka-python requires delivery_timeout_ms >= linger_ms + request_timeout_ms
        return max(2 * self.request_timeout_ms, self.request_timeout_ms + self.linger_ms)

    @property
    def flush_timeout_s(self) -> float:
        return (self.delivery_timeout_ms + self.request_timeout_ms) / 1000

    @property
    def failure_wait_s(self) -> float:
        return self.request_timeout_ms / 1000

    def publisher_options(self) -> PublisherTimeouts:
        """:class:`EventPublisher` settings to go with :meth:`producer_options`."""
        return {"flush_timeout_s": self.flush_timeout_s, "failure_wait_s": self.failure_wait_s}

    def producer_options(self) -> dict[str, int]:
        """kafka-python producer settings, for ``make_producer(config, **options)``."""
        return {
            "delivery_timeout_ms": self.delivery_timeout_ms,
            "max_block_ms": self.request_timeout_ms,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """One record's fate, given to an ``on_delivery`` hook: where it landed, or why not."""

    event_id: str
    kind: str
    partition: int | None = None
    offset: int | None = None
    error: BaseException | None = None

    @property
    def acknowledged(self) -> bool:
        return self.error is None


@dataclass
class PublishReport:
    """What was acknowledged (by kind, by partition, last offsets) and what failed (by reason).

    >>> report = PublishReport("demo.events")
    >>> report.describe()
    'no record acknowledged, none failed'
    >>> report.acknowledge("observation", partition=0, offset=41)
    >>> report.acknowledge("outcome", partition=2, offset=7)
    >>> report.fail("KafkaTimeoutError", TimeoutError("KafkaTimeoutError: batch expired"))
    >>> acked, failed = report.describe().split("), ")
    >>> acked
    '2 record(s) acknowledged (partition 0: 1, partition 2: 1'
    >>> failed
    '1 failed (1 KafkaTimeoutError: batch expired)'
    """

    topic: str
    by_kind: Counter[str] = field(default_factory=Counter)
    by_partition: Counter[int] = field(default_factory=Counter)
    last_offsets: dict[int, int] = field(default_factory=dict)
    failed_by_reason: Counter[str] = field(default_factory=Counter)
    failure_examples: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Records acknowledged."""
        return sum(self.by_kind.values())

    @property
    def acknowledged(self) -> int:
        return self.total

    @property
    def failed(self) -> int:
        return sum(self.failed_by_reason.values())

    def acknowledge(self, kind: str, partition: int, offset: int) -> None:
        self.by_kind[kind] += 1
        self.by_partition[partition] += 1
        self.last_offsets[partition] = max(self.last_offsets.get(partition, -1), offset)

    def fail(self, reason: str, error: BaseException) -> None:
        self.failed_by_reason[reason] += 1
        if reason not in self.failure_examples:
            text = " ".join(str(error).split()) or reason
            if len(text) > _EXAMPLE_CHARS:
                text = text[: _EXAMPLE_CHARS - 3] + "..."
            self.failure_examples[reason] = text

    def describe(self) -> str:
        """One line: how many were acknowledged (by partition) and how many failed, and why."""
        if self.by_partition:
            where = ", ".join(f"partition {p}: {n}" for p, n in sorted(self.by_partition.items()))
            acked = f"{self.total} record(s) acknowledged ({where})"
        else:
            acked = "no record acknowledged"
        if not self.failed:
            return f"{acked}, none failed"
        why = "; ".join(
            f"{n} {self._explained(reason)}" for reason, n in self.failed_by_reason.most_common()
        )
        return f"{acked}, {self.failed} failed ({why})"

    def _explained(self, reason: str) -> str:
        example = self.failure_examples.get(reason, reason)
        if reason == NO_ANSWER or reason in example:
            return example
        return f"{reason}: {example}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "published": self.total,
            "acknowledged": self.total,
            "observations": self.by_kind["observation"],
            "outcomes": self.by_kind["outcome"],
            "partitions": {str(p): n for p, n in sorted(self.by_partition.items())},
            "last_offsets": {str(p): o for p, o in sorted(self.last_offsets.items())},
            "failed": self.failed,
            "failed_by_reason": dict(self.failed_by_reason.most_common()),
        }


def _reason(error: BaseException) -> str:
    """The failure reason a report counts under: the error's type."""
    return type(error).__name__


class EventPublisher:
    """Publish :class:`~driftline.core.events.model.Observation` and ``Outcome`` events to one
    topic.

    Deliveries are checked as they settle: the first record Kafka refuses (or leaves
    unanswered past the producer's delivery timeout) makes the next :meth:`publish` wait
    up to ``failure_wait_s`` for the records still in flight, count them, and raise
    :class:`PublishError` with the report's one-line account; :meth:`flush` waits up to
    ``flush_timeout_s``. ``on_delivery``, when given, hears every record's
    :class:`Delivery`.
    """

    def __init__(
        self,
        producer: _Producer,
        topic: str,
        codec: EventCodec | None = None,
        max_unsettled: int = 20_000,
        flush_timeout_s: float = 150.0,
        failure_wait_s: float = 30.0,
        close_timeout_s: float = 10.0,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> None:
        self._producer = producer
        self._codec = codec or EventCodec()
        self._max_unsettled = max_unsettled
        self._flush_timeout_s = flush_timeout_s
        self._failure_wait_s = failure_wait_s
        self._close_timeout_s = close_timeout_s
        self._on_delivery = on_delivery
        self._unsettled: deque[tuple[str, str, Any]] = deque()
        self._new_failures = 0
        self._first_error: BaseException | None = None
        self.report = PublishReport(topic)

    @property
    def topic(self) -> str:
        return self.report.topic

    def publish(self, event: Event, arrival: datetime | None = None) -> None:
        """Send ``event`` (asynchronously); its delivery is checked as it settles.

        The record's timestamp is ``arrival`` (a replay's scheduled arrival) or the event
        time: a topic of the broker's clock overwrites it with the append time, a topic
        of the replay's clock (``DRIFTLINE_KAFKA_TIMESTAMPS=replay``) keeps it.

        Raises :class:`PublishError` once a record is seen to have failed (this one,
        refused at once, or an earlier one), after waiting for the rest in flight.
        """
        kind = event.kind
        try:
            future = self._producer.send(
                self.topic,
                key=event.key.encode(),
                value=self._codec.encode(event),
                headers=[(KIND_HEADER, kind.encode())],
                timestamp_ms=to_millis(event.event_time if arrival is None else arrival),
            )
        except KafkaError as exc:
            self._failed(event.event_id, kind, exc)
            self._settle_all(self._failure_wait_s)  # count the records in flight too
            raise self._failure(f"Kafka refused {kind} {event.event_id}; ") from exc
        self._unsettled.append((kind, event.event_id, future))
        self._settle_done()
        if self._new_failures:
            self._settle_all(self._failure_wait_s)
            raise self._failure()
        if len(self._unsettled) >= self._max_unsettled:
            self.flush()

    def flush(self, timeout_s: float | None = None) -> PublishReport:
        """Wait for every sent record to settle (at most ``timeout_s``, by default the
        publisher's flush timeout); raise :class:`PublishError` if any failed since the
        last time one was raised. Records still unanswered then count as failed."""
        self._settle_all(self._flush_timeout_s if timeout_s is None else timeout_s)
        if self._new_failures:
            raise self._failure()
        return self.report

    def close(self) -> PublishReport:
        """Flush, then close the producer; the flush's error is the one raised."""
        try:
            return self.flush()
        finally:
            self._close_producer(failing=self.report.failed > 0)

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
            return
        try:
            if self._unsettled:  # settle what was sent, so the report is complete
                self.flush()
        except PublishError as error:  # the caller's error is the one that propagates
            log.warning("while stopping on %s: %s", exc_type.__name__, error)
        finally:
            self._close_producer(failing=True)

    # -- settling ------------------------------------------------------------------------------
    def _settle_all(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for the records in flight; count every one of them
        (those still unanswered then as failed)."""
        if self._unsettled:
            try:
                self._producer.flush(timeout=timeout_s)
            except KafkaError as exc:  # stopped waiting: what settled is counted below
                log.debug("flush stopped waiting after %s s: %s", timeout_s, exc)
        silence = TimeoutError(f"not acknowledged within {timeout_s:g} s")
        while self._unsettled:
            kind, event_id, future = self._unsettled.popleft()
            if future.is_done:
                self._settled(kind, event_id, future)
            else:
                self._failed(event_id, kind, silence, reason=NO_ANSWER)

    def _failure(self, prefix: str = "") -> PublishError:
        """The error for the failures not raised yet, with the report's account."""
        failed, first_error = self._new_failures, self._first_error
        self._new_failures, self._first_error = 0, None
        return PublishError(
            f"{prefix}publishing to {self.topic} failed: {self.report.describe()}",
            failed,
            first_error,
        )

    def _settle_done(self) -> None:
        """Count the settled records at the head of the queue (sending order)."""
        unsettled = self._unsettled
        while unsettled and unsettled[0][2].is_done:
            self._settled(*unsettled.popleft())

    def _settled(self, kind: str, event_id: str, future: Any) -> None:
        if future.succeeded():
            metadata = future.value
            self.report.acknowledge(kind, metadata.partition, metadata.offset)
            if self._on_delivery is not None:
                self._on_delivery(Delivery(event_id, kind, metadata.partition, metadata.offset))
        else:
            self._failed(event_id, kind, future.exception or TimeoutError("not acknowledged"))

    def _failed(
        self, event_id: str, kind: str, error: BaseException, reason: str | None = None
    ) -> None:
        self.report.fail(reason or _reason(error), error)
        self._new_failures += 1
        if self._first_error is None:
            self._first_error = error
        if self._on_delivery is not None:
            self._on_delivery(Delivery(event_id, kind, error=error))

    def _close_producer(self, *, failing: bool) -> None:
        """Close the producer without ever raising over the publisher's own account.

        kafka-python's ``close`` flushes first and raises a timeout if records are still
        in flight; those are already counted as failed, so that timeout says nothing new.
        After a failure there is nothing worth waiting for: close at once.
        """
        timeout = 0.0 if failing else self._close_timeout_s
        try:
            self._producer.close(timeout=timeout)
        except KafkaError as exc:
            level = logging.DEBUG if failing else logging.WARNING
            log.log(level, "the Kafka producer closed with records in flight: %s", exc)
            _abort_and_close(self._producer)


def _abort_and_close(producer: Any) -> None:
    """Abort kafka-python's pending batches, then close the producer for good.

    Its ``close`` gives up when its own flush times out, leaving the I/O thread running and
    ``__del__`` to try again at interpreter exit, with a traceback on standard error. A
    record can stay pending for ever: an idempotent producer whose producer id request
    cannot be answered (no controller quorum) never expires its batches. Force-closing the
    sender fails those batches, after which ``close`` completes.
    """
    sender = getattr(producer, "_sender", None)  # kafka-python's I/O thread
    if sender is None:
        return
    sender.force_close()
    sender.join(timeout=5)
    try:
        producer.close(timeout=0)
    except KafkaError as exc:
        log.debug("the Kafka producer could not be closed: %s", exc)
