"""benchmarks.floor: the worker's floor from parts measured alone, and what it allows.

Speed is never asserted: only that the task alone ran on the workload's records, that the
floor is the sum of its parts, and that the best ratio above it is the other pipeline's
time a record over that sum.
"""

from __future__ import annotations

import gc

import pytest

from benchmarks.floor import floor_allows, floor_parts, task_alone_us
from benchmarks.workloads import WorkloadName, synthetic
from driftline.adapters.settings import Settings


def test_the_task_alone_is_timed_and_the_collector_restored_after() -> None:
    thresholds = gc.get_threshold()
    workload = synthetic(200, 50, 7, WorkloadName.SYNTHETIC_5K)
    us = task_alone_us(workload.settings(Settings()), workload, repeat=2)
    assert 0 < us < 1e6
    assert gc.get_threshold() == thresholds


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
    parts = floor_parts(us, 27.5, redis)
    assert parts["worker"] == {
        "task_alone": 27.5,
        "reading": 5.0,
        "waiting_for_redis": 15.0,
        "floor": 47.5,
    }
    assert parts["worker_confluent"] == {"task_alone": 27.5, "reading": 3.0, "floor": 30.5}
    assert floor_allows(parts, "worker", "lean_loop", us) == pytest.approx(32 / 47.5, abs=1e-3)
    assert floor_allows(parts, "worker_confluent", "quix", us) == pytest.approx(45 / 30.5, abs=1e-3)


def test_nothing_is_allowed_for_a_pipeline_that_did_not_run() -> None:
    us = {"lean_loop": 32.0, "worker": 70.0, "plain_consumption": 5.0}
    parts = floor_parts(us, 27.5, {})
    assert set(parts) == {"worker"}
    assert parts["worker"]["waiting_for_redis"] == 0.0
    assert floor_allows(parts, "worker_confluent", "lean_loop_confluent", us) is None
    assert floor_allows(parts, "worker", "quix", us) is None
