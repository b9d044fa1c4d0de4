"""The worker's floor on a workload: the work it cannot do without, each part measured
alone in the same run, and the best ratio each target could reach above it.

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
  behind the next batch (:mod:`driftline.consumers.write_behind`) and are left out.

The floor is their sum, and it is low on purpose: the outputs' encoding, the checkpoints'
sealing and the client's own waits are left out. A target whose best ratio over the floor
(the other pipeline's time a record over the floor) is below the target cannot be met by
driftline's loop around the task; only a cheaper task could.

>>> us = {"lean_loop": 30.0, "worker": 60.0, "plain_consumption": 5.0}
>>> parts = floor_parts(us, task_us=25.0, redis_main_us={"worker": 10.0})
>>> parts["worker"]
{'task_alone': 25.0, 'reading': 5.0, 'waiting_for_redis': 10.0, 'floor': 40.0}
>>> floor_allows(parts, "worker", "lean_loop", us)
0.75
>>> floor_allows(parts, "worker_confluent", "quix", us) is None
True
"""

from __future__ import annotations

from driftline.adapters.settings import Settings
from driftline.consumers.process_tuning import steady_collector

from .defaults_cost import task_seconds
from .task_vectors import input_records
from .workloads import Workload

__all__ = ["floor_allows", "floor_parts", "task_alone_us"]

#: For each worker pipeline: its reading baseline, and whether it waits for its writes.
WORKERS = {
    "worker": ("plain_consumption", True),
    "worker_confluent": ("plain_consumption_confluent", False),
}


def task_alone_us(settings: Settings, workload: Workload, repeat: int = 2) -> float:
    """Microseconds a record of a fresh task over the workload's records, best of
    ``repeat``: ``process`` alone, under the worker's collector settings."""
    records = input_records(workload)
    with steady_collector():
        best = min(task_seconds(settings, records) for _ in range(repeat))
    return 1e6 * best / len(records)


def floor_parts(
    us_per_record: dict[str, float], task_us: float, redis_main_us: dict[str, float]
) -> dict[str, dict[str, float]]:
    """The floor of each worker pipeline that ran with its reading baseline, in parts."""
    parts: dict[str, dict[str, float]] = {}
    for worker, (reading, waits) in WORKERS.items():
        if worker not in us_per_record or reading not in us_per_record:
            continue
        redis = redis_main_us.get(worker, 0.0) if waits else 0.0
        shown = {"task_alone": task_us, "reading": us_per_record[reading]}
        if waits:
            shown["waiting_for_redis"] = redis
        parts[worker] = {k: round(v, 2) for k, v in shown.items()}
        parts[worker]["floor"] = round(task_us + us_per_record[reading] + redis, 2)
    return parts


def floor_allows(
    parts: dict[str, dict[str, float]], num: str, den: str, us_per_record: dict[str, float]
) -> float | None:
    """The best ``num / den`` the floor of ``num`` leaves: ``den``'s time a record over
    that floor (``None`` when either was not measured)."""
    if num not in parts or den not in us_per_record:
        return None
    return round(us_per_record[den] / parts[num]["floor"], 3)
