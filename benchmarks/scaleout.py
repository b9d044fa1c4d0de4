"""Scale-out: ``driftline consume --processes 1`` against ``--processes 2`` on two partitions.

    python -m benchmarks.scaleout [--samples 100000] [--keys 100000] [--processes 2]
                                  [--json] [--smoke]

Workload (b) is published to a fresh two-partition topic (keyed by entity: the producer
reports where each record went) once per run. Then, in turn:

- ``driftline consume --processes 1 --until-idle 3 --json``: one worker process
  consuming both partitions;
- ``driftline consume --processes 2 --until-idle 3 --json``: two worker processes from
  one command, in one consumer group (one partition each once the group settles; the
  merged summary says how many processes ran and which partitions they processed);
- the limit: the bare River loop (:func:`benchmarks.baselines.bare_loop`) on the whole
  workload in one process, then on each partition's half in two processes at once;
- beside it, the lean loop (:func:`benchmarks.baselines.lean_loop`) the same way: one
  process assigned both partitions, then one process per partition at once. It shares
  the cores with the broker and Redis as the workers do, where the bare loop has them to
  itself, so its scaling says how much of the limit a loop with Kafka and Redis in it
  can reach here (data beside the target, not the target's baseline).

What is counted: a worker run's rate is records / the time from its first prediction to
its last (their ``<ns>:predictions`` stream ids: Redis's clock; the command's summary
gives only each process's whole elapsed time, start-up and the idle wait included, so it
is reported beside, not used); the steady rate counts the middle 80% of the predictions
only (no start-up, group join or uneven tail). A bare-loop run's rate is records / its
slowest process's loop time. Scaling = rate(N) / rate(1) for each, and the scale-out
efficiency, the worker's scaling as a fraction of the bare loop's, is issue 23's figure
(target >= 0.85). Two cores are shared with the broker and Redis in the worker runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from typing import Any

from kafka.partitioner.default import murmur2

from driftline.adapters.settings import Settings

from .baselines import bare_loop, lean_loop
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
from .cpu import CpuMeter
from .workloads import Workload, synthetic

__all__ = ["TARGET", "bare_run", "lean_run", "main", "scaleout"]

TARGET = 0.85
PARTITIONS = 2
IDLE_S = 3.0


def _partition_of(key: bytes, partitions: int) -> int:
    """kafka-python's default partitioner (murmur2, as Java's)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def _worker_run(
    settings: Settings, local_key: LocalKey, processes: int, total: int
) -> dict[str, Any]:
    args = ("--processes", str(processes), "--until-idle", str(IDLE_S), "--json")
    with (
        CpuMeter() as meter,
        WorkerProcess(settings, local_key, *args, name=f"processes-{processes}") as worker,
    ):
        code = worker.wait(timeout_s=900)
        summary = worker.summary()
        if code or summary.get("records", 0) < total:
            raise RuntimeError(f"exit {code}, summary {summary}:\n{worker.log_tail(40)}")
    with closing_redis(settings) as redis:
        times = [ms for ms, _ in prediction_times(redis, settings.namespace)]
    records = summary["records"]
    span_s = (times[-1] - times[0]) / 1000
    low, high = times[len(times) // 10], times[len(times) * 9 // 10]
    return {
        "processes": processes,
        "namespace": settings.namespace,
        "records": records,
        "predictions": len(times),
        "first_to_last_prediction_s": round(span_s, 3),
        "records_per_s": round(records / span_s) if span_s > 0 else 0,
        "busy_cores": meter.busy_cores(times[0] / 1000, times[-1] / 1000),
        "steady_records_per_s": round(0.8 * records / ((high - low) / 1000)) if high > low else 0,
        "command": f"driftline consume {' '.join(args)}",
        "summary_processes": summary.get("processes", 1),
        "partitions": summary.get("partitions"),
        "summary_elapsed_s": summary.get("elapsed_s"),
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
    settings: Settings,
    samples: int,
    keys: int,
    partitions: list[int],
    part: int | None,
    barrier: Any = None,
) -> tuple[int, float]:
    """In a process of its own: the bare loop on workload (b), or on one partition's part
    of it. ``(records, loop seconds)``. With ``barrier`` (shared by the processes of one
    measurement), the loops start together once every process has made its vectors:
    otherwise one process's loop could run while another still builds, and the
    measurement would not be of N loops at once."""
    whole = synthetic(samples, keys, settings.seed)
    events = (
        whole.events
        if part is None
        else [e for e, p in zip(whole.events, partitions, strict=True) if p == part]
    )
    run = bare_loop(
        settings,
        Workload(whole.name, whole.description, events, whole.overrides),
        None if barrier is None else barrier.wait,
    )
    return run.records, run.seconds


def _bare(
    settings: Settings, samples: int, keys: int, partitions: list[int], parts: list[int | None]
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(len(parts)) as pool:
        barrier = manager.Barrier(len(parts))
        done = pool.starmap(
            bare_run, [(settings, samples, keys, partitions, part, barrier) for part in parts]
        )
    records = sum(r for r, _ in done)
    slowest = max(s for _, s in done)
    return {
        "processes": len(parts),
        "records": records,
        "loop_s_by_process": [round(s, 3) for _, s in done],
        "records_per_s": round(records / slowest),
    }


def lean_run(
    settings: Settings, total: int, partitions: list[int], barrier: Any
) -> tuple[int, float, float]:
    """In a process of its own: the lean loop on ``partitions`` of the topic, ``total``
    records; its loop starts once every process of the measurement is set up. Records,
    loop seconds, and the wall-clock time it ended."""
    prefix = f"{settings.namespace}:lean-{'-'.join(map(str, partitions))}"
    run = lean_loop(settings, total, prefix, partitions, barrier.wait)
    return run.records, run.seconds, time.time()


def _lean(settings: Settings, counts: list[int], parts: list[list[int]]) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(len(parts)) as pool, CpuMeter() as meter:
        barrier = manager.Barrier(len(parts))
        done = pool.starmap(
            lean_run, [(settings, n, part, barrier) for n, part in zip(counts, parts, strict=True)]
        )
    records = sum(r for r, _, _ in done)
    slowest = max(s for _, s, _ in done)
    ended = max(end for _, _, end in done)
    return {
        "processes": len(parts),
        "records": records,
        "loop_s_by_process": [round(s, 3) for _, s, _ in done],
        "records_per_s": round(records / slowest),
        "busy_cores": meter.busy_cores(ended - slowest, ended),
    }


def _cpu_bound(runs: dict[str, dict[str, Any]], processes: int, bare: float | None) -> Any:
    """What the machine's cores allow: each pipeline's N-process scaling at most
    ``min(N, cores / busy cores with one process)``, and that over the bare loop's scaling
    (the efficiency the worker could reach with its one-process CPU cost)."""
    cores = os.cpu_count() or 1
    bound: dict[str, Any] = {"cores": cores}
    for name in ("worker", "lean"):
        busy = runs[f"{name}_1"].get("busy_cores")
        scaling = min(processes, cores / busy) if busy else None
        bound[f"{name}_scaling_at_most"] = None if scaling is None else round(scaling, 3)
        bound[f"{name}_efficiency_at_most"] = _ratio(scaling, bare)
    return bound


def scaleout(
    base: Settings,
    local_key: LocalKey,
    samples: int = 100_000,
    *,
    keys: int = 100_000,
    processes: int = PARTITIONS,
) -> dict[str, Any]:
    """``--processes N`` against ``--processes 1`` on an N-partition topic (N at least 2),
    and the bare loop's own N-process scaling; the worker's scaling as a fraction of the
    bare loop's (scale-out efficiency)."""
    processes = max(processes, 2)
    workload = synthetic(samples, keys, base.seed)
    wire = workload.wire()
    total = len(wire)
    overrides = {"partitions": processes, "stream_maxlen": max(base.redis.stream_maxlen, total)}
    runs: dict[str, dict[str, Any]] = {}
    partitions: list[int] = []
    for count in (1, processes):
        settings = fresh_settings(workload.settings(base), **overrides)
        placed = publish(settings, wire)
        assert not partitions or placed == partitions, "the same keys went elsewhere"
        partitions = placed
        runs[f"worker_{count}"] = _worker_run(settings, local_key, count, total)
    runs["lean_1"] = _lean(settings, [total], [list(range(processes))])
    runs[f"lean_{processes}"] = _lean(
        settings, [partitions.count(p) for p in range(processes)], [[p] for p in range(processes)]
    )
    murmur = [_partition_of(key, processes) for key, _ in wire]
    bare_settings = workload.settings(base)
    runs["bare_1"] = _bare(bare_settings, samples, keys, partitions, [None])
    runs[f"bare_{processes}"] = _bare(
        bare_settings, samples, keys, partitions, list(range(processes))
    )

    def scaling(name: str, rate: str = "records_per_s") -> float | None:
        return _ratio(runs[f"{name}_{processes}"][rate], runs[f"{name}_1"][rate])

    worker, bare, lean = scaling("worker"), scaling("bare"), scaling("lean")
    steady = scaling("worker", "steady_records_per_s")
    measured, measured_steady = _ratio(worker, bare), _ratio(steady, bare)
    return {
        "measure": (
            f"records/s of driftline consume --processes 1 and {processes} on a "
            f"{processes}-partition topic, first to last prediction; scaling = "
            f"{processes} / 1; efficiency = worker scaling / bare loop scaling"
        ),
        "processes": processes,
        "workload": workload.description,
        "records": total,
        "records_by_partition": [partitions.count(p) for p in range(processes)],
        "producer_matches_murmur2": murmur == partitions,
        "runs": runs,
        "scaling": {
            "worker": worker,
            "worker_steady": steady,
            "bare_loop": bare,
            "lean_loop": lean,
        },
        "records_per_s": {
            f"{name}_{n}": runs[f"{name}_{n}"]["records_per_s"]
            for name in ("worker", "bare", "lean")
            for n in (1, processes)
        },
        # Data beside the target: the lean loop's own efficiency against the bare loop
        # (how far a loop with Kafka and Redis on the same cores scales here), and the
        # worker's scaling against the lean loop's.
        "lean_loop_efficiency": _ratio(lean, bare),
        "worker_over_lean_scaling": _ratio(worker, lean),
        # The machine's cores busy (every process: workers, broker, Redis) while each ran.
        # A CPU-bound run of one process that keeps b cores busy can scale to at most
        # cores / b with N processes (the same work a record on a machine then full).
        "busy_cores": {name: run.get("busy_cores") for name, run in runs.items()},
        "cpu_bound": _cpu_bound(runs, processes, bare),
        "target": {
            "ratio": "scale-out efficiency: worker scaling / bare loop scaling",
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
    parser.add_argument("--processes", type=int, default=PARTITIONS, help="N, at least 2")
    parser.add_argument("--json", action="store_true", help="one JSON line only")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run?")
    args = parser.parse_args(argv)
    if args.smoke:
        args.samples, args.keys = 2000, 500
    base, local_key = bench_base()
    report = scaleout(base, local_key, args.samples, keys=args.keys, processes=args.processes)
    print(json.dumps(report, indent=None if args.json else 2), file=sys.stdout)
    return report


if __name__ == "__main__":
    main()
