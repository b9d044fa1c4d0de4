"""`make bench` runs end to end (tiny sizes): the four workloads (flights, synthetic, the
demo's configuration, synthetic over 5,000 keys), ``consume --processes 1`` and 2, every
other measurement, their figures and targets.

Speed is never asserted here: the benchmark measures its own baselines and reports ratios;
this only shows that it works on the real Kafka and Redis, so the figures in the README
can be made again from a fresh clone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from driftline.adapters.endpoints import Endpoints
from tests.conftest import TEST_CHECKPOINT_KEY

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_make_bench_smoke_reports_every_measurement(services: Endpoints, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    env |= {
        "DRIFTLINE_KAFKA_BOOTSTRAP": services.bootstrap,
        "DRIFTLINE_REDIS_URL": services.redis_url,
        "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
        "DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.throughput", "--smoke", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    workloads = {r["workload"]: r for r in report["results"]}
    assert set(workloads) == {"flights", "synthetic", "demo", "synthetic_5k"}
    for result in workloads.values():
        rates = result["records_per_s"]
        for name in ("bare_loop", "plain_consumption", "naive_pipeline", "lean_loop", "worker"):
            assert rates[name] > 0, (result["workload"], name, rates)
        assert result["records"] > 0
        assert {t["ratio"] for t in result["targets"]} >= {"worker / lean_loop"}
        assert result["checkpoints"]["count"] >= 1
        assert result["checkpoints"]["at_most"] == 0.05
        assert result["redis_cpu_us_per_record"]["worker"] >= 0  # what its writes cost Redis
        # the worker's floor, in parts measured in the run, and the best ratio above it
        floor = result["floor_us_per_record"]["worker"]
        assert floor["task_alone"] > 0 and floor["outputs"] > 0
        # checkpoints: the worker's own seconds of them, a record (at least the last one)
        checkpoint_us = 1e6 * result["checkpoints"]["seconds"] / result["records"]
        assert floor["checkpoints"] == pytest.approx(checkpoint_us, abs=0.01)
        # at these sizes one poll may bring every record: reading then rounds to 0 us
        assert floor["reading"] >= 0 and floor["waiting_for_redis"] >= 0
        parts = sum(us for part, us in floor.items() if part != "floor")
        assert floor["floor"] == pytest.approx(parts, abs=0.05)
        lean = next(t for t in result["targets"] if t["ratio"] == "worker / lean_loop")
        assert lean["floor_allows"] == pytest.approx(  # rounded to 3 decimals
            1e6 / result["records_per_s"]["lean_loop"] / floor["floor"], rel=0.01, abs=1e-3
        )
    # the synthetic workloads carry the Quix Streams target when that baseline ran
    for result in workloads.values():
        rates, ratios = result["records_per_s"], {t["ratio"] for t in result["targets"]}
        if "quix" in rates and "worker_confluent" in rates:
            assert "worker_confluent / quix" in ratios
        assert "quix" not in rates or result["workload"] in {"synthetic", "synthetic_5k"}
    assert workloads["demo"]["keys"] < workloads["demo"]["records"]
    for name in ("latency", "startup", "processes", "memory"):
        assert "target" in report[name], name
    assert report["startup"]["median_s"] > 0
    assert all(run["peak_rss_mb"] > 0 for run in report["memory"]["runs"])
    processes = report["processes"]
    assert processes["processes"] == 2
    assert processes["runs"]["worker_2"]["summary_processes"] == 2
    assert processes["runs"]["worker_2"]["partitions"] == [0, 1]
    for name in ("worker_1", "worker_2", "bare_1", "bare_2", "lean_1", "lean_2"):
        assert processes["records_per_s"][name] > 0, (name, processes["records_per_s"])
    assert processes["runs"]["lean_2"]["records"] == processes["records"]  # both halves
    assert set(processes["busy_cores"]) >= {"worker_1", "worker_2", "lean_1", "lean_2"}
    assert processes["cpu_bound"]["cores"] >= 1
    assert processes["target"]["at_least"] == 0.85
