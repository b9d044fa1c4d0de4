"""The worker's record source on a real Kafka consumer (kafka-python 3)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from driftline.adapters.kafka.rebalance import RebalanceListener
from driftline.core.events.records import InputRecord

__all__ = ["KafkaRecordSource"]

log = logging.getLogger(__name__)


class _Listener(ConsumerRebalanceListener):
    """kafka-python 3 runs rebalance callbacks on the consumer's IO thread."""

    def __init__(self, listener: RebalanceListener) -> None:
        self.listener = listener

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.listener.on_revoked({tp.partition for tp in revoked})

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.listener.on_assigned({tp.partition for tp in assigned})


class KafkaRecordSource:
    """One topic through a :class:`KafkaConsumer` in a consumer group."""

    def __init__(self, consumer: KafkaConsumer, topic: str) -> None:
        self.consumer = consumer
        self.topic = topic

    def _tp(self, partition: int) -> TopicPartition:
        return TopicPartition(self.topic, partition)

    def subscribe(self, listener: RebalanceListener) -> None:
        # (Reading the topic's metadata before subscribing, against the empty assignment
        # below, made kafka-python 3.0.12 rebalance right after every first join.)
        self.consumer.subscribe([self.topic], listener=_Listener(listener))

    def rejoin(self, listener: RebalanceListener) -> None:
        """Leave the subscription and take it again: the group rebalances on fresh
        metadata. The worker's cure for an assignment that never comes: a group leader
        that joined before it had the topic's metadata assigned nothing ("No partition
        metadata for topic"), and kafka-python 3.0.12 kept that empty assignment (a
        test's worker polled in vain for 400 s)."""
        self.consumer.unsubscribe()
        self.subscribe(listener)

    def poll(self, timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        batch = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return {
            tp.partition: [
                InputRecord(r.partition, r.offset, r.key, r.value, r.timestamp) for r in records
            ]
            for tp, records in batch.items()
        }

    def assignment(self) -> set[int]:
        return {tp.partition for tp in self.consumer.assignment()}

    def beginning_offset(self, partition: int) -> int:
        tp = self._tp(partition)
        return int(self.consumer.beginning_offsets([tp])[tp])

    def lag(self) -> int:
        """The records left to read, from the broker's end offsets now (a round trip: a
        bounded run stops on it, so it is never read from a fetch's older figures)."""
        assigned = list(self.consumer.assignment())
        if not assigned:
            return 0
        ends = self.consumer.end_offsets(assigned)
        return sum(max(0, ends[tp] - self.consumer.position(tp)) for tp in assigned)

    def lags(self, fresh: bool = False) -> dict[int, int]:
        """The lag per partition for the gauges: from the high watermark the last fetch
        brought back (no round trip), from the end offsets for a partition not fetched
        yet, or for all with ``fresh``."""
        consumer = self.consumer
        assigned = list(consumer.assignment())
        ends = {tp: None if fresh else consumer.highwater(tp) for tp in assigned}
        unknown = [tp for tp, end in ends.items() if end is None]
        if unknown:
            ends.update(consumer.end_offsets(unknown))
        return {tp.partition: max(0, ends[tp] - consumer.position(tp)) for tp in assigned}

    def seek(self, partition: int, offset: int) -> None:
        self.consumer.seek(self._tp(partition), offset)

    def commit(self, offsets: Mapping[int, int]) -> bool:
        try:
            self.consumer.commit(
                {self._tp(p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()}
            )
        except KafkaError as exc:  # the group moved on: the checkpoint still holds the offset
            log.warning("offset commit failed (%s); checkpoints keep the offsets", exc)
            return False
        return True

    def keepalive(self) -> None:
        assigned = list(self.consumer.assignment())
        self.consumer.pause(*assigned)
        try:
            self.consumer.poll(timeout_ms=0)  # heartbeats, rebalances; paused: no records
        finally:
            self.consumer.resume(*[tp for tp in assigned if tp in self.consumer.assignment()])

    def close(self) -> None:
        self.consumer.close(autocommit=False)
