"""Prequential metrics of one task, as mergeable sufficient statistics.

Each task scores the prediction it stored against the label the moment the outcome
arrives (test-then-train). Its snapshot holds counts, a confusion matrix (or error
sums), a cross-entropy sum, a lateness histogram and the two histograms of ROC AUC: all of
them add up across tasks, so :func:`merge_snapshots` gives exact totals however partitions
are spread over workers (the total ROC AUC is the one of the pooled predictions, to the
bins' resolution). The rolling window cannot be added; its total is a weighted mean.
ROC AUC applies to binary problems only, labelled ``True``/``False`` or ``1``/``0`` (the
positive class is ``True`` or ``1``): anything else makes it ``None``, not applicable.

>>> m = TaskMetrics("classification", rolling_window=100)
>>> for y_true, y_pred, p in [(True, True, 0.9), (False, True, 0.6), (False, False, 0.2)]:
...     _ = m.score(y_true, y_pred, {True: p, False: 1 - p})
>>> snap = m.snapshot()
>>> snap["accuracy"], snap["scored"]
(0.6667, 3)
>>> merge_snapshots([snap, snap])["accuracy"]
0.6667
>>> snap["roc_auc"]
1.0
>>> _ = m.score("maybe", True, {True: 0.5})  # a third class: ROC AUC no longer applies
>>> m.snapshot()["roc_auc"] is None
True
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, deque
from datetime import datetime
from typing import Any

from river import metrics, utils
from scipy import integrate

from driftline.core.durations import DurationHistogram
from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.models import ModelKind
from driftline.core.learning.windows import EventWindows, WindowScore
from driftline.core.quality.figures import merge_quality

__all__ = [
    "BinnedROCAUC",
    "RollingAccuracy",
    "TaskMetrics",
    "merge_models",
    "merge_snapshots",
]

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



class BinnedROCAUC:
    """River's ``metrics.ROCAUC()`` (ten thresholds, positive class ``True`` or 1), kept as
    two histograms: an update is one bisect, not ten confusion-matrix updates. :meth:`get`
    builds the same true and false positive rates and integrates them with the same
    function, so the value is River's, bit for bit (``tests/unit/test_metrics.py``).

    >>> m = BinnedROCAUC()
    >>> for y, p in [(0, .1), (0, .4), (1, .35), (1, .8)]:
    ...     m.update(y, {True: p})
    >>> m.get()
    0.875
    """

    def __init__(self, n_thresholds: int = 10) -> None:
        reference = metrics.ROCAUC(n_thresholds=n_thresholds)
        self.thresholds: list[float] = list(reference.thresholds)
        self.positives = [0] * (n_thresholds + 1)
        self.negatives = [0] * (n_thresholds + 1)

    @classmethod
    def from_counts(cls, positives: list[int], negatives: list[int]) -> BinnedROCAUC:
        """The metric whose histograms are these (a snapshot's, or their sums).

        >>> BinnedROCAUC.from_counts([0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0],
        ...                          [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]).get()
        0.875
        """
        roc = cls(len(positives) - 1)
        if len(negatives) != len(positives):
            raise ValueError("the two histograms of a ROC AUC have as many bins")
        roc.positives, roc.negatives = list(positives), list(negatives)
        return roc

    def update(self, y_true: Any, probabilities: dict[Any, float]) -> None:
        # ``p > t`` for exactly the thresholds below ``p``: their count is the bin.
        index = bisect.bisect_left(self.thresholds, probabilities.get(True, 0.0))
        if y_true == True:  # noqa: E712 - River's test: 1 counts as the positive class
            self.positives[index] += 1
        else:
            self.negatives[index] += 1

    def get(self) -> float:
        total_pos, total_neg = sum(self.positives), sum(self.negatives)
        tprs, fprs = [], []
        above_pos = total_pos
        above_neg = total_neg
        for i in range(len(self.thresholds)):
            above_pos -= self.positives[i]  # now: how many have p above threshold i
            above_neg -= self.negatives[i]
            tp, fn = float(above_pos), float(total_pos - above_pos)
            fp, tn = float(above_neg), float(total_neg - above_neg)
            tprs.append(tp / (tp + fn) if tp + fn else 0.0)
            fprs.append(fp / (fp + tn) if fp + tn else 0.0)
        return float(-integrate.trapezoid(x=fprs, y=tprs))


class RollingAccuracy:
    """River's ``utils.Rolling(metrics.Accuracy, n)`` as a window of hits and their count.

    >>> r = RollingAccuracy(2)
    >>> for t, p in [(1, 1), (1, 0), (0, 0)]:
    ...     r.update(t, p)
    >>> r.get()
    0.5
    """

    def __init__(self, window_size: int) -> None:
        self.window_size = window_size
        self.hits: deque[bool] = deque()
        self.correct = 0

    def update(self, y_true: Any, y_pred: Any) -> None:
        hit = y_true == y_pred
        self.hits.append(hit)
        self.correct += hit
        if len(self.hits) > self.window_size:
            self.correct -= self.hits.popleft()

    def get(self) -> float:
        return self.correct / len(self.hits) if self.hits else 0.0


class TaskMetrics:
    """Counters and prequential scores of one task."""

    def __init__(
        self,
        kind: ModelKind,
        rolling_window: int = 1000,
        costs: CostMatrix | None = None,
        windows: tuple[float, ...] = (),
    ) -> None:
        self.kind = kind
        self.rolling_window = rolling_window
        #: Costs of the decision, the argmax and always-majority (binary labels only).
        self.costs = costs if kind == "classification" else None
        self.cost_sums = [0.0, 0.0, 0.0]
        self.costed = 0
        #: Event-time windows, and the points of the windows closed since last drained.
        self.windows = EventWindows(windows) if windows else None
        self.closed: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.dead_letters: Counter[str] = Counter()
        self.lateness = DurationHistogram()
        self.scored = 0
        if kind == "classification":
            self.confusion: Counter[tuple[Any, Any]] = Counter()
            self.cross_entropy = 0.0
            self.roc_auc = BinnedROCAUC()  # River's ROCAUC: positive class True, equal to 1
            #: Rows ROC AUC was updated with; whether every label so far was binary.
            self.roc_auc_n = 0
            self.binary_labels = True
            self.rolling: Any = RollingAccuracy(rolling_window)
            self.class_counts: Counter[Any] = Counter()
            self.baseline_correct = 0
        else:
            self.abs_error = 0.0
            self.sq_error = 0.0
            self.y_mean = 0.0  # Welford: stable even for targets far from zero
            self.y_m2 = 0.0
            self.rolling = utils.Rolling(metrics.MAE, window_size=rolling_window)
            self.baseline_abs_error = 0.0

    def score(
        self,
        y_true: Any,
        y_pred: Any,
        probabilities: dict[Any, float] | None,
        decision: Any = None,
        at: datetime | None = None,
    ) -> float | None:
        """Score one stored prediction against its label (call before learning).

        ``decision`` is what was decided (the cost-aware decision; ``None``: the
        prediction), ``at`` the label's event time (for the event-time windows). Returns
        the step's loss for comparing models on the same labels: the decision's cost with
        a cost matrix, else the cross-entropy (classifiers) or the absolute error.

        A model that could not predict yet (``None``, as River's trees before their first
        label) is not scored, as River's own evaluation skips it; it is counted.
        """
        if self.kind == "classification" and not _is_binary_label(y_true):
            self.binary_labels = False
        if y_pred is None:
            self.counts["unscored"] += 1
            return None
        self.scored += 1
        self.rolling.update(y_true, y_pred)
        if self.kind == "classification":
            majority = (
                max(self.class_counts, key=self.class_counts.__getitem__)
                if self.class_counts
                else None
            )
            if majority is not None:
                self.baseline_correct += majority == y_true
            self.class_counts[y_true] += 1
            self.confusion[(y_true, y_pred)] += 1
            p = (probabilities or {}).get(y_true, 0.0)
            entropy = -math.log(min(max(p, 1e-15), 1.0))
            self.cross_entropy += entropy
            binary = probabilities is not None and self.binary_labels
            if binary:
                assert probabilities is not None
                self.roc_auc.update(y_true, probabilities)
                self.roc_auc_n += 1
            costs: tuple[float, float, float] | None = None
            if self.costs is not None and self.binary_labels:
                decided = y_pred if decision is None else decision
                # always-majority: the most frequent label so far (none yet: negative)
                costs = (
                    self.costs.cost(y_true, decided),
                    self.costs.cost(y_true, y_pred),
                    self.costs.cost(y_true, False if majority is None else majority),
                )
                self.costed += 1
                for i, cost in enumerate(costs):
                    self.cost_sums[i] += cost
            if self.windows is not None and at is not None:
                self.closed += self.windows.add(
                    at,
                    WindowScore(
                        correct=y_true == y_pred,
                        cross_entropy=entropy,
                        p_true=(probabilities or {}).get(True, 0.0) if binary else None,
                        y_true=y_true == True if binary else None,  # noqa: E712
                        costs=costs,
                    ),
                )
            return costs[0] if costs is not None else entropy
        else:
            n = self.scored - 1
            baseline = self.y_mean if n else 0.0
            self.baseline_abs_error += abs(y_true - baseline)
            error = y_true - y_pred
            self.abs_error += abs(error)
            self.sq_error += error * error
            delta = y_true - self.y_mean
            self.y_mean += delta / self.scored
            self.y_m2 += delta * (y_true - self.y_mean)
            if self.windows is not None and at is not None:
                self.closed += self.windows.add(at, WindowScore(error=float(error)))
            return abs(error)

    def snapshot(self) -> dict[str, Any]:
        """Everything a reader needs, JSON-ready: sufficient statistics and derived scores."""
        snap: dict[str, Any] = {
            "kind": self.kind,
            "counts": dict.fromkeys(COUNTERS, 0) | dict(self.counts),
            "dead_letters": dict(self.dead_letters),
            "scored": self.scored,
            "lateness_buckets": self.lateness.counts,
            "lateness_sum_s": self.lateness.total,
            "rolling_window": self.rolling_window,
            "rolling_n": min(self.scored, self.rolling_window),
        }
        if self.costs is not None:
            snap["cost_matrix"] = {
                "false_negative": self.costs.false_negative,
                "false_positive": self.costs.false_positive,
            }
            snap["cost_sums"] = list(self.cost_sums)
            snap["costed"] = self.costed
        if self.windows is not None:
            snap["windows"] = {
                str(length): {k: v for k, v in point.items() if k not in _BULKY}
                for length, point in self.windows.current().items()
            }
        if self.kind == "classification":
            snap |= {
                "confusion": [[t, p, n] for (t, p), n in self.confusion.items()],
                "cross_entropy_sum": self.cross_entropy,
                "roc_auc": (
                    _round(self.roc_auc.get()) if self.roc_auc_n and self.binary_labels else None
                ),
                # its histograms, so that totals are the pooled predictions' ROC AUC
                "roc_pos": list(self.roc_auc.positives),
                "roc_neg": list(self.roc_auc.negatives),
                "rolling_accuracy": _round(self.rolling.get()) if self.scored else None,
                "baseline_correct": self.baseline_correct,
            }
        else:
            snap |= {
                "abs_error_sum": self.abs_error,
                "sq_error_sum": self.sq_error,
                "y_mean": self.y_mean,
                "y_m2": self.y_m2,
                "rolling_mae": _round(self.rolling.get()) if self.scored else None,
                "baseline_abs_error_sum": self.baseline_abs_error,
            }
        return snap | _derived(snap)


#: Window statistics left out of a snapshot's view of the open windows.
_BULKY = ("roc_pos", "roc_neg", "cost_sums", "cross_entropy_sum", "abs_error_sum", "sq_error_sum")


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
        labels["late_labels"] = total["dead_letters"].get("expired-observation", 0)
        total["quality"] = merge_quality(qualities, counts.get("records", 0), labels)
    lags = [
        snap["watermark_lag_s"] for snap in snapshots if snap.get("watermark_lag_s") is not None
    ]
    if lags:  # the partition furthest behind the wall clock
        total["watermark_lag_s"] = max(lags)
    return total | _derived(total)


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


def _derived(snap: dict[str, Any]) -> dict[str, Any]:
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
            "decision": _round1(decision * per),
            "argmax": _round1(argmax * per),
            "majority": _round1(majority * per),
        }
    if snap["kind"] == "classification":
        cm = metrics.ConfusionMatrix()
        for t, p, count in snap["confusion"]:
            cm.update(t, p, w=count)
        classes = {t for t, _, _ in snap["confusion"]} | {p for _, p, _ in snap["confusion"]}
        binary = classes <= {True, False}  # None predictions are never scored
        out["accuracy"] = _round(metrics.Accuracy(cm=cm).get())
        if binary:
            out["precision"] = _round(metrics.Precision(cm=cm).get())
            out["recall"] = _round(metrics.Recall(cm=cm).get())
            out["f1"] = _round(metrics.F1(cm=cm).get())
        else:
            out["precision"] = _round(metrics.MacroPrecision(cm=cm).get())
            out["recall"] = _round(metrics.MacroRecall(cm=cm).get())
            out["f1"] = _round(metrics.MacroF1(cm=cm).get())
        out["log_loss"] = _round(snap["cross_entropy_sum"] / n)
        out["baseline_accuracy"] = _round(snap["baseline_correct"] / n)
        truth: Counter[Any] = Counter()
        for t, _, count in snap["confusion"]:
            truth[t] += count
        out["majority_share"] = _round(max(truth.values()) / n)
    else:
        total_ss = snap["y_m2"]
        out["mae"] = _round(snap["abs_error_sum"] / n)
        out["rmse"] = _round(math.sqrt(snap["sq_error_sum"] / n))
        out["r2"] = _round(1 - snap["sq_error_sum"] / total_ss) if total_ss > 0 else None
        out["baseline_mae"] = _round(snap["baseline_abs_error_sum"] / n)
    return out


def _is_binary_label(label: Any) -> bool:
    """Whether ROC AUC applies to ``label``: a bool, or the int 0 or 1.

    >>> [_is_binary_label(y) for y in (True, 0, 1, 2, "yes", 1.0)]
    [True, True, True, False, False, False]
    """
    return isinstance(label, int) and label in (0, 1)


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
    return {"roc_auc": _round(roc_auc), "roc_pos": positives, "roc_neg": negatives}


def _weighted(snapshots: list[dict[str, Any]], name: str, weight: str) -> float | None:
    pairs = [(s[name], s[weight]) for s in snapshots if s.get(name) is not None and s[weight]]
    total = sum(w for _, w in pairs)
    return _round(sum(v * w for v, w in pairs) / total) if total else None


def _round(value: float) -> float:
    return round(float(value), 4)


def _round1(value: float) -> float:
    return round(float(value), 1)
