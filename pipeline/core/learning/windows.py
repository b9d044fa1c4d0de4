"""Scores over event-time windows: one point per window, to chart a model as it learns.

A task scores each label at the outcome's event time. :class:`EventWindows` keeps, per
window length (an hour and a day of event time by default), the sufficient statistics of
the labels scored in the current window; when a label's time falls in a later window, the
current one is *closed* and becomes a point. Points carry sums, not ratios, so the points of
one window from several partitions add up exactly (:func:`merge_points`), as the task
metrics do. A label older than the current window (outcomes arrive a little out of order)
is counted in the current window: a point covers the labels scored while the newest label
time was in it, which a replay reproduces exactly.

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2013, 1, 1, tzinfo=UTC)
>>> windows = EventWindows((3600,))
>>> _ = windows.add(t0, WindowScore(correct=True, cross_entropy=0.1, p_true=0.8, y_true=True))
>>> _ = windows.add(t0 + timedelta(minutes=30), WindowScore(False, 1.2, 0.7, False))
>>> closed = windows.add(t0 + timedelta(hours=1), WindowScore(True, 0.2, 0.9, True))
>>> point = closed[0]
>>> point["start"], point["n"], point["correct"]
('2013-01-01T00:00:00+00:00', 2, 1)
>>> window_scores(point)["accuracy"], window_scores(point)["log_loss"]
(0.5, 0.65)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["EventWindows", "WindowScore", "merge_points", "window_scores"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: ROC AUC per window over River's ten thresholds, as metrics.BinnedROCAUC bins it.
_THRESHOLDS = [-1e-07, *(i / 9 for i in range(1, 9)), 1.0000001]
_ROC_BINS = len(_THRESHOLDS) + 1


@dataclass(slots=True)
class WindowScore:
    """One scored label, as a window needs it (one per label: not frozen, which would
    cost five times the time to build it; nothing changes one).

    Classifiers: whether the prediction was right, its cross-entropy, the positive
    probability and truth (ROC AUC; ``None`` when not binary), and the costs of the three
    decisions (``None`` without a cost matrix). Regressors: ``error``.
    """

    correct: bool | None = None
    cross_entropy: float | None = None
    p_true: float | None = None
    y_true: bool | None = None
    costs: tuple[float, float, float] | None = None  # decision, argmax, majority
    error: float | None = None


def _empty(length: float, start_s: float) -> dict[str, Any]:
    return {
        "window_s": length,
        "start_s": start_s,
        "start": (_EPOCH + timedelta(seconds=start_s)).isoformat(),
        "n": 0,
        "correct": 0,
        "cross_entropy_sum": 0.0,
        "roc_pos": [0] * _ROC_BINS,
        "roc_neg": [0] * _ROC_BINS,
        "cost_sums": [0.0, 0.0, 0.0],
        "costed": 0,
        "abs_error_sum": 0.0,
        "sq_error_sum": 0.0,
    }


def _add(point: dict[str, Any], score: WindowScore) -> None:
    point["n"] += 1
    if score.correct is not None:
        point["correct"] += score.correct
    if score.cross_entropy is not None:
        point["cross_entropy_sum"] += score.cross_entropy
    if score.p_true is not None and score.y_true is not None:
        index = bisect.bisect_left(_THRESHOLDS, score.p_true)
        (point["roc_pos"] if score.y_true else point["roc_neg"])[index] += 1
    if score.costs is not None:
        sums = point["cost_sums"]
        for i, cost in enumerate(score.costs):
            sums[i] += cost
        point["costed"] += 1
    if score.error is not None:
        point["abs_error_sum"] += abs(score.error)
        point["sq_error_sum"] += score.error * score.error


class EventWindows:
    """The open window of each length, and the points of the windows it closed."""

    def __init__(self, lengths: Iterable[float] = (3600, 86400)) -> None:
        #: Whole seconds stay ints (their keys read "3600"); a fraction is kept as given.
        self.lengths = tuple(int(n) if float(n).is_integer() else float(n) for n in lengths)
        self._micros = {length: round(length * 1_000_000) for length in self.lengths}
        self.open: dict[float, dict[str, Any]] = {}

    #: The event time before which no open window closes: every window is open and ends
    #: later (``None``: not known). A class default, so that a checkpoint made before it
    #: restores (its first label takes the long way and sets it).
    _until: datetime | None = None

    def add(self, at: datetime, score: WindowScore) -> list[dict[str, Any]]:
        """Count ``score`` at event time ``at``; return the points of windows it closed."""
        until = self._until
        if until is not None and at < until:  # the usual case: inside every open window
            for open_point in self.open.values():
                _add(open_point, score)
            return []
        micros = (at - _EPOCH) // _MICROSECOND
        closed = []
        ends = []  # where each open window ends (-1: not known)
        for length in self.lengths:
            span = self._micros[length]
            start_us = micros - micros % span
            start = start_us // 1_000_000 if type(length) is int else start_us / 1_000_000
            point = self.open.get(length)
            end = start_us + span
            if point is None or start > point["start_s"]:
                if point is not None and point["n"]:
                    closed.append(point)
                point = self.open[length] = _empty(length, start)
            elif start != point["start_s"]:  # an older label: where its window ends is moot
                end = -1
            _add(point, score)
            ends.append(end)
        earliest = min(ends, default=-1)
        self._until = _EPOCH + timedelta(microseconds=earliest) if earliest >= 0 else None
        return closed

    def current(self) -> dict[float, dict[str, Any]]:
        """The open window of each length, with its scores so far."""
        return {length: point | window_scores(point) for length, point in self.open.items()}


def merge_points(points: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of points of one window (from several partitions), with its scores."""
    total: dict[str, Any] | None = None
    for point in points:
        if total is None:
            total = _empty(point["window_s"], point["start_s"])
        for name in ("n", "correct", "cross_entropy_sum", "costed"):
            total[name] += point[name]
        for name in ("abs_error_sum", "sq_error_sum"):
            total[name] += point.get(name, 0.0)
        for name in ("roc_pos", "roc_neg", "cost_sums"):
            total[name] = [a + b for a, b in zip(total[name], point[name], strict=True)]
    if total is None:
        raise ValueError("no points to merge")
    return total | window_scores(total)


def window_scores(point: Mapping[str, Any]) -> dict[str, Any]:
    """Accuracy, ROC AUC, log loss and cost per 1,000 (or MAE and RMSE) of a point."""
    n = point["n"]
    if not n:
        return {}
    out: dict[str, Any] = {}
    if point["abs_error_sum"] or point["sq_error_sum"]:
        out["mae"] = round(point["abs_error_sum"] / n, 4)
        out["rmse"] = round(math.sqrt(point["sq_error_sum"] / n), 4)
    else:
        out["accuracy"] = round(point["correct"] / n, 4)
        out["log_loss"] = round(point["cross_entropy_sum"] / n, 4)
        out["roc_auc"] = _roc_auc(point["roc_pos"], point["roc_neg"])
    if point["costed"]:
        per = 1000 / point["costed"]
        decision, argmax, majority = point["cost_sums"]
        out["cost_per_1000"] = {
            "decision": round(decision * per, 1),
            "argmax": round(argmax * per, 1),
            "majority": round(majority * per, 1),
        }
    return out


def _roc_auc(positives: list[int], negatives: list[int]) -> float | None:
    """River's ROC AUC from the bins (the trapezoid of metrics.BinnedROCAUC.get)."""
    total_pos, total_neg = sum(positives), sum(negatives)
    if not total_pos or not total_neg:
        return None
    tprs, fprs = [], []
    above_pos, above_neg = total_pos, total_neg
    for i in range(len(_THRESHOLDS)):
        above_pos -= positives[i]
        above_neg -= negatives[i]
        tprs.append(above_pos / total_pos)
        fprs.append(above_neg / total_neg)
    area = 0.0
    for i in range(1, len(tprs)):
        area -= (fprs[i] - fprs[i - 1]) * (tprs[i - 1] + tprs[i]) / 2
    return round(area, 4)
