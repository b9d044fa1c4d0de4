"""benchmarks.floor: the worker's floor from parts measured alone, and what it allows.

Speed is never asserted: only that the task alone ran on the workload's records, that the
floor is the sum of its parts, and that the best ratio above it is the other pipeline's
time a record over that sum.
"""

from __future__ import annotations

import gc

import pytest

from benchmarks.floor import Alone, alone_us, floor_allows, floor_parts
from benchmarks.workloads import WorkloadName, synthetic
from driftline.adapters.settings import Settings


def test_the_task_and_its_outputs_are_timed_alone_and_the_collector_restored() -> None:
    thresholds = gc.get_threshold()
    workload = synthetic(200, 50, 7, WorkloadName.SYNTHETIC_5K)
    alone = alone_us(workload.settings(Settings()), workload, repeat=2)
    assert 0 < alone.task < 1e6
    assert 0 < alone.outputs < 1e6  # 200 predictions were made into the script's arguments
    assert gc.get_threshold() == thresholds


def test_the_outputs_are_made_as_the_sink_makes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from driftline.adapters.redis_sink.batch import BatchScript

    sent: list[int] = []
    send = BatchScript.send

    def counting(self: BatchScript, rows: list, metrics: list[str]) -> object:
        sent.append(len(rows))
        assert metrics and metrics[0] == "p0"  # the task's snapshot rides with each batch
        return send(self, rows, metrics)

    monkeypatch.setattr(BatchScript, "send", counting)
    workload = synthetic(120, 40, 7, WorkloadName.SYNTHETIC_5K)
    alone_us(workload.settings(Settings()), workload, repeat=1)
    assert sum(sent) == 120  # one row a prediction: every observation's


def test_kafka_python_waits_for_redis_and_confluent_writes_behind() -> None:
    us = {
        "lean_loop": 32.0,
        "worker": 70.0,
        "plain_consumption": 5.0,
        "lean_loop_confluent": 28.0,
        "worker_confluent": 60.0,
        "plain_consumption_confluent": 3.0,
        "quix": 45.0,
    }
    redis = {"worker": 15.0, "worker_confluent": 16.0}
    checkpoints = {"worker": 2.5, "worker_confluent": 2.0}
    parts = floor_parts(us, Alone(25.0, 2.5), redis, checkpoints)
    assert parts["worker"] == {
        "task_alone": 25.0,
        "reading": 5.0,
        "waiting_for_redis": 15.0,
        "outputs": 2.5,
        "checkpoints": 2.5,
        "floor": 50.0,
    }
    assert parts["worker_confluent"] == {
        "task_alone": 25.0,
        "reading": 3.0,
        "outputs": 2.5,
        "checkpoints": 2.0,
        "floor": 32.5,
    }
    assert floor_allows(parts, "worker", "lean_loop", us) == pytest.approx(32 / 50, abs=1e-3)
    assert floor_allows(parts, "worker_confluent", "quix", us) == pytest.approx(45 / 32.5, abs=1e-3)


def test_nothing_is_allowed_for_a_pipeline_that_did_not_run() -> None:
    us = {"lean_loop": 32.0, "worker": 70.0, "plain_consumption": 5.0}
    parts = floor_parts(us, Alone(27.5, 1.0), {}, {})
    assert set(parts) == {"worker"}
    assert parts["worker"]["waiting_for_redis"] == parts["worker"]["checkpoints"] == 0.0
    assert floor_allows(parts, "worker_confluent", "lean_loop_confluent", us) is None
    assert floor_allows(parts, "worker", "quix", us) is None
