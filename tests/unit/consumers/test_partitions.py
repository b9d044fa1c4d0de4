"""driftline.consumers.partitions: one object per partition held, made on assignment and
dropped whole on revocation, with the figures measured on the worker's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.consumers.partitions import AssignedPartition, Partitions, QualityRates
from driftline.core.events.records import Prediction
from tests.unit.consumers.worker_fakes import StubTask

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def prediction(partition: int, ingest: datetime, offset: int = 0) -> Prediction:
    return Prediction(
        key="k",
        event_id=f"e{offset}",
        partition=partition,
        offset=offset,
        event_time=ingest,
        ingest_time=ingest,
        predicted_time=ingest,
        prediction=True,
        probabilities={True: 0.5, False: 0.5},
        model_version=1,
    )


def busy(partitions: Partitions, partition: int) -> AssignedPartition:
    """A held partition with a task and some of everything the loop keeps about it."""
    partitions.assign({partition}, now=5.0)
    assert partitions.set_task(partition, StubTask(partition, 40), now=6.0)  # type: ignore[arg-type]
    held = partitions.get(partition)
    assert held is not None
    held.unsaved, held.to_commit, held.dirty, held.in_step = 12, 40, True, True
    held.latency.add(0.02)
    held.quality_rates.update({"completeness/missing": 1}, now=0.0)
    return held


def test_a_revoke_drops_everything_of_a_partition_at_once() -> None:
    partitions = Partitions()
    busy(partitions, 0)
    busy(partitions, 1)
    dropped = partitions.revoke({1, 9})
    assert [held.partition for held in dropped] == [1]
    assert dropped[0].unsaved == 12 and dropped[0].to_commit == 40  # went with it
    assert 1 not in partitions and sorted(partitions.tasks()) == [0]
    partitions.assign({1}, now=50.0)  # back again: nothing of before
    again = partitions.get(1)
    assert again is not None and again.task is None
    assert (again.unsaved, again.to_commit, again.dirty, again.in_step) == (0, None, False, False)
    assert again.latency.count == 0 and again.quality_rates.since is None
    assert again.quiet_since == 50.0


def test_an_assignment_of_a_held_partition_keeps_its_task_but_not_its_position() -> None:
    partitions = Partitions()
    held = busy(partitions, 0)
    partitions.take_to_set_up()
    partitions.assign({0}, now=70.0)
    assert partitions.get(0) is held and held.task is not None and held.unsaved == 12
    assert not held.in_step  # the group may have moved the source
    assert held.quiet_since == 5.0
    assert partitions.take_to_set_up() == [0]


def test_partitions_are_set_up_once_each_and_only_while_held() -> None:
    partitions = Partitions()
    partitions.assign({2, 0, 1}, now=1.0)
    assert partitions.take_to_set_up() == [0, 1, 2]
    assert partitions.take_to_set_up() == []
    first, second = StubTask(0), StubTask(0)
    assert partitions.set_task(0, first, now=3.0)  # type: ignore[arg-type]
    assert not partitions.set_task(0, second, now=4.0)  # type: ignore[arg-type]
    assert partitions.tasks() == {0: first}
    held = partitions.get(0)
    assert held is not None and held.saved_at == 3.0
    partitions.revoke({1})
    assert not partitions.set_task(1, StubTask(1), now=5.0)  # type: ignore[arg-type]
    assert [held.partition for held in partitions.set_up()] == [0]


def test_only_a_set_up_partition_is_put_in_step_and_only_by_its_own_task() -> None:
    partitions = Partitions()
    partitions.assign({0}, now=1.0)
    partitions.mark_in_step(0)
    held = partitions.get(0)
    assert held is not None and not held.in_step  # no task yet
    task = StubTask(0)
    partitions.set_task(0, task, now=1.0)  # type: ignore[arg-type]
    partitions.mark_in_step(0, StubTask(0))  # type: ignore[arg-type]  # another task's seek
    assert not held.in_step
    partitions.mark_in_step(0, task)  # type: ignore[arg-type]
    assert held.in_step
    partitions.mark_in_step(7)  # not held: nothing happens


def test_quiet_partitions_with_events_are_due_a_tick_and_count_as_busy_after_it() -> None:
    partitions = Partitions()
    partitions.assign({0, 1, 2}, now=0.0)
    for p in (0, 1):
        partitions.set_task(p, StubTask(p), now=0.0)  # type: ignore[arg-type]
    tasks: dict[int, Any] = partitions.tasks()
    tasks[0].max_event_time = T0  # partition 1 has seen no event; 2 has no task
    assert partitions.quiet(10.0, now=9.0) == []
    assert partitions.quiet(10.0, now=10.0) == [0]
    assert partitions.quiet(10.0, now=15.0) == []  # ticked at 10: quiet since then
    assert partitions.quiet(10.0, now=20.0) == [0]


def test_latency_is_counted_for_partitions_held_only() -> None:
    partitions = Partitions()
    partitions.assign({0}, now=0.0)
    written = T0 + timedelta(milliseconds=30)
    partitions.observe_latency([prediction(0, T0), prediction(0, T0), prediction(3, T0)], written)
    held = partitions.get(0)
    assert held is not None and held.latency.count == 2
    assert abs(held.latency.total - 0.06) < 1e-9
    assert partitions.get(3) is None  # revoked before its write was acknowledged: no figures


def test_a_snapshot_carries_what_the_worker_measured_of_its_partition() -> None:
    task = StubTask(0, 8)
    task.watermark = T0
    task.quality.rules = {"accuracy/range": 2}
    held = AssignedPartition(0, quiet_since=0.0, task=task)  # type: ignore[arg-type]
    held.latency.add(0.03)
    snap = held.snapshot(T0 + timedelta(seconds=2.5), clock_s=0.0)
    assert snap["partition"] == 0 and snap["next_offset"] == 8
    assert sum(snap["latency_buckets"]) == 1 and snap["latency_sum_s"] == 0.03
    # one value in the 20-50 ms bucket: interpolated within it, as histogram_quantile does
    assert snap["latency_seconds"] == pytest.approx({"p50": 0.035, "p99": 0.0497})
    assert snap["watermark_lag_s"] == 2.5
    assert snap["quality"]["per_minute"] == {}  # its first minute begins
    task.quality.rules = {"accuracy/range": 32}
    later = held.snapshot(T0, clock_s=120.0)
    assert later["quality"]["per_minute"] == {"accuracy/range": 15.0}


def test_quality_rates_keep_the_last_whole_minute() -> None:
    rates = QualityRates()
    assert rates.update({"a": 1}, now=0.0) == {}
    assert rates.update({"a": 61, "b": 3}, now=60.0) == {"a": 60.0, "b": 3.0}
    assert rates.update({"a": 90, "b": 3}, now=90.0) == {"a": 60.0, "b": 3.0}  # half a minute
    assert rates.update({"a": 91, "b": 3}, now=120.0) == {"a": 30.0}  # b found nothing
