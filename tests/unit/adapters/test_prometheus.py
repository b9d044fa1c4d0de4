"""The Prometheus families of task snapshots: the snapshots kept in Redis give the same
series as the worker, and the data-quality figures per dimension, rule and feature."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from prometheus_client.exposition import generate_latest

from driftline.adapters.prometheus import SnapshotCollector, task_families
from driftline.consumers.exposition import worker_registry
from driftline.core.contract.check import Contract
from driftline.core.quality.figures import merge_quality
from tests.unit.consumers.exposition_samples import families, run_worker, samples
from tests.unit.consumers.worker_rig import task_config


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
