"""The Prometheus exposition of a worker and of task snapshots: parsed back with
prometheus-client's own parser, every figure checked against what the worker keeps."""

from __future__ import annotations

import dataclasses
import re
import urllib.request
from datetime import UTC, datetime
from typing import Any

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from driftline.adapters.prometheus import SnapshotCollector, task_families
from driftline.consumers.exposition import serve_worker_metrics, worker_registry
from driftline.consumers.worker import WorkerConfig
from driftline.core.contract.check import Contract
from driftline.core.learning.costs import CostMatrix
from driftline.core.quality.figures import merge_quality
from driftline.core.task.partition import TaskConfig
from tests.unit.consumers.worker_fakes import MemoryCheckpoints, MemoryTopic
from tests.unit.consumers.worker_rig import Rig, publish_flights, task_config


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Any, name: str | None = None) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for s in family.samples
        if name is None or s.name == name
    }


def run_worker(tasks: TaskConfig | None = None) -> Rig:
    topic = MemoryTopic(partitions=2)
    publish_flights(topic, 60, partitions=(0, 1))
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(max_events=200), tasks or task_config())
    rig.run()
    return rig


def test_worker_exposition_parses_and_matches_the_tasks() -> None:
    rig = run_worker()
    text = generate_latest(worker_registry(rig.worker)).decode()
    found = families(text)
    snaps = {s["partition"]: s for s in rig.worker.snapshots()}
    assert set(snaps) == {0, 1}

    for family, count in (
        ("driftline_records", "records"),
        ("driftline_predictions", "predictions"),
        ("driftline_labels_learned", "learned"),
        ("driftline_duplicates", "duplicates"),
        ("driftline_labels_expired", "expired"),
    ):
        assert found[family].type == "counter"
        got = samples(found[family], family + "_total")
        assert got == {
            (("partition", str(p)),): float(s["counts"][count]) for p, s in snaps.items()
        }, family
    assert sum(samples(found["driftline_records"]).values()) == rig.worker.stats.records
    pending = samples(found["driftline_labels_pending"])
    assert pending == {(("partition", str(p)),): s["counts"]["pending"] for p, s in snaps.items()}

    lateness = found["driftline_lateness_seconds"]
    assert lateness.type == "histogram"
    counts = samples(lateness, "driftline_lateness_seconds_count")
    assert counts == {
        (("partition", str(p)),): float(sum(s["lateness_buckets"])) for p, s in snaps.items()
    }
    assert all(v > 0 for v in counts.values())
    buckets = [s for s in lateness.samples if s.name.endswith("_bucket")]
    assert any(s.labels["le"] == "+Inf" for s in buckets)

    batch = found["driftline_worker_batch_duration_seconds"]
    assert samples(batch, "driftline_worker_batch_duration_seconds_count") == {
        (): float(rig.worker.stats.batches)
    }
    lag = samples(found["driftline_consumer_lag_records"])
    assert set(rig.worker.stats.lags) == {0, 1}
    assert lag == {(("partition", str(p)),): float(n) for p, n in rig.worker.stats.lags.items()}
    accuracy = samples(found["driftline_model_accuracy_ratio"])
    assert accuracy == {
        (("model", "main"), ("partition", str(p))): s["accuracy"] for p, s in snaps.items()
    }
    assert "process_cpu_seconds" in found


def test_names_follow_prometheus_conventions() -> None:
    rig = run_worker()
    text = generate_latest(worker_registry(rig.worker)).decode()
    for family in text_string_to_metric_families(text):
        if family.name.startswith("process_"):
            continue
        assert re.fullmatch(r"driftline_[a-z0-9_]+", family.name), family.name
        assert family.documentation, family.name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)
        if family.type in ("gauge", "histogram"):
            assert not family.name.endswith("_total"), family.name
        # base units only: seconds and bytes, never milliseconds or kilobytes
        assert not re.search(r"_(ms|milliseconds|kb|kilobytes|minutes|hours)(_|$)", family.name)


def test_challengers_and_costs_each_get_their_series() -> None:
    tasks = TaskConfig(
        features=task_config().features,
        pending_ttl_s=3600.0,
        idle_watermark_s=None,
        challengers=(("fast", "linear_model.LogisticRegression()"),),
        costs=CostMatrix(false_negative=5.0, false_positive=1.0),
    )
    rig = run_worker(tasks)
    found = families(generate_latest(worker_registry(rig.worker)).decode())
    champion = samples(found["driftline_model_champion"])
    assert champion == {
        (("model", "main"), ("partition", "0")): 1.0,
        (("model", "fast"), ("partition", "0")): 0.0,
        (("model", "main"), ("partition", "1")): 1.0,
        (("model", "fast"), ("partition", "1")): 0.0,
    }
    costs = samples(found["driftline_model_cost_per_1000_decisions"])
    policies = {dict(labels)["policy"] for labels in costs}
    assert policies == {"decision", "argmax", "majority"}
    snap = {s["partition"]: s for s in rig.worker.snapshots()}[0]
    fast = snap["models"]["fast"]["scores"]
    key = (("model", "fast"), ("partition", "0"), ("policy", "decision"))
    assert costs[key] == fast["cost_per_1000"]["decision"]


def test_snapshots_from_redis_give_the_same_series_as_the_worker() -> None:
    """``driftline serve`` exposes what Redis holds: the same names and values."""
    rig = run_worker()
    snaps = rig.worker.snapshots()
    from_worker = families(generate_latest(worker_registry(rig.worker)).decode())
    from_redis = families(generate_latest(SnapshotCollector(lambda: snaps)).decode())  # type: ignore[arg-type]
    for name, family in from_redis.items():
        if name == "driftline_watermark_lag_seconds":  # the wall clock at each scrape
            assert samples(family).keys() == samples(from_worker[name]).keys()
            continue
        assert samples(family) == samples(from_worker[name]), name


def test_the_metrics_port_serves_the_exposition_over_http() -> None:
    rig = run_worker()
    server = serve_worker_metrics(rig.worker, 0)
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.status == 200
            assert answer.headers["Content-Type"].startswith("text/plain")
            found = families(answer.read().decode())
    finally:
        server.shutdown()
        server.server_close()
    assert sum(samples(found["driftline_records"]).values()) == rig.worker.stats.records


def test_data_quality_figures_per_dimension_rule_and_feature() -> None:
    """Issue 12: findings per dimension and rule, a score per dimension, missing values
    per feature and the watermark's lag, each as the tasks count them."""
    contract = Contract.model_validate(
        {"features": {"x": {"range": [0, 5]}, "y": {"missing": "impute"}, "z": {}}}
    )
    rig = run_worker(dataclasses.replace(task_config(), contract=contract))
    snaps = {s["partition"]: s for s in rig.worker.snapshots()}
    now = datetime(2030, 1, 1, tzinfo=UTC)
    found = families(generate_latest(_Fixed(list(snaps.values()), now)).decode())
    findings = samples(found["driftline_quality_findings"], "driftline_quality_findings_total")
    expected = {}
    for p, snap in snaps.items():
        for dimension, rules in snap["quality"]["rules"].items():
            for rule, n in rules.items():
                key = (("dimension", dimension), ("partition", str(p)), ("rule", rule))
                expected[key] = float(n)
    # x = i % 7 is out of [0, 5] for 5 and 6; z is declared and never sent
    assert any(k[2] == ("rule", "out-of-range") for k in expected)
    assert findings == expected
    scores = samples(found["driftline_quality_score_ratio"])
    for p, snap in snaps.items():
        merged = merge_quality([snap["quality"]], snap["counts"]["records"])
        for dimension, about in merged["dimensions"].items():
            assert scores[(("dimension", dimension), ("partition", str(p)))] == about["score"]
    assert 0 < scores[(("dimension", "completeness"), ("partition", "0"))] < 1
    missing = samples(found["driftline_missing_values"], "driftline_missing_values_total")
    assert missing == {
        (("feature", "z"), ("partition", str(p))): float(s["quality"]["features"]["z"]["missing"])
        for p, s in snaps.items()
    }
    lag = samples(found["driftline_watermark_lag_seconds"])
    assert lag == {
        (("partition", str(p)),): (now - datetime.fromisoformat(s["watermark"])).total_seconds()
        for p, s in snaps.items()
    }


class _Fixed:
    """The snapshots' families at a fixed wall clock."""

    def __init__(self, snaps: list[dict[str, Any]], now: datetime) -> None:
        self.snaps, self.now = snaps, now

    def collect(self) -> Any:
        yield from task_families(self.snaps, now=self.now)
