"""What each default costs: the task alone on a workload, with every default on, then with
each one off in turn, beside the models' own calls on the same vectors.

    python -m benchmarks.defaults_cost [--workloads synthetic_5k,demo,flights]
                                       [--samples 50000] [--demo-flights 10000]
                                       [--flights 20000] [--repeat 3] [--json]
    python -m benchmarks.defaults_cost --task-seconds WORKLOAD [--samples ...]  (one run)

No Kafka and no Redis: a :class:`~driftline.core.task.partition.PartitionTask` handles the
workload's encoded records in polls of the worker's size (decode, admission, features,
models, metrics, monitors), as the worker's thread does between a poll and a write. Each
configuration runs ``--repeat`` times, interleaved, and the best time is kept (the machine
is shared: the best run is the least disturbed). The models' own calls on the same
vectors, made beforehand (the bench's bare loop, :func:`benchmarks.baselines.bare_loop`),
are the floor. When the core is compiled (``make compile``), the same task with every
default on runs in a process of its own on the pure-Python core too
(``DRIFTLINE_PURE_CORE=1``), interleaved with the rest: what compiling gains, in one run.

Issue 23 asks the worker for 0.85 of the lean loop: driftline's bookkeeping at most 15%
over a loop that has none. This table says what each default's share of that budget is,
in microseconds per record, so the target can be weighed against what the defaults do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from driftline.adapters.settings import Settings
from driftline.core.compiled import PURE_VARIABLE, recorded_digests
from driftline.core.events.records import InputRecord
from driftline.core.task.outbox import TaskOutput
from driftline.core.task.partition import PartitionTask

from .baselines import bare_loop
from .common import frozen_heap
from .task_vectors import input_records, polls
from .workloads import Workload, WorkloadName, demo, flights, synthetic

__all__ = ["PURE", "VARIANTS", "main", "measure"]

#: The row of the task on the pure-Python core (only when the core is compiled).
PURE = "every default on, pure-Python core"

#: Each default that can be turned off, and the settings that turn it off.
VARIANTS: dict[str, dict[str, Any]] = {
    "every default on": {},
    "without feature drift (PSI)": {"drift_features": "off"},
    "without concept drift (ADWIN on errors)": {"drift_concept": "off"},
    "without label drift (ADWIN on labels)": {"drift_labels": "off"},
    "without threshold tuning": {"tune_threshold": False},
    "without windowed metrics (1 h, 1 d)": {"metric_windows_s": ()},
    "without all five": {
        "drift_features": "off",
        "drift_concept": "off",
        "drift_labels": "off",
        "tune_threshold": False,
        "metric_windows_s": (),
    },
}


def task_seconds(
    settings: Settings,
    records: list[InputRecord],
    then: Callable[[PartitionTask, TaskOutput], None] | None = None,
) -> float:
    """One fresh task over ``records`` in the worker's polls: seconds in ``process``
    (``then``, untimed here, is handed the task and each call's output after it)."""
    task = PartitionTask(0, settings.task_config())
    spent = 0.0
    for poll in polls(records, settings.worker.max_poll_records):
        at = datetime.fromtimestamp(poll[-1].timestamp_ms / 1000, UTC)
        began = time.perf_counter()
        out = task.process(poll, at)
        spent += time.perf_counter() - began
        if then is not None:
            then(task, out)
    return spent


def pure_seconds(workload: str, samples: int, demo_flights: int, events: int) -> float:
    """The task with every default on, in a process whose core is imported as source."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.defaults_cost", "--task-seconds", workload,
         "--samples", str(samples), "--demo-flights", str(demo_flights),
         "--flights", str(events)],
        env=os.environ | {PURE_VARIABLE: "1"},
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )  # fmt: skip
    return float(done.stdout.split()[-1])


def measure(
    base: Settings, workload: Workload, repeat: int, pure: Callable[[], float] | None = None
) -> dict[str, Any]:
    """Microseconds per record of the task under each variant, and of its models alone;
    with ``pure`` (seconds of the same task on the pure-Python core), that too."""
    settings = workload.settings(base)
    records = input_records(workload)

    def variant(changes: dict[str, Any]) -> Callable[[], float]:
        changed = settings.with_overrides(**changes)
        return lambda: task_seconds(changed, records)

    runs = {name: variant(changes) for name, changes in VARIANTS.items()}
    # the bench's bare loop: the models' calls on vectors made beforehand (untimed)
    runs["the models' own calls alone"] = lambda: bare_loop(settings, workload).seconds
    if pure is not None:
        runs[PURE] = pure
    best = dict.fromkeys(runs, float("inf"))
    with frozen_heap():
        for _ in range(repeat):  # interleaved: a busy spell hits every variant alike
            for name, run in runs.items():
                best[name] = min(best[name], run())
    per_record = {name: 1e6 * seconds / len(records) for name, seconds in best.items()}
    every = per_record["every default on"]
    return {
        "workload": workload.name,
        "records": len(records),
        "us_per_record": {name: round(us, 2) for name, us in per_record.items()},
        "saved_us_per_record": {
            name: round(every - us, 2)
            for name, us in per_record.items()
            if name != "every default on"
        },
    }


def _table(results: list[dict[str, Any]]) -> Table:
    table = Table(title="the task alone: microseconds per record (saved against every default on)")
    table.add_column("configuration")
    for result in results:
        table.add_column(f"{result['workload']} ({result['records']:,} records)", justify="right")
    for name in results[0]["us_per_record"]:
        cells = []
        for result in results:
            us = result["us_per_record"][name]
            saved = result["saved_us_per_record"].get(name)
            cells.append(f"{us:.1f}" + ("" if saved is None else f" ({saved:+.1f})"))
        table.add_row(name, *cells)
    return table


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workloads", default="synthetic_5k,demo,flights")
    parser.add_argument("--samples", type=int, default=50_000, help="synthetic samples")
    parser.add_argument("--demo-flights", type=int, default=10_000)
    parser.add_argument("--flights", type=int, default=20_000, help="flights events")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print only the JSON")
    parser.add_argument("--task-seconds", metavar="WORKLOAD", help="one run, every default on")
    args = parser.parse_args(argv)
    base = Settings()
    chosen: dict[str, Callable[[], Workload]] = {
        WorkloadName.SYNTHETIC: lambda: synthetic(args.samples, 100_000, base.seed),
        WorkloadName.SYNTHETIC_5K: lambda: synthetic(
            args.samples, 5_000, base.seed, name=WorkloadName.SYNTHETIC_5K
        ),
        WorkloadName.DEMO: lambda: demo(args.demo_flights, base.seed),
        WorkloadName.FLIGHTS: lambda: flights(args.flights, base.seed),
    }
    if args.task_seconds:  # one run of the task, every default on (the pure-core row)
        workload = chosen[args.task_seconds]()
        seconds = task_seconds(workload.settings(base), input_records(workload))
        print(json.dumps({"workload": workload.name, "seconds": seconds}), seconds)
        return {"seconds": seconds}
    compiled = bool(recorded_digests()) and os.environ.get(PURE_VARIABLE) != "1"

    def pure(name: str) -> Callable[[], float] | None:
        if not compiled:
            return None
        return lambda: pure_seconds(name, args.samples, args.demo_flights, args.flights)

    results = [
        measure(base, chosen[name](), args.repeat, pure(name)) for name in args.workloads.split(",")
    ]
    report = {"results": results}
    if not args.json:
        Console().print(_table(results))
    print(json.dumps(report, indent=None if args.json else 2), file=sys.stdout)
    return report


if __name__ == "__main__":
    main()
