"""deploy/prometheus: the alert rules checked and unit-tested by Prometheus's promtool
(series that fire each alert and series that do not: alerts_test.yml), and every query of
the Grafana dashboard parsed by it as PromQL. No service is needed, only promtool."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from tests.integration.ops.promtool import ROOT, run_promtool

# promtool is built outside the virtual environment (scripts/ensure-promtool.sh), as the
# Kafka jars are: a unit run (`make test-unit`) does not need it.
pytestmark = pytest.mark.integration

RULES = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "driftline.json"


#: The commands docs/reference/prometheus.md gives, run as they are from the checkout.
CHECK_RULES = "promtool check rules deploy/prometheus/alerts.yml"
TEST_RULES = "promtool test rules deploy/prometheus/alerts_test.yml"


def test_promtool_checks_the_alert_rules() -> None:
    output = run_promtool(*shlex.split(CHECK_RULES)[1:], cwd=ROOT)
    assert "SUCCESS: 6 rules found" in output


def test_promtool_unit_tests_of_the_alert_rules_pass() -> None:
    output = run_promtool(*shlex.split(TEST_RULES)[1:], cwd=ROOT)
    assert "SUCCESS" in output


def test_every_alert_has_a_unit_test_that_fires_it_and_one_that_does_not() -> None:
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tested = yaml.safe_load((RULES / "alerts_test.yml").read_text())
    fired: set[str] = set()
    quiet: set[str] = set()
    for test in tested["tests"]:
        for case in test["alert_rule_test"]:
            (fired if case["exp_alerts"] else quiet).add(case["alertname"])
        # series that never fire: more input series than alerts expected of them
        assert len(test["input_series"]) > 1
    assert fired == alerts
    assert quiet == alerts  # and each also at a time it must not (yet) fire


def test_promtool_parses_every_query_of_the_dashboard(tmp_path: Path) -> None:
    """Each panel's query as a recording rule, checked by promtool (PromQL's own parser);
    the namespace variable as Grafana would put it."""
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(queries) >= 15
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": q.replace("$namespace", ".*")}
                    for i, q in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    output = run_promtool("check", "rules", str(path))
    assert f"SUCCESS: {len(queries)} rules found" in output
