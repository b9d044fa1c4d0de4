"""The records of several topic partitions, released in timestamp order.

A user's observations and outcomes live in different topics. Read as they come, a backlog
of both (a first run, a catch-up after an outage) arrives one topic first: a year of
applications, then a year of outcomes, by which time every observation has expired
unlabelled. So the ingest stage merges its partitions by record timestamp, as Kafka Streams
does (its "timestamp synchronization"): a record is released only when no partition that
still has unread records could hold an older one, i.e. when every such partition has a
record held here. A partition read to its end does not hold the others up (a live stream
whose outcome topic is quiet goes on).

>>> from driftline.core.events.records import SourceRecord
>>> def r(topic, offset, ts):
...     return SourceRecord(topic, 0, offset, None, b"", ts)
>>> merge = TimeMerge()
>>> merge.add([r("obs", 0, 10), r("obs", 1, 30), r("out", 0, 20)])
>>> [(x.topic, x.offset) for x in merge.release(lagging=set())]
[('obs', 0), ('out', 0), ('obs', 1)]
>>> merge.add([r("obs", 2, 40)])
>>> merge.release(lagging={("out", 0)})  # "out" has unread records: they may be older
[]
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable

from driftline.core.events.records import SourceRecord

__all__ = ["TimeMerge"]

TopicPartition = tuple[str, int]


class TimeMerge:
    """Holds records per partition; releases them oldest first (ties: topic, partition,
    offset), each partition's in offset order."""

    def __init__(self) -> None:
        self._held: dict[TopicPartition, deque[SourceRecord]] = {}

    def add(self, records: Iterable[SourceRecord]) -> None:
        for record in records:
            where = (record.topic, record.partition)
            held = self._held.get(where)
            if held is None:
                held = self._held[where] = deque()
            held.append(record)

    def release(self, lagging: set[TopicPartition]) -> list[SourceRecord]:
        """The records that can go, in order; ``lagging``: partitions with records not yet
        read (their next record is unknown, so none of theirs may be passed over)."""
        if any(not self._held.get(where) for where in lagging):
            return []
        heap = [
            (held[0].timestamp_ms, where, held[0].offset)
            for where, held in self._held.items()
            if held
        ]
        heapq.heapify(heap)
        released: list[SourceRecord] = []
        while heap:
            _, where, _ = heapq.heappop(heap)
            held = self._held[where]
            released.append(held.popleft())
            if held:
                heapq.heappush(heap, (held[0].timestamp_ms, where, held[0].offset))
            elif where in lagging:
                break  # its next record is still unread: it may be older than the rest
        return released

    def held(self) -> dict[TopicPartition, int]:
        """Records held, per partition holding any."""
        return {where: len(held) for where, held in self._held.items() if held}

    def first_offsets(self) -> dict[TopicPartition, int]:
        """The offset of the first record held, per partition holding any."""
        return {where: held[0].offset for where, held in self._held.items() if held}

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop what is held of ``partitions`` (revoked: their records will be read again
        from the committed offsets, here or by another member)."""
        for where in partitions:
            self._held.pop(where, None)

    def clear(self) -> None:
        self._held.clear()
