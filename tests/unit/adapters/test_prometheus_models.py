"""The counters beside the ratios: summed over partitions they give the totals'
scores, so PromQL's ``sum(rate(...))`` ratios are the scores of a window."""

from __future__ import annotations

import pytest
from prometheus_client.exposition import generate_latest

from driftline.consumers.exposition import worker_registry
from driftline.core.learning.metrics import merge_models, merge_snapshots
from tests.unit.consumers.exposition_samples import (
    families,
    run_worker,
    samples,
    with_challenger_and_costs,
)


def total(found: dict, name: str, **labels: str) -> float:
    """``sum(name{labels})`` over the scrape."""
    return sum(
        value
        for key, value in samples(found[name.removesuffix("_total")], name).items()
        if all(dict(key).get(k) == v for k, v in labels.items())
    )


def test_one_models_counters_sum_to_the_totals_scores() -> None:
    rig = run_worker()
    snaps = rig.worker.snapshots()
    found = families(generate_latest(worker_registry(rig.worker)).decode())
    merged = merge_snapshots(snaps)
    scored = total(found, "driftline_model_labels_scored_total")
    correct = total(found, "driftline_model_predictions_correct_total")
    assert scored == merged["scored"] > 0
    # sum(correct) / sum(scored): the accuracy over every partition
    assert round(correct / scored, 4) == merged["accuracy"]
    log_loss = total(found, "driftline_model_log_loss_sum_total")
    assert round(log_loss / scored, 4) == merged["log_loss"]
    baseline = total(found, "driftline_model_baseline_correct_total")
    assert round(baseline / scored, 4) == merged["baseline_accuracy"]
    for family in (
        "driftline_model_predictions_correct",
        "driftline_model_log_loss_sum",
        "driftline_model_decision_cost",
    ):
        assert found[family].type == "counter", family


def test_each_model_and_policy_gets_its_counters() -> None:
    tasks = with_challenger_and_costs()
    rig = run_worker(tasks)
    found = families(generate_latest(worker_registry(rig.worker)).decode())
    models = merge_models(rig.worker.snapshots())
    assert set(models) == {"main", "fast"}
    for model, about in models.items():
        scores = about["scores"]
        scored = total(found, "driftline_model_labels_scored_total", model=model)
        correct = total(found, "driftline_model_predictions_correct_total", model=model)
        assert scored == scores["scored"] > 0
        assert round(correct / scored, 4) == scores["accuracy"]
        costed = total(found, "driftline_model_decisions_costed_total", model=model)
        assert costed == scores["costed"] > 0
        for policy in ("decision", "argmax", "majority"):
            cost = total(found, "driftline_model_decision_cost_total", model=model, policy=policy)
            assert cost * 1000 / costed == pytest.approx(scores["cost_per_1000"][policy], abs=0.06)
