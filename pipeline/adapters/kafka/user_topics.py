"""The ingest stage's Kafka side (kafka-python 3): a user's topics in, the events topic out.

:class:`KafkaSourceReader` reads the user's topics in the ingest group (committing only
what was republished); :class:`EventPublisher` writes mapped events into the namespace's
events topic, to the partition Kafka's default partitioner would pick for the route
(murmur2 of its bytes), so records routed alike meet in one partition and one task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2
from kafka.structs import OffsetAndMetadata

from driftline.adapters.kafka.acks import send_acknowledged
from driftline.core.events.codec import KIND_HEADER, EventCodec
from driftline.core.events.model import Event
from driftline.core.events.records import SourceRecord

__all__ = ["EventPublisher", "KafkaSourceReader", "partition_of"]

log = logging.getLogger(__name__)


def partition_of(route: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a record keyed ``route``.

    >>> partition_of("EWR", 4) == partition_of("EWR", 4)
    True
    >>> 0 <= partition_of("loan-17", 3) < 3
    True
    """
    return (murmur2(route.encode()) & 0x7FFFFFFF) % partitions


class KafkaSourceReader:
    """A user's topics through a :class:`KafkaConsumer` of the ingest group."""

    def __init__(self, consumer: KafkaConsumer, topics: Sequence[str]) -> None:
        self.consumer = consumer
        self.topics = list(topics)

    def subscribe(self, on_revoked: Callable[[set[tuple[str, int]]], None]) -> None:
        self._listener = _Revoked(on_revoked)
        self.consumer.subscribe(self.topics, listener=self._listener)

    def assigned(self) -> bool:
        return bool(self.consumer.assignment())

    def rejoin(self) -> None:
        self.consumer.unsubscribe()
        self.consumer.subscribe(self.topics, listener=self._listener)

    def poll(self, timeout_ms: int, max_records: int) -> list[SourceRecord]:
        batch = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return [
            SourceRecord(
                r.topic,
                r.partition,
                r.offset,
                r.key,
                r.value,
                r.timestamp,
                tuple((name, value or b"") for name, value in (r.headers or ())),
            )
            for records in batch.values()
            for r in records
        ]

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> bool:
        try:
            self.consumer.commit(
                {
                    TopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)
                    for (topic, partition), offset in offsets.items()
                }
            )
        except KafkaError as exc:  # the group moved on: the records come again, deduped
            log.warning("ingest: offset commit failed (%s); the records will come again", exc)
            return False
        return True

    def rewind(self, offsets: Mapping[tuple[str, int], int]) -> None:
        held = self.consumer.assignment()
        for (topic, partition), offset in offsets.items():
            tp = TopicPartition(topic, partition)
            if tp in held:
                self.consumer.seek(tp, offset)

    def lag(self) -> int:
        assigned = list(self.consumer.assignment())
        if not assigned:
            return 1  # nothing held yet: not caught up
        ends = self.consumer.end_offsets(assigned)
        return sum(max(0, ends[tp] - self.consumer.position(tp)) for tp in assigned)

    def lagging(self) -> set[tuple[str, int]]:
        lagging = set()
        for tp in self.consumer.assignment():
            end = self.consumer.highwater(tp)  # from the last fetch: no round trip
            if end is None or self.consumer.position(tp) < end:
                lagging.add((tp.topic, tp.partition))
        return lagging

    def close(self) -> None:
        self.consumer.close(autocommit=False)


class _Revoked(ConsumerRebalanceListener):
    """kafka-python 3 runs rebalance callbacks inside ``poll``, in the ingest's thread."""

    def __init__(self, on_revoked: Callable[[set[tuple[str, int]]], None]) -> None:
        self.on_revoked = on_revoked

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.on_revoked({(tp.topic, tp.partition) for tp in revoked})

    def on_partitions_assigned(self, assigned: Any) -> None:
        pass


class EventPublisher:
    """Mapped events into the events topic, acknowledged a batch at a time."""

    def __init__(self, producer: Any, topic: str, partitions: int, codec: EventCodec) -> None:
        self._producer = producer
        self.topic = topic
        self.partitions = partitions
        self._codec = codec
        self._queued: list[dict[str, Any]] = []

    def send(self, event: Event, *, timestamp_ms: int, route: str) -> None:
        self._queued.append(
            {
                "topic": self.topic,
                "key": event.key.encode(),
                "value": self._codec.encode(event),
                "partition": partition_of(route, self.partitions),
                "timestamp_ms": timestamp_ms,
                "headers": [(KIND_HEADER, event.kind.encode())],
            }
        )

    def discard(self) -> None:
        self._queued = []

    def flush(self) -> int:
        queued, self._queued = self._queued, []
        send_acknowledged(self._producer, queued, "ingested event(s)")
        return len(queued)
