"""River's ROC AUC kept as two histograms of the predicted probability (positives,
negatives): fast to update, and summed across tasks into the ROC AUC of the pooled
predictions (:func:`driftline.core.learning.totals.merge_snapshots`)."""

from __future__ import annotations

import bisect
from typing import Any

__all__ = ["BinnedROCAUC"]


class BinnedROCAUC:
    """River's ``metrics.ROCAUC()`` (ten thresholds, positive class ``True`` or 1), kept as
    two histograms: an update is one bisect, not ten confusion-matrix updates. :meth:`get`
    builds the same true and false positive rates and integrates them with the same
    function, so the value is River's, bit for bit (``tests/unit/core/learning/test_roc_auc.py``).

    >>> m = BinnedROCAUC()
    >>> for y, p in [(0, .1), (0, .4), (1, .35), (1, .8)]:
    ...     m.update(y, {True: p})
    >>> m.get()
    0.875
    """

    def __init__(self, n_thresholds: int = 10) -> None:
        from river import metrics  # here: importing the core stays quick (the command's start)

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
        from scipy import integrate

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
