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

import math
from collections import Counter
from datetime import datetime
from typing import Any

from driftline.core.durations import DurationHistogram
from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.models import ModelKind
from driftline.core.learning.roc_auc import BinnedROCAUC
from driftline.core.learning.rolling_accuracy import RollingAccuracy
from driftline.core.learning.snapshot_scores import COUNTERS, derived_scores, round4
from driftline.core.learning.totals import merge_models, merge_snapshots
from driftline.core.learning.windows import EventWindows, WindowScore

# BinnedROCAUC, RollingAccuracy, COUNTERS and the totals live in modules of their own; they
# are named here too, where readers have always found them.
#: The majority of a checkpoint that did not keep it: found from the counts.
_UNKNOWN: Any = object()

__all__ = [
    "COUNTERS",
    "BinnedROCAUC",
    "RollingAccuracy",
    "TaskMetrics",
    "merge_models",
    "merge_snapshots",
]


class TaskMetrics:
    """Counters and prequential scores of one task."""

    #: Not kept by checkpoints made before it: found from the counts at the next label.
    _majority: Any = _UNKNOWN

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
            #: The most frequent label so far (the first seen of the tied ones): the
            #: always-majority baseline's answer, kept as the counts grow.
            self._majority: Any = None
            self.baseline_correct = 0
        else:
            self.abs_error = 0.0
            self.sq_error = 0.0
            self.y_mean = 0.0  # Welford: stable even for targets far from zero
            self.y_m2 = 0.0
            from river import metrics, utils  # here: importing the core stays quick

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
        classifier = self.kind == "classification"
        if classifier and self.binary_labels and not _is_binary_label(y_true):
            self.binary_labels = False
        if y_pred is None:
            self.counts["unscored"] += 1
            return None
        self.scored += 1
        self.rolling.update(y_true, y_pred)
        if classifier:
            majority = self._majority
            if majority is _UNKNOWN:  # restored from a checkpoint that did not keep it
                majority = _most_common(self.class_counts)
            if majority is not None:
                self.baseline_correct += majority == y_true
            self._majority = _after_one_more(self.class_counts, majority, y_true)
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
                    round4(self.roc_auc.get()) if self.roc_auc_n and self.binary_labels else None
                ),
                # its histograms, so that totals are the pooled predictions' ROC AUC
                "roc_pos": list(self.roc_auc.positives),
                "roc_neg": list(self.roc_auc.negatives),
                "rolling_accuracy": round4(self.rolling.get()) if self.scored else None,
                "baseline_correct": self.baseline_correct,
            }
        else:
            snap |= {
                "abs_error_sum": self.abs_error,
                "sq_error_sum": self.sq_error,
                "y_mean": self.y_mean,
                "y_m2": self.y_m2,
                "rolling_mae": round4(self.rolling.get()) if self.scored else None,
                "baseline_abs_error_sum": self.baseline_abs_error,
            }
        return snap | derived_scores(snap)


#: Window statistics left out of a snapshot's view of the open windows.
_BULKY = ("roc_pos", "roc_neg", "cost_sums", "cross_entropy_sum", "abs_error_sum", "sq_error_sum")


def _most_common(counts: Counter[Any]) -> Any:
    """The label counted most, the first counted of the tied ones (``None``: none yet).

    >>> _most_common(Counter({"a": 1, "b": 2, "c": 2})), _most_common(Counter())
    ('b', None)
    """
    return max(counts, key=counts.__getitem__) if counts else None


def _after_one_more(counts: Counter[Any], majority: Any, label: Any) -> Any:
    """Count ``label`` in ``counts``, whose most common label is ``majority``; the most
    common label after it, as :func:`_most_common` would find it (without a pass over
    the labels: only ``label`` changed, so it alone can overtake ``majority`` or tie it).

    >>> counts = Counter({"a": 2, "b": 1})
    >>> _after_one_more(counts, "a", "b"), _after_one_more(counts, "a", "b")
    ('a', 'b')
    >>> counts = Counter({"b": 2, "a": 1})
    >>> _after_one_more(counts, "b", "c"), _after_one_more(counts, "b", "a")
    ('b', 'b')
    """
    first = not counts
    counts[label] += 1
    if first:
        return next(iter(counts))
    if label == majority:
        return majority
    n, lead = counts[label], counts[majority]
    if n < lead:
        return majority
    for seen in counts:  # the key as counted; of tied ones the first counted, as max()
        if seen == label or (n == lead and seen == majority):
            return seen
    return majority  # unreachable: the label is counted


def _is_binary_label(label: Any) -> bool:
    """Whether ROC AUC applies to ``label``: a bool, or the int 0 or 1.

    >>> [_is_binary_label(y) for y in (True, 0, 1, 2, "yes", 1.0)]
    [True, True, True, False, False, False]
    """
    return isinstance(label, int) and label in (0, 1)
