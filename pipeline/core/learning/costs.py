"""Cost-aware decisions: act on expected cost, not on the most likely class.

*Machine Learning Design Patterns* (chapter 1, multiple objectives): when a missed delay
costs five times a false alarm, predicting "on time" whenever that is more likely than
not is the wrong decision. For a binary classifier with costs ``c_fn`` (a positive
predicted negative) and ``c_fp`` (a negative predicted positive), and no cost for a right
answer, predicting positive has the lower expected cost when the positive probability
``p`` satisfies ``p * c_fn > (1 - p) * c_fp``: above the **Bayes threshold**
``c_fp / (c_fp + c_fn)`` (1/6 for the flights). That holds for a calibrated model; an
online model is rarely calibrated, so :class:`ThresholdTuner` moves the threshold to the
one that would have cost least on the recent prequential scores (each scored before its
label was learned, so the tuning uses no label it should not know).

>>> costs = CostMatrix(false_negative=5, false_positive=1)
>>> round(costs.bayes_threshold, 4)
0.1667
>>> costs.cost(True, False), costs.cost(False, True), costs.cost(True, True)
(5.0, 1.0, 0.0)
>>> decide({True: 0.3, False: 0.7}, 1 / 6)
True
>>> decide({True: 0.1, False: 0.9}, 1 / 6)
False
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

__all__ = ["CostMatrix", "ThresholdTuner", "decide", "positive_class"]


@dataclass(frozen=True)
class CostMatrix:
    """What a wrong binary decision costs; a right one costs nothing.

    The positive class is ``True`` (or ``1``): the event to catch (a delay, a fraud).
    Bounds and descriptions (``Field``) are what the settings accept
    (:meth:`driftline.core.task.config.TaskConfig.field_info`); the costs check theirs too.
    """

    false_negative: Annotated[float, Field(ge=0, description="cost of a missed positive")] = 1.0
    false_positive: Annotated[float, Field(ge=0, description="cost of a false alarm")] = 1.0

    def __post_init__(self) -> None:
        if self.false_negative < 0 or self.false_positive < 0:
            raise ValueError("costs must be >= 0")
        if self.false_negative + self.false_positive <= 0:
            raise ValueError("at least one cost must be > 0")

    @property
    def bayes_threshold(self) -> float:
        """The positive probability above which predicting positive costs less."""
        return self.false_positive / (self.false_positive + self.false_negative)

    def cost(self, y_true: Any, y_pred: Any) -> float:
        """The cost of deciding ``y_pred`` when the truth is ``y_true``."""
        truth, decided = _is_positive(y_true), _is_positive(y_pred)
        if truth == decided:
            return 0.0
        return float(self.false_negative if truth else self.false_positive)


def _is_positive(label: Any) -> bool:
    return label == True  # noqa: E712 - True and 1 are the positive class, as for ROC AUC


def positive_class(probabilities: dict[Any, float]) -> tuple[Any, Any] | None:
    """The (positive, negative) labels of a binary model's probabilities, or ``None``.

    >>> positive_class({False: 0.2, True: 0.8}), positive_class({1: 0.3, 0: 0.7})
    ((True, False), (1, 0))
    >>> positive_class({"a": 0.5, "b": 0.5}) is None
    True
    """
    if True in probabilities and all(k is True or k is False for k in probabilities):
        return True, False
    if all(type(k) is int and k in (0, 1) for k in probabilities) and probabilities:
        return 1, 0
    return None


def decide(probabilities: dict[Any, float] | None, threshold: float) -> Any:
    """Positive when the positive probability reaches ``threshold``; else negative.

    A model without binary probabilities (multi-class, or none yet) keeps its argmax.
    """
    if not probabilities:
        return None
    labels = positive_class(probabilities)
    if labels is None:
        return max(probabilities, key=probabilities.__getitem__)
    positive, negative = labels
    return positive if probabilities.get(positive, 0.0) >= threshold else negative


class ThresholdTuner:
    """The decision threshold that minimised the cost over the last ``window`` labels.

    Each scored prediction adds its positive probability, binned to ``1 / bins``, with its
    label; the threshold is re-chosen every ``every`` labels once ``min_labels`` are in
    (before that: the Bayes threshold). Candidates are the bin edges; among equally cheap
    ones the closest to the Bayes threshold wins, so a flat cost curve does not wander.

    >>> tuner = ThresholdTuner(CostMatrix(5, 1), window=100, min_labels=10, every=1)
    >>> for i in range(50):  # positives score 0.3-0.4, negatives 0.0-0.1: any cut between
    ...     tuner.update(0.3 + (i % 10) / 100, True)
    ...     tuner.update((i % 10) / 100, False)
    >>> 0.1 < tuner.threshold <= 0.3
    True
    """

    def __init__(
        self,
        costs: CostMatrix,
        *,
        window: int = 5000,
        min_labels: int = 500,
        every: int = 100,
        bins: int = 100,
    ) -> None:
        self.costs = costs
        self.window = window
        self.min_labels = min_labels
        self.every = every
        self.bins = bins
        self.threshold = costs.bayes_threshold
        self._recent: deque[tuple[int, bool]] = deque()
        self._positives = [0] * (bins + 1)
        self._negatives = [0] * (bins + 1)
        self._since = 0

    def update(self, p_positive: float, positive: bool) -> None:
        """Fold in one scored prediction's positive probability and its true label."""
        index = min(max(int(p_positive * self.bins), 0), self.bins)
        self._recent.append((index, positive))
        (self._positives if positive else self._negatives)[index] += 1
        if len(self._recent) > self.window:
            old, was_positive = self._recent.popleft()
            (self._positives if was_positive else self._negatives)[old] -= 1
        self._since += 1
        if len(self._recent) >= self.min_labels and self._since >= self.every:
            self._since = 0
            self.threshold = self._best()

    def _best(self) -> float:
        """The bin edge ``k / bins`` whose rule "positive iff bin >= k" cost least."""
        c_fn, c_fp = self.costs.false_negative, self.costs.false_positive
        # threshold at edge k: bins < k are decided negative (their positives are missed),
        # bins >= k positive (their negatives are false alarms)
        missed = 0
        alarms = sum(self._negatives)
        bayes = self.costs.bayes_threshold
        best_key: tuple[float, float] | None = None
        best = bayes
        for k in range(self.bins + 2):
            cost = c_fn * missed + c_fp * alarms
            edge = min(k / self.bins, 1.0 + 1e-9)
            key = (cost, abs(edge - bayes))
            if best_key is None or key < best_key:
                best_key, best = key, edge
            if k <= self.bins:
                missed += self._positives[k]
                alarms -= self._negatives[k]
        return best
