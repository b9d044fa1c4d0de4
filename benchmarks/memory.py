"""Peak memory of ``driftline consume`` as the stream grows: 1M events against 3M.

    python -m benchmarks.memory [--sizes 1000000,3000000] [--keys 100000] [--json] [--smoke]

For each size N, in a fresh namespace: workload (b) with N/2 samples (N events) over
``keys`` entities is published, then one ``driftline consume --until-idle 3`` process
reads it to the end and exits. Its peak resident set is the kernel's own figure for that
process (its ``VmHWM``, the kernel's high-water mark of its resident set, read every
50 ms until it exits: growth in its last 50 ms would be missed). Not ``ru_maxrss``: on
Linux a child inherits its parent's peak through ``exec``, and this process holds the
events it publishes. One worker at a time. Issue 23 asks the largest size to stay within
5% of the smallest (bounded and flat at steady state). For context: the peak of a process
that only imports the command, and the dedupe window's size (``DRIFTLINE_DEDUPE_SIZE``
event ids per task, for observations and for outcomes): below about twice that many
events per task the windows are still filling.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from driftline.adapters.settings import Settings

from .common import LocalKey, WorkerProcess, bench_base, fresh_settings, load, publish
from .workloads import synthetic_overrides, synthetic_wire

__all__ = ["SIZES", "TARGET", "import_only_rss_mb", "main", "memory"]

#: The largest size's peak over the smallest's, at most (issue 23).
TARGET = 1.05
#: The sizes compared (events): 1M and 3M.
SIZES = (1_000_000, 3_000_000)
IDLE_S = 3.0
POLL_S = 0.05


_OWN_PEAK = (
    "import driftline.app.cli, pathlib\n"
    "status = pathlib.Path('/proc/self/status').read_text().splitlines()\n"
    "print(next(int(line.split()[1]) for line in status if line.startswith('VmHWM:')))"
)


def import_only_rss_mb() -> float:
    """Peak RSS (MB) of a process that imports the command, as it reads its own."""
    done = subprocess.run(
        [sys.executable, "-c", _OWN_PEAK], check=True, capture_output=True, text=True
    )
    return round(int(done.stdout) / 1024, 1)


def _peak(
    base: Settings, local_key: LocalKey, events: int, keys: int, partitions: int
) -> dict[str, Any]:
    settings = fresh_settings(base, partitions=partitions, **synthetic_overrides(base.seed))
    started = time.monotonic()
    # encoded as they are sent: this process's memory is not measured, but it is the machine's
    total = len(publish(settings, synthetic_wire(events // 2, keys, base.seed)))
    published_s = time.monotonic() - started
    with WorkerProcess(settings, local_key, "--until-idle", str(IDLE_S), "--json") as worker:
        peak_kb = 0
        deadline = time.monotonic() + 1800
        while worker.running() and time.monotonic() < deadline:
            peak_kb = max(peak_kb, worker.peak_rss_kb() or 0)
            time.sleep(POLL_S)
        code = worker.wait(timeout_s=60)
        summary = worker.summary()
        if code or summary.get("records") != total:
            raise RuntimeError(f"exit {code}, {summary}, {total} published:\n{worker.log_tail()}")
    return {
        "events": total,
        "namespace": settings.namespace,
        "publish_s": round(published_s, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "worker_elapsed_s": summary.get("elapsed_s"),
        "records_per_s": summary.get("records_per_s"),
        "checkpoint_bytes": summary.get("checkpoint_bytes"),
    }


def memory(
    base: Settings,
    local_key: LocalKey,
    sizes: tuple[int, ...] = SIZES,
    *,
    keys: int = 100_000,
    partitions: int = 1,
) -> dict[str, Any]:
    """Peak RSS of one ``driftline consume`` draining N events, for each N in ``sizes``."""
    runs = [_peak(base, local_key, n, keys, partitions) for n in sizes]
    ratio = runs[-1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]
    return {
        "measure": "peak RSS (VmHWM) of driftline consume draining N events, MB",
        "workload": f"Agrawal, StandardScaler | LogisticRegression, {keys:,} keys",
        "partitions": partitions,
        "dedupe_size": base.model.dedupe_size,
        "runs": runs,
        "import_only_rss_mb": import_only_rss_mb(),
        "target": {
            "ratio": f"peak at {sizes[-1]:,} / peak at {sizes[0]:,}",
            "at_most": TARGET,
            "measured": round(ratio, 3),
            "met": ratio <= TARGET,
        },
        "load_average": load(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="events, comma-separated"
    )
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON line only")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run?")
    args = parser.parse_args(argv)
    sizes = tuple(int(n) for n in args.sizes.split(","))
    if args.smoke:
        sizes, args.keys = (400, 2000), 200
    base, local_key = bench_base()
    report = memory(base, local_key, sizes, keys=args.keys, partitions=args.partitions)
    print(json.dumps(report, indent=None if args.json else 2), file=sys.stdout)
    return report


if __name__ == "__main__":
    main()
