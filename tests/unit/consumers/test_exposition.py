"""The Prometheus exposition of a worker: parsed back with prometheus-client's own
parser, every figure checked against what the worker keeps, and served over HTTP."""

from __future__ import annotations

import re
import urllib.request

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from driftline.consumers.exposition import serve_worker_metrics, worker_registry
from tests.unit.consumers.exposition_samples import (
    families,
    run_worker,
    samples,
    with_challenger_and_costs,
)


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
    tasks = with_challenger_and_costs()
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
