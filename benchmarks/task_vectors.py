"""The models' own calls in a task, recorded to be replayed alone: the demo's bare loop.

The demo's features (the flights contract, the label history of five groups, the
departures boards) are the task's to build; the baselines' featurizer does not build them
all. So the bare loop of workload (c) replays what the models were asked: one task
(:class:`~driftline.core.task.partition.PartitionTask`, the workload's
:class:`~driftline.core.task.partition.TaskConfig`) handles every record in polls of the
worker's size, untimed, as :mod:`benchmarks.flights_model` does, and each vector its
ensemble predicts on and each (vector, label) it learns is kept in order. Replayed, every
model of the task makes those calls and nothing else: the models' share of the task.

>>> steps: list[Step] = [(True, {"x": 1.0}, None), (False, {"x": 1.0}, True)]
>>> [is_observation for is_observation, _, _ in steps]
[True, False]
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from driftline.adapters.settings import Settings
from driftline.core.events.records import InputRecord
from driftline.core.learning.ensemble import Ensemble
from driftline.core.learning.pending import PendingEntry
from driftline.core.task.partition import PartitionTask

from .workloads import Workload

__all__ = ["Step", "input_records", "polls", "task_steps"]

#: ``(is_observation, x, label)``: a prediction on ``x``, or learning ``label`` from it.
Step = tuple[bool, dict[str, Any], Any]


def input_records(workload: Workload) -> list[InputRecord]:
    """The workload's records as one partition's, with its timestamps (now without)."""
    now = round(datetime.now(UTC).timestamp() * 1000)
    stamps = workload.timestamps or [now] * len(workload.events)
    return [
        InputRecord(0, offset, key, value, stamp)
        for offset, ((key, value), stamp) in enumerate(zip(workload.wire(), stamps, strict=True))
    ]


def polls(records: list[InputRecord], size: int) -> Iterator[list[InputRecord]]:
    """``records`` in polls of ``size``, as the worker is handed them."""
    for start in range(0, len(records), size):
        yield records[start : start + size]


class _Recorder:
    """Stands in for an ensemble's two calls: keeps the step, then makes the call."""

    def __init__(self, ensemble: Ensemble, steps: list[Step]) -> None:
        self.predict = ensemble.predict_one
        self.learn = ensemble.learn_one
        self.steps = steps

    def predict_one(self, x: dict[str, Any]) -> Any:
        self.steps.append((True, x, None))
        return self.predict(x)

    def learn_one(self, entry: PendingEntry, label: Any, *args: Any, **kwargs: Any) -> Any:
        if entry.learn:  # an entry only scored (late, predict-only) is learned by no model
            self.steps.append((False, entry.x, label))
        return self.learn(entry, label, *args, **kwargs)


def task_steps(settings: Settings, workload: Workload) -> list[Step]:
    """Every call the task's ensemble made on ``workload``'s records, in order."""
    task = PartitionTask(0, settings.task_config())
    steps: list[Step] = []
    recorder = _Recorder(task.ensemble, steps)
    task.ensemble.predict_one = recorder.predict_one  # type: ignore[method-assign]
    task.ensemble.learn_one = recorder.learn_one  # type: ignore[method-assign]
    for poll in polls(input_records(workload), settings.worker.max_poll_records):
        task.process(poll, datetime.fromtimestamp(poll[-1].timestamp_ms / 1000, UTC))
    return steps
