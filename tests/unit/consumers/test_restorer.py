"""driftline.consumers.restorer: a held partition's task comes from its checkpoint or is
fresh; a checkpoint store outage is waited out; a revoked partition gets no task."""

from __future__ import annotations

import logging

import pytest

from driftline.consumers.partitions import Partitions
from driftline.consumers.restorer import TaskRestorer
from driftline.consumers.retry import Retry
from driftline.consumers.stats import WorkerStats
from tests.unit.consumers.worker_fakes import Clock, MemoryFence, StubTaskStore


def restorer(store: StubTaskStore, partitions: Partitions) -> tuple[TaskRestorer, list[float]]:
    stats, slept = WorkerStats(), []
    retry = Retry(stats, first_s=0.1, max_s=1.0, sleep=slept.append)
    return TaskRestorer(partitions, store, retry, stats, Clock(7.0)), slept  # type: ignore[arg-type]


def test_tasks_come_from_their_checkpoints_or_fresh() -> None:
    partitions = Partitions()
    partitions.assign({0, 1}, now=0.0)
    made, _ = restorer(StubTaskStore({0: 40}), partitions)
    tasks = made.restore([0, 1])
    assert [(t.partition, t.next_offset) for t in tasks] == [(0, 40), (1, None)]
    assert made.stats.restored == 1
    assert partitions.tasks() == {0: tasks[0], 1: tasks[1]}
    held = partitions.get(0)
    assert held is not None and held.saved_at == 7.0  # as saved as its checkpoint
    assert made.restore([0, 1]) == []  # set up once


def test_a_checkpoint_store_outage_is_waited_out() -> None:
    partitions = Partitions()
    partitions.assign({0}, now=0.0)
    made, slept = restorer(StubTaskStore({0: 40}, down=3), partitions)
    [task] = made.restore([0])
    assert task.next_offset == 40 and len(slept) == 3 and made.stats.outages == 1


def test_a_partition_revoked_meanwhile_gets_no_task(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="driftline.consumers.restorer")
    partitions = Partitions()
    partitions.assign({0}, now=0.0)
    store = StubTaskStore({0: 40})
    made, _ = restorer(store, partitions)
    original = store.restore

    def revoked_while_reading(partition: int) -> object:
        partitions.revoke({partition})  # the rebalance callback, on another thread
        return original(partition)

    store.restore = revoked_while_reading  # type: ignore[method-assign]
    assert made.restore([0]) == [] and partitions.tasks() == {}
    assert "partition 0 was revoked before its batch: not restored" in caplog.text


def test_each_task_set_up_claims_its_partition_before_reading_back() -> None:
    partitions = Partitions()
    partitions.assign({0, 1}, now=0.0)
    store = StubTaskStore({0: 40})
    made, _ = restorer(store, partitions)
    made.fence = fence = MemoryFence({0: 2})
    seen: list[str] = []
    original = made._read_back

    def read_back(partition: int, task: object) -> None:
        seen.append(f"read back {partition} at epoch {fence.claimed.get(partition)}")
        original(partition, task)  # type: ignore[arg-type]

    made._read_back = read_back  # type: ignore[method-assign]
    made.restore([0, 1])
    assert seen == ["read back 0 at epoch 3", "read back 1 at epoch 1"]
    assert [partitions.get(p).epoch for p in (0, 1)] == [3, 1]  # type: ignore[union-attr]
