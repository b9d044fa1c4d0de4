"""driftline.adapters.kafka.range_source: ``driftline replay``'s source reads ``[start, end)``
of each partition without a group, and says when no record lies in the range."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from kafka import TopicPartition

from driftline.adapters.kafka.range_source import RangeSource, resolve_ranges
from driftline.core.errors import ConfigError

TOPIC = "live.events"


@dataclass
class Record:
    partition: int
    offset: int
    key: bytes = b"k"
    value: bytes = b"v"
    timestamp: int = 0


class Consumer:
    """A kafka-python consumer's calls the range source makes, over per-partition logs of
    ``first`` to ``end`` offsets."""

    def __init__(self, logs: dict[int, tuple[int, int]]) -> None:
        self.logs = logs
        self.positions: dict[int, int] = {}
        self.assigned: list[TopicPartition] = []
        self.paused: set[int] = set()
        self.closed = False

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return set(self.logs) if topic == TOPIC else None

    def beginning_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.logs[tp.partition][0] for tp in tps}

    def end_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.logs[tp.partition][1] for tp in tps}

    def assign(self, tps: list[TopicPartition]) -> None:
        self.assigned = tps

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp.partition] = offset

    def position(self, tp: TopicPartition) -> int:
        return self.positions[tp.partition]

    def pause(self, tp: TopicPartition) -> None:
        self.paused.add(tp.partition)

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        batch = {}
        for tp in self.assigned:
            p = tp.partition
            if p in self.paused:
                continue
            end = self.logs[p][1]
            offsets = range(self.positions[p], min(end, self.positions[p] + max_records))
            if offsets:
                batch[tp] = [Record(p, o) for o in offsets]
                self.positions[p] = offsets[-1] + 1
        return batch

    def close(self, autocommit: bool = True) -> None:
        self.closed = True


class Listener:
    def __init__(self) -> None:
        self.assigned: list[set[int]] = []

    def on_assigned(self, partitions: set[int]) -> None:
        self.assigned.append(partitions)

    def on_revoked(self, partitions: set[int]) -> None:
        raise AssertionError("a range source has no group to take partitions back")


def test_ranges_are_clipped_to_what_the_log_still_holds() -> None:
    consumer: Any = Consumer({0: (0, 100), 1: (40, 60), 2: (0, 0)})
    assert resolve_ranges(consumer, TOPIC, None, 10, 80) == {0: (10, 80), 1: (40, 60)}
    assert resolve_ranges(consumer, TOPIC, [1], 0, None) == {1: (40, 60)}


@pytest.mark.parametrize(
    ("topic", "partitions", "start", "message"),
    [
        ("other.events", None, 0, "does not exist"),
        (TOPIC, [5], 0, "has no partition 5"),
        (TOPIC, [0], 500, "no record of live.events lies in offsets"),
    ],
)
def test_a_range_with_no_record_is_refused(
    topic: str, partitions: list[int] | None, start: int, message: str
) -> None:
    consumer: Any = Consumer({0: (0, 100)})
    with pytest.raises(ConfigError, match=message):
        resolve_ranges(consumer, topic, partitions, start, None)


def test_each_partition_is_read_from_its_start_to_its_end_and_no_further() -> None:
    consumer = Consumer({0: (0, 100), 1: (0, 100)})
    source = RangeSource(consumer, TOPIC, {0: (10, 15), 1: (90, 93)})  # type: ignore[arg-type]
    listener = Listener()
    source.subscribe(listener)
    assert listener.assigned == [{0, 1}] and source.assignment() == {0, 1}
    assert source.lag() == 5 + 3
    read: dict[int, list[int]] = {0: [], 1: []}
    for _ in range(5):
        for partition, records in source.poll(100, 4).items():
            read[partition] += [r.offset for r in records]
    assert read == {0: [10, 11, 12, 13, 14], 1: [90, 91, 92]}
    assert consumer.paused == {0, 1} and source.lags() == {0: 0, 1: 0}
    assert source.beginning_offset(0) == 10  # a fresh task starts at the range
    assert source.commit({0: 15}) and not consumer.closed
    source.close()
    assert consumer.closed
