"""The worker's floor on a workload: the work it cannot do without, each part measured in
the same run (alone where it can be), and the best ratio each target could reach above it.

Issue 23 asks the worker, with every default on, for 0.85 of the lean loop and (on
confluent-kafka) 1.25 of Quix Streams. Where a target is missed, this says whether it is
within reach of the worker as it must be, or beyond it, from figures of the same run:

- **the task alone**: :class:`~driftline.core.task.partition.PartitionTask` on the
  workload's records in polls of the worker's size, no Kafka and no Redis, under the
  collector settings the worker runs with, best of ``repeat`` runs (µs a record);
- **reading the records**: plain consumption with the same client (µs a record);
- **waiting for Redis**, on kafka-python only: the worker writes each batch's outputs
  and its checkpoints and waits for the reply, so Redis's main thread's CPU during the
  worker's run is time its own thread stands still. On confluent-kafka the writes go
  behind the next batch (:mod:`driftline.consumers.write_behind`) and are left out;
- **making the outputs**: each poll's predictions and the task's metrics snapshot made
  into the batch script's arguments, as the worker's sink makes them (the key schema's
  hash and stream entry a prediction), with Redis's reply stubbed: timed alone, in the
  same passes as the task (µs a record);
- **checkpoints**: the seconds the worker's own run spent checkpointing (exactly-once
  recovery; the checkpoint target allows up to 5% of the worker's time), a record. This
  part is timed in the worker, not alone. Redis's share of it is counted in the wait
  too, which is small: storing checkpoints was 23 ms of Redis's 4.7 s main-thread time
  on a worker run of synthetic_5k (``INFO commandstats``, ``docs/performance.md``).

The floor is their sum. It is still low: the client's own waits, the task's slowdown in
place and the cores the broker and Redis take from the worker are left out. A target
whose best ratio over the floor (the other pipeline's time a record over the floor) is
below the target cannot be met by driftline's loop around the task; only a cheaper task
(or cheaper outputs) could.

>>> us = {"lean_loop": 30.0, "worker": 60.0, "plain_consumption": 5.0}
>>> alone = Alone(task=22.0, outputs=3.0)
>>> parts = floor_parts(us, alone, redis_main_us={"worker": 8.0}, checkpoint_us={"worker": 2.0})
>>> parts["worker"]  # doctest: +NORMALIZE_WHITESPACE
{'task_alone': 22.0, 'reading': 5.0, 'waiting_for_redis': 8.0, 'outputs': 3.0,
 'checkpoints': 2.0, 'floor': 40.0}
>>> floor_allows(parts, "worker", "lean_loop", us)
0.75
>>> floor_allows(parts, "worker_confluent", "quix", us) is None
True
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from driftline.adapters.settings import Settings
from driftline.consumers.process_tuning import steady_collector
from driftline.consumers.runner import redis_sink
from driftline.core.task.outbox import TaskOutput
from driftline.core.task.partition import PartitionTask

from .defaults_cost import task_seconds
from .task_vectors import input_records
from .workloads import Workload

__all__ = ["Alone", "alone_us", "floor_allows", "floor_parts"]

#: For each worker pipeline: its reading baseline, and whether it waits for its writes.
WORKERS = {
    "worker": ("plain_consumption", True),
    "worker_confluent": ("plain_consumption_confluent", False),
}


class Alone(NamedTuple):
    """The parts timed alone, µs a record: the task's ``process``, and making the outputs
    of each call (predictions and snapshot into the batch script's arguments)."""

    task: float
    outputs: float


class _Replied:
    """Stands in for the sink's Redis client: each script call is answered at once, as if
    every hash were written (what Redis itself does is the wait, measured in the run)."""

    def register_script(self, body: str) -> Any:
        return self._call

    @staticmethod
    def _call(keys: list[str], args: list[Any]) -> list[Any]:
        return [len(keys), [], 1, 1]


def alone_us(settings: Settings, workload: Workload, repeat: int = 2) -> Alone:
    """Microseconds a record of a fresh task over the workload's records and of making its
    outputs, each the best of ``repeat`` passes, under the worker's collector settings."""
    records = input_records(workload)
    sink = redis_sink(settings, _Replied())
    task_best = outputs_best = making = float("inf")

    def make(task: PartitionTask, out: TaskOutput) -> None:
        nonlocal making
        began = time.perf_counter()
        sink.write(out.predictions, [task.snapshot()])
        making += time.perf_counter() - began

    with steady_collector():
        for _ in range(repeat):
            making = 0.0
            task_best = min(task_best, task_seconds(settings, records, make))
            outputs_best = min(outputs_best, making)
    return Alone(1e6 * task_best / len(records), 1e6 * outputs_best / len(records))


def floor_parts(
    us_per_record: dict[str, float],
    alone: Alone,
    redis_main_us: dict[str, float],
    checkpoint_us: dict[str, float],
) -> dict[str, dict[str, float]]:
    """The floor of each worker pipeline that ran with its reading baseline, in parts."""
    parts: dict[str, dict[str, float]] = {}
    for worker, (reading, waits) in WORKERS.items():
        if worker not in us_per_record or reading not in us_per_record:
            continue
        shown = {"task_alone": alone.task, "reading": us_per_record[reading]}
        if waits:
            shown["waiting_for_redis"] = redis_main_us.get(worker, 0.0)
        shown |= {"outputs": alone.outputs, "checkpoints": checkpoint_us.get(worker, 0.0)}
        parts[worker] = {k: round(v, 2) for k, v in shown.items()}
        parts[worker]["floor"] = round(sum(shown.values()), 2)
    return parts


def floor_allows(
    parts: dict[str, dict[str, float]], num: str, den: str, us_per_record: dict[str, float]
) -> float | None:
    """The best ``num / den`` the floor of ``num`` leaves: ``den``'s time a record over
    that floor (``None`` when either was not measured)."""
    if num not in parts or den not in us_per_record:
        return None
    return round(us_per_record[den] / parts[num]["floor"], 3)
