"""What a task's metrics snapshot carries and derives: the counters every snapshot holds,
zero or not, and the scores computed from its sufficient statistics (by the task's own
snapshot, and again by every total over tasks, from the summed statistics).

>>> snap = {"kind": "regression", "scored": 2, "lateness_buckets": None,
...         "abs_error_sum": 3.0, "sq_error_sum": 5.0, "y_m2": 8.0,
...         "baseline_abs_error_sum": 4.0}
>>> scores = derived_scores(snap)
>>> scores["mae"], scores["rmse"], scores["r2"], scores["lateness_seconds"]["p50"]
(1.5, 1.5811, 0.375, None)
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from driftline.core.durations import DurationHistogram

__all__ = ["COUNTERS", "derived_scores", "round1", "round4"]

#: Counters every snapshot carries, zero or not.
COUNTERS = (
    "records",
    "observations",
    "predictions",
    "outcomes",
    "learned",
    "pending",
    "expired",
    "late_not_learned",
    "duplicates",
    "early_outcomes",
    "refused",
    "watermark_ticks",
    "controls",
    "alerts",
    "promotions",
    "rollbacks",
    "models_replaced",
    "dead_letters",
    "dead_letters_observation",
    "dead_letters_outcome",
)


def derived_scores(snap: dict[str, Any]) -> dict[str, Any]:
    """The scores of a snapshot (or of a total), from its sums: lateness (and latency)
    percentiles, costs per 1,000 decisions, and the kind's prequential scores."""
    n = snap["scored"]
    hist = DurationHistogram(snap["lateness_buckets"])
    out: dict[str, Any] = {
        "lateness_seconds": {"p50": hist.quantile(0.5), "p99": hist.quantile(0.99)}
    }
    if snap.get("latency_buckets") is not None:  # written by the worker, not the task
        latency = DurationHistogram(snap["latency_buckets"])
        out["latency_seconds"] = {"p50": latency.quantile(0.5), "p99": latency.quantile(0.99)}
    if not n:
        return out
    if snap.get("costed"):
        per = 1000 / snap["costed"]
        decision, argmax, majority = snap["cost_sums"]
        out["cost_per_1000"] = {
            "decision": round1(decision * per),
            "argmax": round1(argmax * per),
            "majority": round1(majority * per),
        }
    if snap["kind"] == "classification":
        from river import metrics  # here: importing the core stays quick

        cm = metrics.ConfusionMatrix()
        for t, p, count in snap["confusion"]:
            cm.update(t, p, w=count)
        classes = {t for t, _, _ in snap["confusion"]} | {p for _, p, _ in snap["confusion"]}
        binary = classes <= {True, False}  # None predictions are never scored
        out["accuracy"] = round4(metrics.Accuracy(cm=cm).get())
        if binary:
            out["precision"] = round4(metrics.Precision(cm=cm).get())
            out["recall"] = round4(metrics.Recall(cm=cm).get())
            out["f1"] = round4(metrics.F1(cm=cm).get())
        else:
            out["precision"] = round4(metrics.MacroPrecision(cm=cm).get())
            out["recall"] = round4(metrics.MacroRecall(cm=cm).get())
            out["f1"] = round4(metrics.MacroF1(cm=cm).get())
        out["log_loss"] = round4(snap["cross_entropy_sum"] / n)
        out["baseline_accuracy"] = round4(snap["baseline_correct"] / n)
        truth: Counter[Any] = Counter()
        for t, _, count in snap["confusion"]:
            truth[t] += count
        out["majority_share"] = round4(max(truth.values()) / n)
    else:
        total_ss = snap["y_m2"]
        out["mae"] = round4(snap["abs_error_sum"] / n)
        out["rmse"] = round4(math.sqrt(snap["sq_error_sum"] / n))
        out["r2"] = round4(1 - snap["sq_error_sum"] / total_ss) if total_ss > 0 else None
        out["baseline_mae"] = round4(snap["baseline_abs_error_sum"] / n)
    return out


def round4(value: float) -> float:
    """A score as snapshots give it: four decimals."""
    return round(float(value), 4)


def round1(value: float) -> float:
    """A cost per 1,000 as snapshots give it: one decimal."""
    return round(float(value), 1)
