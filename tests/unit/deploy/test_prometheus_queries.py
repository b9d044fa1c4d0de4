"""deploy/: the Grafana dashboard parses, and every metric its panels and the alert rules
query is one a real exposition names (a worker's, with challengers and a cost matrix, on
the in-memory ports; ``driftline serve`` names the task series the same way)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from driftline.consumers.exposition import worker_registry
from tests.unit.consumers.exposition_samples import run_worker, with_challenger_and_costs

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "driftline.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"

_METRIC = re.compile(r"\b(driftline_[a-z0-9_]+)\b")
_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "info": ("_info",),
}


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def alert_queries() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def exposed() -> set[str]:
    """The series names a worker's scrape declares: its samples', and those of a family
    with no sample yet (no dead letter, no wait), from its type."""
    tasks = with_challenger_and_costs()
    text = generate_latest(worker_registry(run_worker(tasks).worker)).decode()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in _SUFFIXES[family.type]}
    return names


def test_the_dashboard_has_the_worker_and_model_panels() -> None:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    titles = {panel["title"] for panel in dashboard["panels"]}
    for title in (
        "Records read",
        "Consumer lag",
        "Batch duration",
        "Dead letters by reason",
        "Outages",
        "Accuracy, last hour",
        "Log loss, last hour",
        "Cost per 1,000 decisions, by policy",
        "Drift alarms",
        "Predictions age",
    ):
        assert title in titles
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "namespace"}
    assert all('namespace=~"$namespace"' in q for q in dashboard_queries() if "driftline_" in q)


@pytest.mark.parametrize("where", ["dashboard", "alerts"])
def test_every_metric_queried_is_exposed(where: str, exposed: set[str]) -> None:
    queries = dashboard_queries() if where == "dashboard" else alert_queries()
    queried = {name for query in queries for name in _METRIC.findall(query)}
    assert len(queried) >= (15 if where == "dashboard" else 8)
    assert queried - exposed == set()


def test_the_accuracy_panel_is_the_documented_promql() -> None:
    accuracy = next(
        q for q in dashboard_queries() if "driftline_model_predictions_correct_total" in q
    )
    assert "rate(driftline_model_labels_scored_total" in accuracy and "[1h]" in accuracy
