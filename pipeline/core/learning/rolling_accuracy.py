"""The accuracy of the last ``n`` scored predictions, as a window of hits."""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["RollingAccuracy"]


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
