"""Totals over tasks: their metrics snapshots summed, then scored again.

Every statistic of a snapshot adds up (counts, confusion, error sums, histograms), so a
total is exact however the partitions are spread over workers; the rolling window cannot
be added, and its total is a weighted mean.

>>> from driftline.core.learning.metrics import TaskMetrics
>>> m = TaskMetrics("classification")
>>> for y_true, y_pred in [(True, True), (False, True), (False, False)]:
...     _ = m.score(y_true, y_pred, {True: 0.5, False: 0.5})
>>> merge_snapshots([m.snapshot(), m.snapshot()])["scored"]
6
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from driftline.core.durations import DurationHistogram
from driftline.core.learning.roc_auc import BinnedROCAUC
from driftline.core.learning.snapshot_scores import COUNTERS, derived_scores, round4
from driftline.core.quality.figures import merge_quality
from driftline.core.quality.reasons import Rule

__all__ = ["merge_models", "merge_snapshots"]


def merge_snapshots(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over tasks: sums of the statistics, then the same derived scores."""
    if not snapshots:
        return {"counts": {}, "dead_letters": {}, "scored": 0}
    kind = snapshots[0]["kind"]
    total: dict[str, Any] = {
        "kind": kind,
        "counts": Counter(dict.fromkeys(COUNTERS, 0)),
        "dead_letters": Counter(),
    }
    hist = DurationHistogram()
    latency: DurationHistogram | None = None
    for snap in snapshots:
        total["counts"].update(snap["counts"])
        total["dead_letters"].update(snap["dead_letters"])
        hist = hist.merge(
            DurationHistogram(snap["lateness_buckets"], snap.get("lateness_sum_s", 0.0))
        )
        if snap.get("latency_buckets") is not None:
            latency = (latency or DurationHistogram()).merge(
                DurationHistogram(snap["latency_buckets"], snap.get("latency_sum_s", 0.0))
            )
    if latency is not None:
        total["latency_buckets"] = latency.counts
        total["latency_sum_s"] = latency.total
    total["counts"] = dict(total["counts"])
    total["dead_letters"] = dict(total["dead_letters"])
    total["lateness_buckets"] = hist.counts
    total["lateness_sum_s"] = hist.total
    total["scored"] = sum(s["scored"] for s in snapshots)
    total["rolling_n"] = sum(s["rolling_n"] for s in snapshots)
    sums = (
        ["cross_entropy_sum", "baseline_correct"]
        if kind == "classification"
        else ["abs_error_sum", "sq_error_sum", "baseline_abs_error_sum"]
    )
    for name in sums:
        total[name] = sum(s[name] for s in snapshots)
    costed = [s for s in snapshots if s.get("cost_sums") is not None]
    if costed:
        total["cost_matrix"] = costed[0]["cost_matrix"]
        total["cost_sums"] = [sum(s["cost_sums"][i] for s in costed) for i in range(3)]
        total["costed"] = sum(s["costed"] for s in costed)
    if kind == "classification":
        confusion: Counter[tuple[Any, Any]] = Counter()
        for snap in snapshots:
            for t, p, n in snap["confusion"]:
                confusion[(t, p)] += n
        total["confusion"] = [[t, p, n] for (t, p), n in confusion.items()]
        total |= _pooled_roc_auc(snapshots)
        total["rolling_accuracy"] = _weighted(snapshots, "rolling_accuracy", "rolling_n")
    else:
        total["rolling_mae"] = _weighted(snapshots, "rolling_mae", "rolling_n")
        # Chan et al.: combine means and sums of squared deviations without cancellation.
        n, mean, m2 = 0, 0.0, 0.0
        for snap in snapshots:
            nb = snap["scored"]
            if not nb:
                continue
            delta = snap["y_mean"] - mean
            m2 += snap["y_m2"] + delta * delta * n * nb / (n + nb)
            mean += delta * nb / (n + nb)
            n += nb
        total["y_mean"], total["y_m2"] = mean, m2
    qualities = [snap["quality"] for snap in snapshots if "quality" in snap]
    if qualities:
        counts = total["counts"]
        labels = {
            k: counts.get(k, 0)
            for k in ("predictions", "learned", "pending", "expired", "late_not_learned")
        }
        labels["late_labels"] = total["dead_letters"].get(Rule.EXPIRED_OBSERVATION, 0)
        total["quality"] = merge_quality(qualities, counts.get("records", 0), labels)
    lags = [
        snap["watermark_lag_s"] for snap in snapshots if snap.get("watermark_lag_s") is not None
    ]
    if lags:  # the partition furthest behind the wall clock
        total["watermark_lag_s"] = max(lags)
    return total | derived_scores(total)


def merge_models(snapshots: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Totals per model over tasks: each model's own scores (a task with one model scores
    it in the task's own snapshot), the partitions where it is champion, its versions."""
    scores: dict[str, list[dict[str, Any]]] = {}
    about: dict[str, dict[str, Any]] = {}
    for snap in snapshots:
        for name, model in snap.get("models", {}).items():
            scores.setdefault(name, []).append(model.get("scores", snap))
            seen = about.setdefault(
                name, {"model": model.get("model"), "champion_in": [], "versions": {}}
            )
            if model.get("champion"):
                seen["champion_in"].append(snap["partition"])
            seen["versions"][str(snap["partition"])] = model.get("version")
    return {name: about[name] | {"scores": merge_snapshots(scores[name])} for name in scores}


def _pooled_roc_auc(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """The ROC AUC of the pooled predictions of the tasks where it applies (a task where it
    does not, ``None``, is left out, not averaged in as 0), with the summed histograms.

    A mean of per-task ROC AUCs is not the ROC AUC of the whole: two tasks that each rank
    their own labels perfectly may rank each other's badly.

    >>> one = {"roc_auc": 1.0, "scored": 2, "roc_pos": [0] * 3 + [1] + [0] * 7,
    ...        "roc_neg": [0, 1] + [0] * 9}
    >>> two = {"roc_auc": 1.0, "scored": 2, "roc_pos": [0] * 9 + [1, 0],
    ...        "roc_neg": [0] * 6 + [1] + [0] * 4}
    >>> _pooled_roc_auc([one, two])["roc_auc"]
    0.75

    Snapshots written before the histograms were (a worker not yet upgraded) leave only the
    weighted mean of the tasks' figures, as before.
    """
    applies = [s for s in snapshots if s.get("roc_auc") is not None and s["scored"]]
    if not applies:
        return {"roc_auc": None}
    if any(s.get("roc_pos") is None or s.get("roc_neg") is None for s in applies):
        return {"roc_auc": _weighted(applies, "roc_auc", "scored")}
    positives = [sum(counts) for counts in zip(*(s["roc_pos"] for s in applies), strict=True)]
    negatives = [sum(counts) for counts in zip(*(s["roc_neg"] for s in applies), strict=True)]
    roc_auc = BinnedROCAUC.from_counts(positives, negatives).get()
    return {"roc_auc": round4(roc_auc), "roc_pos": positives, "roc_neg": negatives}


def _weighted(snapshots: list[dict[str, Any]], name: str, weight: str) -> float | None:
    pairs = [(s[name], s[weight]) for s in snapshots if s.get(name) is not None and s[weight]]
    total = sum(w for _, w in pairs)
    return round4(sum(v * w for v, w in pairs) / total) if total else None
