"""An offset range of each partition, read in offset order without a consumer group:
``driftline replay``'s record source.

Nothing is committed and no group is joined, so a replay takes nothing from the live
workers; a partition read to its range's end is paused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kafka import KafkaConsumer, TopicPartition

from driftline.adapters.kafka.rebalance import RebalanceListener
from driftline.adapters.kafka_clients import make_consumer
from driftline.adapters.settings import KafkaSettings
from driftline.core.errors import ConfigError
from driftline.core.events.records import InputRecord

__all__ = ["RangeSource", "open_range_source", "resolve_ranges"]


class RangeSource:
    """The records ``[start, end)`` of each partition, in offset order, without a group."""

    def __init__(self, consumer: KafkaConsumer, topic: str, ranges: Mapping[int, tuple[int, int]]):
        self.consumer = consumer
        self.topic = topic
        self.ranges = dict(ranges)

    def _tp(self, partition: int) -> TopicPartition:
        return TopicPartition(self.topic, partition)

    def subscribe(self, listener: RebalanceListener) -> None:
        self.consumer.assign([self._tp(p) for p in sorted(self.ranges)])
        for partition, (start, _) in self.ranges.items():
            self.consumer.seek(self._tp(partition), start)
        listener.on_assigned(set(self.ranges))

    def poll(self, timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        batch = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        out: dict[int, list[InputRecord]] = {}
        for tp, records in batch.items():
            end = self.ranges[tp.partition][1]
            kept = [
                InputRecord(r.partition, r.offset, r.key, r.value, r.timestamp)
                for r in records
                if r.offset < end
            ]
            if kept:
                out[tp.partition] = kept
            if records and records[-1].offset >= end - 1:
                self.consumer.pause(tp)  # read to its end: nothing more is wanted
        return out

    def assignment(self) -> set[int]:
        return set(self.ranges)

    def beginning_offset(self, partition: int) -> int:
        """Where the replay begins: a fresh task starts there, not at the log's start."""
        return self.ranges[partition][0]

    def lags(self, fresh: bool = False) -> dict[int, int]:
        return {
            p: max(0, end - self.consumer.position(self._tp(p)))
            for p, (_, end) in self.ranges.items()
        }

    def lag(self) -> int:
        return sum(self.lags().values())

    def seek(self, partition: int, offset: int) -> None:
        self.consumer.seek(self._tp(partition), offset)

    def commit(self, offsets: Mapping[int, int]) -> bool:
        return True  # no group: a replay takes nothing from the live workers

    def keepalive(self) -> None:
        pass  # no group membership to keep

    def close(self) -> None:
        self.consumer.close(autocommit=False)


def resolve_ranges(
    consumer: KafkaConsumer,
    topic: str,
    partitions: Sequence[int] | None,
    start: int,
    end: int | None,
) -> dict[int, tuple[int, int]]:
    """``[max(start, oldest kept), min(end, the end now))`` of each partition asked for
    (default: every partition of the topic)."""
    known = sorted(consumer.partitions_for_topic(topic) or [])
    if not known:
        raise ConfigError(f"topic {topic} does not exist (or has no partition)")
    chosen = sorted(set(partitions)) if partitions else known
    unknown = [p for p in chosen if p not in known]
    if unknown:
        raise ConfigError(f"topic {topic} has no partition {unknown[0]} (it has {known})")
    tps = [TopicPartition(topic, p) for p in chosen]
    firsts, ends = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
    ranges = {}
    for tp in tps:
        low = max(start, int(firsts[tp]))
        high = int(ends[tp]) if end is None else min(end, int(ends[tp]))
        if high > low:
            ranges[tp.partition] = (low, high)
    if not ranges:
        raise ConfigError(f"no record of {topic} lies in offsets [{start}, {end or 'end'})")
    return ranges


def open_range_source(
    kafka: KafkaSettings,
    topic: str,
    partitions: Sequence[int] | None = None,
    start: int = 0,
    end: int | None = None,
) -> RangeSource:
    """A :class:`RangeSource` of ``topic``'s offsets ``[start, end)`` (see
    :func:`resolve_ranges`), read as the workers read (committed transactions only).

    Raises :class:`ConfigError` when no record lies in the range; the consumer is closed
    then (the worker that would close it never runs).
    """
    consumer = make_consumer(
        kafka,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",  # as the workers read
    )
    try:
        ranges = resolve_ranges(consumer, topic, partitions, start, end)
    except BaseException:
        consumer.close(autocommit=False)
        raise
    return RangeSource(consumer, topic, ranges)
