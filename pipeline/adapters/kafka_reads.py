"""The read side's Kafka calls: reading a topic back, and a group's offsets from outside it.

Neither joins a consumer group nor commits: :func:`reading_consumer` makes the consumer
(:func:`~driftline.adapters.kafka_clients.make_consumer`, auto-commit off),
:func:`topic_records` positions it and reads (what ``driftline events tail`` and
``driftline validate`` decode, in :mod:`driftline.read.tail`), and :class:`GroupOffsets`
asks for the start, end and committed offsets that :class:`driftline.read.lag.GroupLag`
turns into lag. A Kafka that does not answer is a
:class:`~driftline.core.errors.ServiceUnavailable`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, Protocol

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from driftline.adapters.kafka_clients import make_consumer
from driftline.adapters.settings import KafkaSettings
from driftline.core.errors import ServiceUnavailable

__all__ = [
    "GroupOffsets",
    "KafkaConsumer",
    "PartitionOffsets",
    "StoredRecord",
    "reading_consumer",
    "topic_records",
]


class StoredRecord(Protocol):
    """A record as the broker keeps it (kafka-python's ``ConsumerRecord``)."""

    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes: ...


@contextlib.contextmanager
def reading_consumer(kafka: KafkaSettings) -> Iterator[KafkaConsumer]:
    """A consumer in no group that commits nothing, closed on leaving the block."""
    consumer = make_consumer(kafka, enable_auto_commit=False)
    try:
        yield consumer
    finally:
        consumer.close()


def topic_records(
    consumer: KafkaConsumer,
    topic: str,
    *,
    last: int | None = 10,
    follow: bool = False,
    idle_timeout_s: float = 2.0,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[StoredRecord]:
    """The records of ``topic``: the ``last`` N of each partition (``None``: all), read
    by ``consumer`` assigned to every partition.

    Without ``follow`` it stops once every partition has been read to the end offsets it
    had at the start; ``stop`` is asked before each poll and ends the reading when true.
    """
    partitions = [
        TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])
    ]
    if not partitions:
        return
    consumer.assign(partitions)
    ends = consumer.end_offsets(partitions)
    starts = consumer.beginning_offsets(partitions)
    for tp in partitions:
        begin = starts[tp] if last is None else max(starts[tp], ends[tp] - last)
        consumer.seek(tp, begin)
    remaining = {tp for tp in partitions if consumer.position(tp) < ends[tp]}
    quiet_since = time.monotonic()
    while (follow or remaining) and not stop():
        batch = consumer.poll(timeout_ms=int(idle_timeout_s * 1000), max_records=500)
        for records in batch.values():
            yield from records
        remaining = {tp for tp in remaining if consumer.position(tp) < ends[tp]}
        if batch:
            quiet_since = time.monotonic()
        elif not follow and time.monotonic() - quiet_since > 5 * idle_timeout_s:
            return  # records below the end offsets vanished (retention): nothing more to read


class PartitionOffsets(NamedTuple):
    """Where a partition's kept records start and end, and where a group committed."""

    start: int
    end: int
    committed: int | None


class GroupOffsets:
    """Each partition's offsets of a topic, with ``group``'s commit, from one consumer
    that never joins the group; Kafka is reached on first use.

    Not thread-safe (a Kafka consumer serves one thread): the caller serialises calls.
    """

    def __init__(self, kafka: KafkaSettings, group: str, *, timeout_ms: int = 3000) -> None:
        self.kafka = kafka
        self.group = group
        self.timeout_ms = timeout_ms
        self._consumer: KafkaConsumer | None = None

    def read(self, topic: str) -> dict[int, PartitionOffsets]:
        """The offsets of each partition of ``topic`` (``{}``: no such topic).

        Raises :class:`ServiceUnavailable` when Kafka does not answer; the consumer is
        then dropped, and the next call connects again.
        """
        try:
            return self._ask(topic)
        except KafkaError as exc:
            self.close()
            raise ServiceUnavailable(f"Kafka did not answer: {type(exc).__name__}") from exc

    def _ask(self, topic: str) -> dict[int, PartitionOffsets]:
        if self._consumer is None:
            self._consumer = make_consumer(
                self.kafka,
                group_id=self.group,
                enable_auto_commit=False,
                request_timeout_ms=self.timeout_ms + 2000,
            )
        consumer = self._consumer
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return {}
        ends: dict[Any, int] = consumer.end_offsets(tps)
        starts: dict[Any, int] = consumer.beginning_offsets(tps)
        return {
            tp.partition: PartitionOffsets(starts[tp], ends[tp], consumer.committed(tp))
            for tp in tps
        }

    def close(self) -> None:
        """Close the consumer, if one was made (the next :meth:`read` makes another)."""
        if self._consumer is not None:
            # closing a client whose broker is gone: nothing to keep from it
            with contextlib.suppress(Exception):
                self._consumer.close(autocommit=False)
            self._consumer = None
