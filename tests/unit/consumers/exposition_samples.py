"""A worker run on the in-memory ports, and its Prometheus exposition parsed back into samples."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from driftline.consumers.worker import WorkerConfig
from driftline.core.learning.costs import CostMatrix
from driftline.core.task.partition import TaskConfig
from tests.unit.consumers.worker_fakes import MemoryCheckpoints, MemoryTopic
from tests.unit.consumers.worker_rig import Rig, publish_flights, task_config


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Any, name: str | None = None) -> dict[tuple[tuple[str, str], ...], float]:
    """The family's samples (those named ``name``) by their labels, the ``namespace`` label
    every driftline series carries left out (tests/unit/adapters/test_prometheus_identity.py
    checks it)."""
    return {
        tuple(sorted((k, v) for k, v in s.labels.items() if k != "namespace")): s.value
        for s in family.samples
        if name is None or s.name == name
    }


def with_challenger_and_costs() -> TaskConfig:
    """The rig's task with a challenger (``fast``) and a cost matrix (FN 5, FP 1): every
    per-model and per-policy series has a sample."""
    return TaskConfig(
        features=task_config().features,
        pending_ttl_s=3600.0,
        idle_watermark_s=None,
        challengers=(("fast", "linear_model.LogisticRegression()"),),
        costs=CostMatrix(false_negative=5.0, false_positive=1.0),
    )


def run_worker(tasks: TaskConfig | None = None) -> Rig:
    topic = MemoryTopic(partitions=2)
    publish_flights(topic, 60, partitions=(0, 1))
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(max_events=200), tasks or task_config())
    rig.run()
    return rig
