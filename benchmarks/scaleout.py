"""Scale-out: one worker process on two partitions against two, one partition each.

    python -m benchmarks.scaleout [--samples 100000] [--keys 100000] [--json] [--smoke]

Workload (b) is published to a fresh two-partition topic (keyed by entity: the producer
reports where each record went) once per run. Then, in turn:

- one ``driftline consume --until-idle 3`` process consuming both partitions;
- two such processes started together in one consumer group (one partition each once
  the group settles; each process's summary says which partitions it processed);
- the limit: the bare River loop (:func:`benchmarks.baselines.bare_loop`) on the whole
  workload in one process, then on each partition's half in two processes at once.

A worker run's rate is records / the time from its first prediction to its last (their
``<ns>:predictions`` stream ids: Redis's clock); the steady rate counts the middle 80% of
the predictions only (no start-up, group join or uneven tail). A bare-loop run's rate is
records / its slowest process's loop time. Scaling = rate(2) / rate(1) for each, and the
worker's scaling as a fraction of the bare loop's is issue 9's figure (target >= 0.85),
reported as data. Two cores are shared with the broker and Redis in the worker runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import sys
from typing import Any

from kafka.partitioner.default import murmur2

from driftline.adapters.settings import Settings

from .baselines import bare_loop
from .common import (
    LocalKey,
    WorkerProcess,
    bench_base,
    closing_redis,
    fresh_settings,
    load,
    prediction_times,
    publish,
)
from .workloads import Workload, synthetic

__all__ = ["TARGET", "bare_run", "main", "scaleout"]

TARGET = 0.85
PARTITIONS = 2
IDLE_S = 3.0


def _partition_of(key: bytes, partitions: int) -> int:
    """kafka-python's default partitioner (murmur2, as Java's)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def _worker_run(
    settings: Settings, local_key: LocalKey, processes: int, total: int
) -> dict[str, Any]:
    with contextlib.ExitStack() as running:
        workers = [
            running.enter_context(
                WorkerProcess(
                    settings, local_key, "--until-idle", str(IDLE_S), "--json", name=f"w{i}"
                )
            )
            for i in range(processes)
        ]
        codes = [worker.wait(timeout_s=900) for worker in workers]
        summaries = [worker.summary() for worker in workers]
        if any(codes) or sum(s.get("records", 0) for s in summaries) < total:
            logs = "\n".join(w.log_tail() for w in workers)
            raise RuntimeError(f"workers exited {codes}, summaries {summaries}:\n{logs}")
    with closing_redis(settings) as redis:
        times = [ms for ms, _ in prediction_times(redis, settings.namespace)]
    records = sum(s["records"] for s in summaries)
    span_s = (times[-1] - times[0]) / 1000
    low, high = times[len(times) // 10], times[len(times) * 9 // 10]
    return {
        "processes": processes,
        "namespace": settings.namespace,
        "records": records,
        "predictions": len(times),
        "first_to_last_prediction_s": round(span_s, 3),
        "records_per_s": round(records / span_s) if span_s > 0 else 0,
        "steady_records_per_s": round(0.8 * records / ((high - low) / 1000)) if high > low else 0,
        "partitions_by_process": [s.get("partitions") for s in summaries],
        "elapsed_s_by_process": [s.get("elapsed_s") for s in summaries],
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` to 3 places; ``None`` when either is missing or zero
    (a tiny run can end within one millisecond of Redis's clock).

    >>> _ratio(3, 2), _ratio(1, 0)
    (1.5, None)
    """
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def bare_run(
    settings: Settings, samples: int, keys: int, partitions: list[int], part: int | None
) -> tuple[int, float]:
    """In a process of its own: the bare loop on workload (b), or on one partition's part
    of it. ``(records, loop seconds)``."""
    whole = synthetic(samples, keys, settings.seed)
    events = (
        whole.events
        if part is None
        else [e for e, p in zip(whole.events, partitions, strict=True) if p == part]
    )
    run = bare_loop(settings, Workload(whole.name, whole.description, events, whole.overrides))
    return run.records, run.seconds


def _bare(
    settings: Settings, samples: int, keys: int, partitions: list[int], parts: list[int | None]
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(parts)) as pool:
        done = pool.starmap(
            bare_run, [(settings, samples, keys, partitions, part) for part in parts]
        )
    records = sum(r for r, _ in done)
    slowest = max(s for _, s in done)
    return {
        "processes": len(parts),
        "records": records,
        "loop_s_by_process": [round(s, 3) for _, s in done],
        "records_per_s": round(records / slowest),
    }


def scaleout(
    base: Settings, local_key: LocalKey, samples: int = 100_000, *, keys: int = 100_000
) -> dict[str, Any]:
    """Two worker processes against one on a two-partition topic, and the bare loop's
    own two-process scaling; the worker's scaling as a fraction of the bare loop's."""
    workload = synthetic(samples, keys, base.seed)
    wire = workload.wire()
    total = len(wire)
    overrides = {"partitions": PARTITIONS, "stream_maxlen": max(base.redis.stream_maxlen, total)}
    runs: dict[str, dict[str, Any]] = {}
    partitions: list[int] = []
    for processes in (1, 2):
        settings = fresh_settings(workload.settings(base), **overrides)
        placed = publish(settings, wire)
        assert not partitions or placed == partitions, "the same keys went elsewhere"
        partitions = placed
        runs[f"worker_{processes}"] = _worker_run(settings, local_key, processes, total)
    murmur = [_partition_of(key, PARTITIONS) for key, _ in wire]
    bare_settings = workload.settings(base)
    runs["bare_1"] = _bare(bare_settings, samples, keys, partitions, [None])
    runs["bare_2"] = _bare(bare_settings, samples, keys, partitions, [0, 1])

    def scaling(name: str, rate: str = "records_per_s") -> float | None:
        return _ratio(runs[f"{name}_2"][rate], runs[f"{name}_1"][rate])

    worker, bare = scaling("worker"), scaling("bare")
    steady = scaling("worker", "steady_records_per_s")
    measured, measured_steady = _ratio(worker, bare), _ratio(steady, bare)
    return {
        "measure": "records/s of 1 and 2 processes on a 2-partition topic; scaling = 2 / 1",
        "workload": workload.description,
        "records": total,
        "records_by_partition": [partitions.count(p) for p in range(PARTITIONS)],
        "producer_matches_murmur2": murmur == partitions,
        "runs": runs,
        "scaling": {"worker": worker, "worker_steady": steady, "bare_loop": bare},
        "target": {
            "ratio": "worker scaling / bare loop scaling",
            "at_least": TARGET,
            "measured": measured,
            "measured_steady": measured_steady,
            "met": measured >= TARGET if measured is not None else None,
        },
        "load_average": load(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="one JSON line only")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run?")
    args = parser.parse_args(argv)
    if args.smoke:
        args.samples, args.keys = 2000, 500
    base, local_key = bench_base()
    report = scaleout(base, local_key, args.samples, keys=args.keys)
    print(json.dumps(report, indent=None if args.json else 2), file=sys.stdout)
    return report


if __name__ == "__main__":
    main()
