"""A partition the consumer stops fetching (:mod:`driftline.consumers.fetching`): noticed
on the loop's turns, told apart from a partition with nothing new, and mended by a new
consumer with nothing lost or learned twice."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import pytest

from driftline.adapters.kafka.renewing import RenewingSource
from driftline.consumers.fetching import FetchWatch
from driftline.consumers.stats import WorkerStats
from driftline.consumers.worker import WorkerConfig
from driftline.core.events.records import InputRecord
from tests.unit.consumers.worker_fakes import MemoryCheckpoints, MemorySource, MemoryTopic
from tests.unit.consumers.worker_rig import Rig, publish_flights, task_config


class Deaf(MemorySource):
    """A consumer that has stopped fetching one partition: its records never come, though
    the broker's end offsets say they are there."""

    def __init__(self, topic: MemoryTopic, deaf_to: int) -> None:
        super().__init__(topic)
        self.deaf_to = deaf_to

    def poll(self, timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        batch = dict(super().poll(timeout_ms, max_records))
        if self.deaf_to in batch:
            self.positions[self.deaf_to] = batch.pop(self.deaf_to)[0].offset  # not handed out
        if not batch:
            self.clock.now += timeout_ms / 1000
        return batch


class Deadline(threading.Event):
    """A stop that comes by itself at ``limit_s`` on the topic's clock (a failing run ends)."""

    def __init__(self, topic: MemoryTopic, limit_s: float) -> None:
        super().__init__()
        self.topic, self.at = topic, topic.clock.now + limit_s

    def is_set(self) -> bool:
        return self.topic.clock.now > self.at or super().is_set()


def test_a_partition_no_longer_fetched_renews_the_consumer_and_nothing_is_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic = MemoryTopic(2)
    publish_flights(topic, 40, partitions=(0, 1))
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(stall_s=10.0), task_config(), ticks=False)
    made: list[MemorySource] = []

    def make() -> MemorySource:
        made.append(Deaf(topic, deaf_to=1) if not made else MemorySource(topic))
        return made[-1]

    source = RenewingSource(make)
    rig.worker.source = source
    worker = rig.run(finished=lambda: True, stop=Deadline(topic, 300.0))
    assert source.renewals == 1 and made[0].closed
    assert worker.stats.fetch_stalls == 1
    assert "partitions [1]: records behind (1: 78) and none fetched for 10 s" in caplog.text
    # every observation predicted once and every outcome learned once, on both partitions
    assert worker.stats.records == topic.end(0) + topic.end(1)
    assert sorted(p.event_id for p in rig.sink.predictions) == sorted(
        f"{p}-{i}" for p in (0, 1) for i in range(40)
    )
    assert worker.stats.waiting_for is None  # fetched again: nothing awaited


def test_a_quiet_partition_with_nothing_behind_is_never_called_stalled() -> None:
    clock, stats = [0.0], WorkerStats()
    watch = FetchWatch(10.0, stats, monotonic=lambda: clock[0])
    asked = []

    def lags() -> dict[int, int]:
        asked.append(clock[0])
        return {0: 0}

    for second in range(0, 35):
        clock[0] = float(second)
        assert watch.turn({0}, (), lags) == []
    assert asked == [10.0, 20.0, 30.0]  # asked once a period, not every turn
    assert stats.fetch_stalls == 0 and stats.waiting_for is None


def test_time_the_loop_spent_away_does_not_count() -> None:
    """A loop held elsewhere (an outage waited out) past the limit starts counting again."""
    clock, stats = [0.0], WorkerStats()
    watch = FetchWatch(10.0, stats, monotonic=lambda: clock[0])
    assert watch.turn({0}, (), lambda: {0: 9}) == []
    clock[0] = 30.0  # one turn 30 s after the last
    assert watch.turn({0}, (), lambda: {0: 9}) == []
    clock[0] = 39.0
    assert watch.turn({0}, (), lambda: {0: 9}) == []
    clock[0] = 40.0
    assert watch.turn({0}, (), lambda: {0: 9}) == [0]


def test_a_broker_that_cannot_tell_the_lag_counts_as_stalled() -> None:
    clock, stats = [0.0], WorkerStats()
    watch = FetchWatch(10.0, stats, monotonic=lambda: clock[0])

    def no_answer() -> dict[int, int]:
        raise TimeoutError("ListOffsets timed out")

    for clock[0] in (0.0, 5.0, 10.0):
        stalled = watch.turn({0, 1}, {1}, no_answer)
    assert stalled == [0]
    assert stats.waiting_for == "records of partitions [0] (the Kafka consumer fetches none)"
    assert stats.waiting_since == 0.0
