"""The partitions a worker holds: one object each, made when the group assigns the
partition and dropped whole when it is revoked.

An :class:`AssignedPartition` holds the partition's task (once it is set up: restored from
its checkpoint, or fresh) and everything the loop keeps about it: how many records its
checkpoint lacks and when it was saved, the offset waiting to be committed, whether its
task holds outputs not written yet, whether the source reads from the task's offset, when
it was last busy (for watermark ticks), and the figures measured on this worker's clock
(event-to-Redis latency, quality findings per minute). :class:`Partitions` keys them by
partition, under the one lock that rebalance callbacks (another thread) and the loop share.

>>> partitions = Partitions()
>>> partitions.assign({0, 1}, now=10.0)
>>> partitions.take_to_set_up()
[0, 1]
>>> [held.partition for held in partitions.revoke({1, 7})]  # 7 was never held
[1]
>>> sorted(partitions.tasks()), 0 in partitions, 1 in partitions
([], True, False)
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from driftline.core.durations import DurationHistogram
from driftline.core.events.records import Prediction
from driftline.core.task.partition import PartitionTask

__all__ = ["AssignedPartition", "Partitions", "QualityRates"]


@dataclass
class QualityRates:
    """Quality findings per minute by "dimension/rule", over the last whole minute of wall
    time (the worker's clock, so not part of the task's state).

    >>> rates = QualityRates()
    >>> rates.update({"completeness/missing": 3}, now=0.0)  # the first minute begins
    {}
    >>> rates.update({"completeness/missing": 9}, now=30.0)  # not a whole minute yet
    {}
    >>> rates.update({"completeness/missing": 15}, now=120.0)
    {'completeness/missing': 6.0}
    """

    since: float | None = None
    counted: Counter[str] = field(default_factory=Counter)
    rates: dict[str, float] = field(default_factory=dict)

    def update(self, rules: Mapping[str, int], now: float) -> dict[str, float]:
        """The last whole minute's rates, given the findings counted so far by rule."""
        if self.since is None:
            self.since, self.counted = now, Counter(rules)
            return {}
        if now - self.since >= 60.0:
            minutes = (now - self.since) / 60.0
            base = self.counted
            self.rates = {
                name: round((n - base.get(name, 0)) / minutes, 3)
                for name, n in rules.items()
                if n > base.get(name, 0)
            }
            self.since, self.counted = now, Counter(rules)
        return self.rates


@dataclass(eq=False)
class AssignedPartition:
    """One partition this worker holds, with its task and the loop's bookkeeping of it.

    Times are the loop's clock (monotonic seconds).
    """

    partition: int
    #: When an event last arrived, or a watermark tick was last written.
    quiet_since: float
    #: ``None`` until the task is set up (restored from its checkpoint, or fresh).
    task: PartitionTask | None = None
    #: Assigned (again), its task not yet set up and the source not yet sent to its offset.
    to_set_up: bool = True
    #: Records processed since the last checkpoint, and when that was saved.
    unsaved: int = 0
    saved_at: float | None = None
    #: The next offset the last checkpoint holds, not yet committed.
    to_commit: int | None = None
    #: The task holds a batch whose outputs are not written yet: never checkpointed.
    dirty: bool = False
    #: The source reads from the task's next offset (sought there, or read on from its
    #: last batch): a batch above that offset skips offsets that hold no record
    #: (transaction markers, compaction), never records.
    in_step: bool = False
    #: The epoch this worker claimed the partition at (with an
    #: :class:`~driftline.consumers.ports.OutputFence`), and whether another worker has
    #: claimed it since: a fenced partition is never checkpointed from here again.
    epoch: int | None = None
    fenced: bool = False
    #: Event-to-Redis latency (seconds, bucketed like lateness).
    latency: DurationHistogram = field(default_factory=DurationHistogram)
    quality_rates: QualityRates = field(default_factory=QualityRates)

    def snapshot(self, now: datetime, clock_s: float) -> dict[str, Any]:
        """The task's snapshot plus what this worker measured of the partition: the latency
        up to the last batch written, how far the watermark trails the wall clock ``now``
        (a stalled source shows), and the quality findings per minute at ``clock_s``."""
        task = self.task
        assert task is not None, "a partition's snapshot needs its task"
        snap = task.snapshot()
        snap["latency_buckets"] = list(self.latency.counts)
        snap["latency_sum_s"] = self.latency.total
        watermark = task.watermark
        snap["watermark_lag_s"] = (
            None if watermark is None else round((now - watermark).total_seconds(), 3)
        )
        snap["quality"]["per_minute"] = self.quality_rates.update(task.quality.rules, clock_s)
        return snap | {"latency_seconds": _quantiles(snap["latency_buckets"])}


class Partitions:
    """The partitions held, by partition. Callers hold :attr:`lock` while they read or
    change them, except where a method says it takes the lock itself."""

    def __init__(self) -> None:
        #: Held while partitions or their tasks change; never around a call to the source.
        self.lock = threading.RLock()
        self._held: dict[int, AssignedPartition] = {}

    def __contains__(self, partition: object) -> bool:
        return partition in self._held

    def __iter__(self) -> Iterator[AssignedPartition]:
        return iter(list(self._held.values()))

    def get(self, partition: int) -> AssignedPartition | None:
        return self._held.get(partition)

    def set_up(self) -> list[AssignedPartition]:
        """The partitions held whose task is set up."""
        return [held for held in self._held.values() if held.task is not None]

    def assign(self, partitions: Iterable[int], now: float) -> None:
        """Hold ``partitions`` (those held already keep their task and figures); each is to
        be set up, and the source's position is no longer known to be the task's."""
        with self.lock:
            for partition in partitions:
                held = self._held.get(partition)
                if held is None:
                    held = self._held[partition] = AssignedPartition(partition, quiet_since=now)
                held.to_set_up = True
                held.in_step = False  # the group may have moved the source's position

    def revoke(self, partitions: Iterable[int]) -> list[AssignedPartition]:
        """Let ``partitions`` go, everything of each at once; return those that were held."""
        with self.lock:
            return [held for p in partitions if (held := self._held.pop(p, None)) is not None]

    def take_to_set_up(self) -> list[int]:
        """The partitions assigned since the last call, in order (each given once)."""
        with self.lock:
            due = sorted(p for p, held in self._held.items() if held.to_set_up)
            for partition in due:
                self._held[partition].to_set_up = False
            return due

    def set_task(
        self, partition: int, task: PartitionTask, now: float, epoch: int | None = None
    ) -> bool:
        """Give ``partition`` its task, saved as of ``now`` (claimed at ``epoch``);
        ``False`` when it is no longer held or already has one."""
        with self.lock:
            held = self._held.get(partition)
            if held is None or held.task is not None:
                return False
            held.task, held.saved_at, held.epoch = task, now, epoch
            return True

    def mark_in_step(self, partition: int, task: PartitionTask | None = None) -> None:
        """The source now reads ``partition`` from its task's next offset (``task``: only
        if that is still the partition's task)."""
        with self.lock:
            held = self._held.get(partition)
            if held is not None and held.task is not None and (task is None or task is held.task):
                held.in_step = True

    def tasks(self) -> dict[int, PartitionTask]:
        """The tasks held now, by partition (a copy: safe against a rebalance)."""
        with self.lock:
            return {p: held.task for p, held in self._held.items() if held.task is not None}

    def quiet(self, limit_s: float, now: float) -> list[int]:
        """The partitions with a task that has seen an event and has been quiet for
        ``limit_s``: each is due a watermark tick, and counts as busy from ``now``."""
        with self.lock:
            due = [
                held
                for held in self._held.values()
                if held.task is not None
                and held.task.max_event_time is not None
                and now - held.quiet_since >= limit_s
            ]
            for held in due:
                held.quiet_since = now
            return [held.partition for held in due]

    def observe_latency(self, predictions: Sequence[Prediction], written: datetime) -> None:
        """Event-to-Redis latency, one value per prediction: from the broker's ingest time
        (``LogAppendTime``) to ``written``, when the write was acknowledged."""
        if not predictions:
            return
        with self.lock:
            histograms: dict[int, DurationHistogram | None] = {}
            for prediction in predictions:
                partition = prediction.partition
                if partition not in histograms:
                    held = self._held.get(partition)
                    histograms[partition] = None if held is None else held.latency
                histogram = histograms[partition]
                if histogram is not None:  # else revoked since: its figures went with it
                    histogram.add((written - prediction.ingest_time).total_seconds())


def _quantiles(buckets: list[int]) -> dict[str, float | None]:
    histogram = DurationHistogram(buckets)
    return {"p50": histogram.quantile(0.5), "p99": histogram.quantile(0.99)}
