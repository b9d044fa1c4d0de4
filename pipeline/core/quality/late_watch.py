"""Say it loudly when lateness keeps a task from learning.

A late policy (``predict-only``, ``dead-letter``) protects the model from what arrives
after the allowed lateness; when most of a stream arrives late (a producer that fell far
behind, a lateness set for another clock) the same policy quietly stops the learning, and
a quality counter alone does not make that visible (``docs/decisions.md``, "A replay's
clock"). :class:`LateWatch` follows the share of late
observations among the last ``window`` the contract checked, and says ``"starved"``
when it reaches ``alarm_share`` and ``"recovered"`` once it is back under
``clear_share``: the task turns each into an alert (kind ``timeliness``). It counts in
log order, so a replay raises the same alerts at the same offsets.

>>> watch = LateWatch(window=10, alarm_share=0.5, clear_share=0.2)
>>> [watch.observe(late) for late in [False] * 5 + [True] * 5]
[None, None, None, None, None, None, None, None, None, 'starved']
>>> watch.share, watch.starved
(0.5, True)
>>> signals = [watch.observe(False) for _ in range(10)]
>>> signals.index("recovered"), watch.starved
(7, False)
"""

from __future__ import annotations

from collections import deque
from typing import Literal

__all__ = ["LateSignal", "LateWatch"]

LateSignal = Literal["starved", "recovered"]


class LateWatch:
    """The late share over the last ``window`` observations, with hysteresis."""

    def __init__(self, window: int = 1000, alarm_share: float = 0.2, clear_share: float = 0.05):
        if not 0 <= clear_share < alarm_share <= 1:
            raise ValueError("need 0 <= clear_share < alarm_share <= 1")
        self.window = window
        self.alarm_share = alarm_share
        self.clear_share = clear_share
        self._flags: deque[bool] = deque(maxlen=window)
        self._late = 0
        self.starved = False
        #: Alerts raised so far (starved and recovered).
        self.signals = 0

    @property
    def share(self) -> float:
        return self._late / len(self._flags) if self._flags else 0.0

    def observe(self, late: bool) -> LateSignal | None:
        """One observation checked; the signal it completes, if any (only once the window
        is full, so a stream's first few late events do not alarm)."""
        if len(self._flags) == self.window and self._flags[0]:
            self._late -= 1
        self._flags.append(late)
        self._late += late
        if len(self._flags) < self.window:
            return None
        share = self._late / self.window
        if not self.starved and share >= self.alarm_share:
            self.starved = True
            self.signals += 1
            return "starved"
        if self.starved and share <= self.clear_share:
            self.starved = False
            self.signals += 1
            return "recovered"
        return None
