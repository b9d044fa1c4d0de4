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
from collections import deque
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from driftline.adapters.kafka_publish import ProducerError, abort_and_close
from driftline.core.errors import PublishError
from driftline.core.events.codec import KIND_HEADER, EventCodec
from driftline.core.events.model import Event
from driftline.core.times import to_millis
from driftline.producers.delivery import Delivery, DeliveryBounds, PublisherTimeouts
from driftline.producers.publish_report import NO_ANSWER, PublishReport

# The delivery's and the report's types live in modules of their own; they are named here
# too, with the publisher that makes them.
__all__ = [
    "KIND_HEADER",
    "Delivery",
    "DeliveryBounds",
    "EventPublisher",
    "PublishReport",
    "PublisherTimeouts",
]

log = logging.getLogger(__name__)


class _Producer(Protocol):
    def send(self, topic: str, **kwargs: Any) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


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
        except ProducerError as exc:
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
            except ProducerError as exc:  # stopped waiting: what settled is counted below
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
        except ProducerError as exc:
            level = logging.DEBUG if failing else logging.WARNING
            log.log(level, "the Kafka producer closed with records in flight: %s", exc)
            abort_and_close(self._producer)
