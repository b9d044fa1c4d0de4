"""Worker throughput against its baselines, measured in one run on the same records.

    python -m benchmarks.throughput [--flights 20000] [--samples 200000] [--keys 100000]
                                    [--demo-flights 20000] [--processes 2]
                                    [--workloads flights,synthetic,demo,synthetic_5k]
                                    [--json] [--smoke]

For each workload (see :mod:`benchmarks.workloads`: ``flights``, ``synthetic`` over
``--keys`` keys, ``demo``, the demo's configuration, and ``synthetic_5k``, the same
samples over 5,000 keys) the records are published once to a fresh one-partition topic;
then, in turn, on the same broker, Redis and models: the bare River loop (the limit),
plain consumption, the naive pipeline, the lean loop (see :mod:`benchmarks.baselines`),
the Quix Streams baseline on the synthetic workloads (when its module and the bench extra
are there) and the worker end to end with every default on. Rates count records
(observations and outcomes) from the first record to the last; the worker's rate with its
start-up counted is given too, and the worker's floor in parts (the task and its outputs
without Kafka or Redis, reading the records, waiting for Redis, checkpoints:
:mod:`benchmarks.floor`), with the best ratio it leaves each target. Then latency,
start-up, ``driftline consume --processes 1`` and ``--processes N`` beside the bare loop's
own scaling, and memory (each its module).
The ratios are what the README quotes; absolute rates depend on the machine.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from driftline.adapters.endpoints import resolve_endpoints
from driftline.adapters.kafka_clients import make_producer
from driftline.adapters.settings import Settings
from driftline.adapters.topics import prepare_topics
from driftline.consumers.process_tuning import limit_allocator
from driftline.consumers.runner import run_worker, worker_config

from .baselines import (
    Run,
    bare_loop,
    lean_loop,
    lean_loop_confluent,
    naive_pipeline,
    plain_consumption,
    plain_consumption_confluent,
)
from .common import bench_base, frozen_heap, new_namespace, redis_cpu_s
from .floor import alone_us, floor_allows, floor_parts
from .tables import print_tables
from .workloads import Workload, WorkloadName, demo, flights, replay_speed, synthetic

__all__ = ["TARGETS", "main", "measure"]

#: The synthetic workloads: where the Quix Streams baseline runs.
QUIX_WORKLOADS = (WorkloadName.SYNTHETIC, WorkloadName.SYNTHETIC_5K)
ALL_WORKLOADS = tuple(WorkloadName)

#: (numerator, denominator, at least, workloads): issue 23's ratios (issue 9's others,
#: worker / bare loop and worker / naive pipeline, are still printed, as data).
TARGETS: list[tuple[str, str, float, tuple[str, ...]]] = [
    ("worker", "lean_loop", 0.85, ALL_WORKLOADS),
    ("worker_confluent", "lean_loop_confluent", 0.85, ALL_WORKLOADS),
    ("worker_confluent", "quix", 1.25, QUIX_WORKLOADS),
]
#: The worker's time spent checkpointing, at most (every workload).
CHECKPOINT_SHARE = 0.05


def publish_records(settings: Settings, workload: Workload) -> int:
    """Publish the workload's encoded records (with their own timestamps when it has them)
    as fast as the producer goes; all acknowledged."""
    producer = make_producer(settings.kafka)
    none: list[int | None] = [None] * len(workload.events)
    stamps = workload.timestamps or none
    futures = [
        producer.send(settings.topics.events, key=key, value=value, timestamp_ms=stamp)
        for (key, value), stamp in zip(workload.wire(), stamps, strict=True)
    ]
    producer.flush(timeout=300)
    for future in futures:
        future.get(timeout=0)  # raises if a record was not acknowledged
    producer.close(timeout=10)
    return len(futures)


def worker_run(
    settings: Settings, total: int, local_key: Callable[[], bytes | None] | None = None
) -> tuple[Run, Run, dict[str, Any]]:
    """The worker with every default on: steady (first to last batch) and with start-up."""
    endpoints = resolve_endpoints(settings.kafka, settings.redis, lambda: None)
    stop = threading.Event()
    marks: dict[str, float] = {}

    def on_batch(_worker: Any, _predictions: Any) -> None:
        marks["last"] = time.monotonic()

    began = time.monotonic()
    worker = run_worker(
        settings,
        endpoints,
        worker_config(settings, idle_watermark_s=None),
        stop,
        on_batch,
        finished=lambda: True,  # everything was published before the worker started
        local_key=local_key,
    )
    assert worker.stats.records == total, (worker.stats.records, total)
    assert worker.stats.first_batch_at is not None
    steady = Run(worker.stats.records, marks["last"] - worker.stats.first_batch_at)
    whole = Run(worker.stats.records, marks["last"] - began)
    return steady, whole, worker.stats.to_dict()


def measure(
    base: Settings,
    workload: Workload,
    console: Console | None = None,
    local_key: Callable[[], bytes | None] | None = None,
    *,
    worker_only: bool = False,
    confluent: bool = False,
) -> dict[str, Any]:
    """Every pipeline on ``workload``; rates, ratios and the worker's own figures."""
    namespace = new_namespace()
    settings = workload.settings(base).with_overrides(namespace=namespace, partitions=1)
    prepare_topics(settings.kafka, namespace)
    say = console.log if console else (lambda *_: None)
    say(f"{workload.name}: publishing {len(workload.events):,} records ({workload.keys:,} keys)")
    total = publish_records(settings, workload)
    runs: dict[str, Run] = {}
    #: Redis's CPU seconds during each run that writes to it: what its writes cost Redis
    #: (every thread), and how long its main thread ran the run's commands.
    redis_cpu: dict[str, float] = {}
    redis_main: dict[str, float] = {}

    def on_redis(name: str, run: Callable[[], Any]) -> Any:
        every, main = redis_cpu_s(settings)
        done = run()
        every_after, main_after = redis_cpu_s(settings)
        redis_cpu[name], redis_main[name] = every_after - every, main_after - main
        return done

    # The events this process holds are the bench's, not any pipeline's: out of the
    # collector's way for every run alike (the worker tunes the collector on its own too).
    with frozen_heap():
        if not worker_only:
            say(f"{workload.name}: bare loop")
            runs["bare_loop"] = bare_loop(settings, workload)
            say(f"{workload.name}: plain consumption")
            runs["plain_consumption"] = plain_consumption(settings, total)
            say(f"{workload.name}: naive pipeline")
            runs["naive_pipeline"] = on_redis(
                "naive_pipeline", lambda: naive_pipeline(settings, total, f"{namespace}:naive")
            )
            say(f"{workload.name}: lean loop")
            runs["lean_loop"] = on_redis(
                "lean_loop", lambda: lean_loop(settings, total, f"{namespace}:lean")
            )
            # -- the Quix Streams baseline (issue 23, item 2): workloads (b) and (d) --------
            quix = _quix() if workload.name in QUIX_WORKLOADS else None
            if quix is not None and quix.available():
                say(f"{workload.name}: Quix Streams")
                runs["quix"] = on_redis(
                    "quix",
                    lambda: quix.quix_pipeline(settings, total, f"{namespace}:quix", workload),
                )
        say(f"{workload.name}: worker")
        runs["worker"], runs["worker_with_startup"], stats = on_redis(
            "worker", lambda: worker_run(settings, total, local_key)
        )
        if confluent and not worker_only:
            say(f"{workload.name}: plain consumption, lean loop and worker on confluent-kafka")
            runs["plain_consumption_confluent"] = plain_consumption_confluent(settings, total)
            runs["lean_loop_confluent"] = on_redis(
                "lean_loop_confluent",
                lambda: lean_loop_confluent(settings, total, f"{namespace}:lean-confluent"),
            )
            # The worker's topic, group and keys follow its namespace: the same records again.
            fast = settings.with_overrides(kafka_client="confluent", namespace=f"{namespace}c")
            prepare_topics(fast.kafka, fast.namespace)
            publish_records(fast, workload)
            runs["worker_confluent"], _, stats_confluent = on_redis(
                "worker_confluent", lambda: worker_run(fast, total, local_key)
            )
        if worker_only:  # for a profiler: no baselines, no ratios
            return {
                "workload": workload.name,
                "records_per_s": {"worker": round(runs["worker"].rate)},
            }
        say(f"{workload.name}: the task and its outputs alone (the worker's floor)")
        alone = alone_us(settings, workload)
    us = {name: 1e6 / run.rate for name, run in runs.items() if run.rate}
    checkpoint_s = {"worker": stats["checkpoint_s"]}
    if "worker_confluent" in runs:
        checkpoint_s["worker_confluent"] = stats_confluent["checkpoint_s"]
    floors = floor_parts(
        us,
        alone,
        {k: 1e6 * v / total for k, v in redis_main.items()},
        {k: 1e6 * v / total for k, v in checkpoint_s.items()},
    )
    pairs = [
        ("worker", "bare_loop"),
        ("worker", "plain_consumption"),
        ("worker", "naive_pipeline"),
        ("worker", "lean_loop"),
        ("lean_loop", "bare_loop"),
        ("worker_confluent", "lean_loop_confluent"),
        ("worker_confluent", "bare_loop"),
        ("lean_loop_confluent", "bare_loop"),
        ("worker_confluent", "worker"),
        ("worker_confluent", "quix"),
        ("worker", "quix"),
    ]
    ratios = {
        f"{a} / {b}": round(runs[a].rate / runs[b].rate, 3)
        for a, b in pairs
        if a in runs and b in runs
    }
    worker_s = runs["worker_with_startup"].seconds
    replay = (
        {"keeps_up_with": replay_speed(runs["worker"].rate, total, workload.samples)}
        if workload.name == WorkloadName.DEMO
        else {}
    )
    return replay | {
        "workload": workload.name,
        "description": workload.description,
        "records": total,
        "keys": workload.keys,
        "records_per_s": {name: round(run.rate) for name, run in runs.items()},
        # Redis's CPU a record (us) during each run that writes to it: the worker writes a
        # hash and a stream entry a prediction, the lean loop one HSET a key a batch.
        "redis_cpu_us_per_record": {
            name: round(1e6 * seconds / total, 2) for name, seconds in redis_cpu.items()
        },
        "ratios": ratios,
        "checkpoints": {
            "count": stats["checkpoints"],
            "seconds": stats["checkpoint_s"],
            "share_of_worker_time": round(stats["checkpoint_s"] / worker_s, 4),
            "at_most": CHECKPOINT_SHARE,
            "last_bytes": stats["checkpoint_bytes"],
        },
        # The worker's floor: what it cannot do without, each part measured in this run.
        "floor_us_per_record": floors,
        "targets": [
            _target(runs, num, den, floor) | {"floor_allows": floor_allows(floors, num, den, us)}
            for num, den, floor, names in TARGETS
            if workload.name in names
        ],
    }


def _target(runs: dict[str, Run], num: str, den: str, floor: float) -> dict[str, Any]:
    """``num / den`` against ``floor``; measured and met ``None`` when either did not run
    (no confluent-kafka, no Quix Streams): the target is listed all the same."""
    if num not in runs or den not in runs or not runs[den].rate:
        missing = [name for name in (num, den) if name not in runs]
        return {
            "ratio": f"{num} / {den}",
            "at_least": floor,
            "measured": None,
            "met": None,
            "not_run": missing,
        }
    ratio = runs[num].rate / runs[den].rate
    return {
        "ratio": f"{num} / {den}",
        "at_least": floor,
        "measured": round(ratio, 3),
        "met": ratio >= floor,
    }


def _quix() -> Any:
    """:mod:`benchmarks.quix_baseline` (``quix_pipeline``, ``available``), or ``None``
    where that module is not there."""
    try:
        return importlib.import_module(f"{__package__}.quix_baseline")
    except ImportError:
        return None


def _beyond_throughput(
    base: Settings,
    local_key: Callable[[], bytes | None],
    skip: set[str],
    smoke: bool,
    console: Console,
    processes: int = 2,
) -> dict[str, Any]:
    """Latency, start-up, ``--processes`` 1 and N (scale-out) and memory (see their
    modules), each a section; ``skip`` names those left out (``scaleout`` is
    ``processes``)."""
    from .latency import latency
    from .memory import SIZES as MEMORY_SIZES
    from .memory import memory
    from .scaleout import scaleout
    from .startup import startup

    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "latency": lambda: latency(base, local_key, (200,) if smoke else (1000, 5000),
                                   2.0 if smoke else 10.0),
        "startup": lambda: startup(base, local_key, 1 if smoke else 3,
                                   samples=100 if smoke else 2000),
        "processes": lambda: scaleout(base, local_key, 2000 if smoke else 100_000,
                                      keys=500 if smoke else 100_000, processes=processes),
        "memory": lambda: memory(base, local_key, (400, 2000) if smoke else MEMORY_SIZES,
                                 keys=200 if smoke else 100_000),
    }  # fmt: skip
    out: dict[str, Any] = {}
    skip = skip | ({"processes"} if "scaleout" in skip else set())
    for name, run in runs.items():
        if name not in skip:
            console.log(f"{name}")
            out[name] = run()
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--flights", type=int, default=20_000, help="flights events")
    parser.add_argument("--samples", type=int, default=200_000, help="synthetic samples")
    parser.add_argument("--keys", type=int, default=100_000, help="synthetic distinct keys")
    parser.add_argument("--demo-flights", type=int, default=20_000, help="demo's flights")
    parser.add_argument("--workloads", default=",".join(ALL_WORKLOADS))
    parser.add_argument(
        "--processes", type=int, default=2, help="worker processes beside one (scale-out)"
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON")
    parser.add_argument("--worker-only", action="store_true", help="no baselines (profiling)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run?")
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated measurements to leave out: latency,startup,processes,memory",
    )
    parser.add_argument(
        "--no-confluent", action="store_true", help="skip the confluent-kafka pipelines"
    )
    args = parser.parse_args(argv)
    limit_allocator()  # the allocator ``driftline consume`` runs with, for every pipeline
    if args.smoke:
        args.flights, args.samples, args.keys, args.demo_flights = 600, 300, 200, 600
    console = Console(stderr=True, quiet=args.json)
    base, local_key = bench_base()
    confluent = not args.no_confluent and importlib.util.find_spec("confluent_kafka") is not None
    chosen: dict[str, Callable[[], Workload]] = {
        WorkloadName.FLIGHTS: lambda: flights(args.flights, base.seed),
        WorkloadName.SYNTHETIC: lambda: synthetic(args.samples, args.keys, base.seed),
        WorkloadName.DEMO: lambda: demo(args.demo_flights, base.seed),
        WorkloadName.SYNTHETIC_5K: lambda: synthetic(
            args.samples, args.keys if args.smoke else 5000, base.seed, WorkloadName.SYNTHETIC_5K
        ),
    }
    names = args.workloads.split(",")
    unknown = set(names) - set(chosen)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}: choose from {list(chosen)}")
    skip = set(filter(None, args.skip.split(",")))
    results = [
        measure(
            base,
            chosen[name](),
            console,
            local_key,
            worker_only=args.worker_only,
            confluent=confluent,
        )
        for name in names
    ]
    report: dict[str, Any] = {"results": results}
    if not args.worker_only:
        report |= _beyond_throughput(base, local_key, skip, args.smoke, console, args.processes)
    if not (args.json or args.worker_only):
        print_tables(report, CHECKPOINT_SHARE)
    print(json.dumps(report, indent=None if args.json else 2), file=sys.stdout)
    return report


if __name__ == "__main__":
    main()
