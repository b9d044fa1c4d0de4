"""A record's delivery: how long it may go unanswered (:class:`DeliveryBounds`, from the
Kafka request timeout) and its fate, told to an ``on_delivery`` hook (:class:`Delivery`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

__all__ = ["Delivery", "DeliveryBounds", "PublisherTimeouts"]


class PublisherTimeouts(TypedDict):
    """The :class:`~driftline.producers.publisher.EventPublisher` waits that go with a
    producer's delivery timeout."""

    flush_timeout_s: float
    failure_wait_s: float


@dataclass(frozen=True)
class DeliveryBounds:
    """How long a record may go unanswered, derived from the Kafka request timeout.

    A record gets two request timeouts to be acknowledged (time for one retry after a
    leader moves), a send (:meth:`~driftline.producers.publisher.EventPublisher.publish`)
    blocks at most one request timeout for metadata or buffer space, a flush waits for the
    delivery timeout plus one request timeout (kafka-python has settled every record by
    then, unless its sender is stuck without a producer id), and once a record has failed
    the rest in flight get one request timeout to answer. With the cluster gone, publishing
    fails within about three request timeouts of the last send, never hangs.

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
        """:class:`~driftline.producers.publisher.EventPublisher` settings to go with
        :meth:`producer_options`."""
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
