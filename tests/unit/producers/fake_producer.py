"""kafka-python's KafkaProducer as the publisher uses it, faked: records kept, futures
settled at flush (or at send, or one send later) by a verdict per record."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from kafka.future import Future

TOPIC = "demo.events"


class Metadata(NamedTuple):
    """The fields of kafka-python's RecordMetadata that the publisher reads."""

    topic: str
    partition: int
    offset: int


class Sent(NamedTuple):
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    timestamp_ms: int | None
    future: Future


#: What the fake broker does with a record: a partition to ack it in, an exception, or None
#: (no answer at all).
Verdict = Callable[[Sent], int | BaseException | None]


def ack_by_key(record: Sent) -> int:
    return sum(record.key) % 3


class FakeProducer:
    """kafka-python's KafkaProducer as the publisher uses it; futures settle at flush()
    (``eager``: at send, as a fast broker's do; ``lagging``: one send later).

    Like kafka-python's, ``close(timeout)`` flushes first, and raises a timeout when a
    record is still unanswered (``close_error``).
    """

    def __init__(
        self,
        verdict: Verdict = ack_by_key,
        refuse: BaseException | None = None,
        eager: bool = False,
        lagging: bool = False,
    ):
        self.verdict = verdict
        self.refuse = refuse
        self.eager = eager
        self.lagging = lagging
        self.sent: list[Sent] = []
        self.offsets: dict[int, int] = {}
        self.flushes = 0
        self.flush_timeouts: list[float | None] = []
        self.closed = 0
        self.close_timeouts: list[float | None] = []
        self.flush_error: BaseException | None = None
        self.close_error: BaseException | None = None

    def send(
        self,
        topic: str,
        *,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
        timestamp_ms: int | None = None,
    ) -> Future:
        if self.refuse is not None:
            raise self.refuse
        record = Sent(topic, key, value, headers, timestamp_ms, Future())
        if self.lagging:
            for earlier in self.sent:
                self._settle(earlier)
        self.sent.append(record)
        if self.eager:
            self._settle(record)
        return record.future

    def _settle(self, record: Sent) -> None:
        if record.future.is_done:
            return
        verdict = self.verdict(record)
        if isinstance(verdict, BaseException):
            record.future.failure(verdict)
        elif verdict is not None:
            offset = self.offsets.get(verdict, -1) + 1
            self.offsets[verdict] = offset
            record.future.success(Metadata(record.topic, verdict, offset))

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1
        self.flush_timeouts.append(timeout)
        if self.flush_error is not None:
            raise self.flush_error
        for record in self.sent:
            self._settle(record)

    def close(self, timeout: float | None = None) -> None:
        self.closed += 1
        self.close_timeouts.append(timeout)
        if self.close_error is not None:
            raise self.close_error
