"""The worker, the readers and the demo, typed as a user types them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.endpoints import Endpoints
from tests.e2e.test_cli import last_json, run

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(services: Endpoints, namespace: str, tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    return values | {
        "DRIFTLINE_KAFKA_BOOTSTRAP": services.bootstrap,
        "DRIFTLINE_REDIS_URL": services.redis_url,
        "DRIFTLINE_NAMESPACE": namespace,
        "DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"),
    }


def test_consume_then_read_predictions_and_metrics(env: dict[str, str]):
    produced = run(["produce", "flights", "--limit", "600", "--partitions", "2", "--json"], env)
    assert produced.returncode == 0, produced.stderr
    published = last_json(produced.stdout)["published"]

    consumed = run(["consume", "--until-idle", "3", "--json"], env)
    assert consumed.returncode == 0, consumed.stderr
    summary = last_json(consumed.stdout)
    assert summary["records"] == published
    assert summary["predictions"] == 600

    got = run(["predictions", "get", "EWR", "--json"], env)
    assert got.returncode == 0, got.stderr
    prediction = last_json(got.stdout)
    assert prediction["key"] == "EWR" and prediction["prediction"] in (True, False)
    assert set(prediction["probabilities"]) == {"True", "False"}
    assert prediction["event_id"].endswith("-EWR")

    missing = run(["predictions", "get", "nowhere"], env)
    assert missing.returncode == 1 and "no prediction" in missing.stderr

    shown = run(["metrics", "--json"], env)
    assert shown.returncode == 0, shown.stderr
    metrics = last_json(shown.stdout)
    counts = metrics["total"]["counts"]
    assert counts["predictions"] == 600
    assert counts["learned"] + counts["pending"] + counts["expired"] == 600
    assert 0.5 < metrics["total"]["accuracy"] <= 1
    assert metrics["total"]["lateness_seconds"]["p50"] > 0

    table = run(["metrics"], env | {"COLUMNS": "200"})
    assert "rolling_accuracy" in table.stderr and "lateness p99" in table.stderr

    again = run(["consume", "--until-idle", "2", "--json"], env)  # committed: nothing new
    assert last_json(again.stdout)["records"] == 0


def test_demo_json_counts_add_up(env: dict[str, str]):
    done = run(["demo", "--limit", "1500", "--json"], env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = last_json(done.stdout)
    for name in (
        "observations",
        "outcomes",
        "predictions",
        "learned",
        "pending",
        "expired",
        "dead_letters",
        "metrics",
        "lateness_seconds",
    ):
        assert name in summary, name
    assert summary["observations"] == 1500
    assert summary["observations"] == (
        summary["predictions"] + summary["dead_letters_by_kind"]["observation"]
    )
    assert summary["learned"] + summary["pending"] + summary["expired"] == summary["predictions"]
    assert summary["outcomes"] == summary["published"]["outcomes"]
    assert set(summary["lateness_seconds"]) == {"p50", "p99"}
    assert summary["lateness_seconds"]["p50"] is not None
    metrics = summary["metrics"]
    assert {"accuracy", "roc_auc", "log_loss", "baseline_accuracy"} <= set(metrics)
    json.dumps(summary)
