"""Category shares in tumbling count windows, compared by the population stability index.

``PSI = sum((a - e) * ln(a / e))`` over the shares ``a`` of the current window and ``e``
of the reference, category by category. Read 0.1 as a moderate shift and 0.25 as a
significant one. With no change at all, PSI is about a chi-square with ``k - 1`` degrees
of freedom scaled by ``1/n_a + 1/n_e`` (``k`` bins), so its noise is about
``(k - 1) * (1/n_a + 1/n_e)``: the windows must be large next to the number of
categories (21 bins in windows of 1,000: about 0.04, far under 0.25).

Memory is bounded: the first ``max_categories`` distinct values seen are tracked, every
later one is counted in one "other" bucket (:data:`OTHER`), and two windows of counts are
kept. An empty bin is smoothed (``+0.5`` to every count) so that PSI stays finite.
Bins are summed in insertion order, never in set order: the same stream gives the same
float in any process, whatever its hash seed.

>>> round(population_stability_index({"a": 50, "b": 50}, {"a": 50, "b": 50}), 4)
0.0
>>> round(population_stability_index({"a": 90, "b": 10}, {"a": 50, "b": 50}), 3)
0.853
>>> w = ShareWindows(4, threshold=0.25)
>>> [w.update(v) for v in "aaab" + "aaba"]  # same shares: a window closes, no shift
[None, None, None, None, None, None, None, None]
>>> w.last_psi
0.0
>>> psi = [w.update(v) for v in "bbbb"][-1]  # the next window is all "b": a shift
>>> round(psi, 2), w.last_window
(1.83, (4, 4))
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any, Final, Literal

__all__ = ["OTHER", "Reference", "ShareWindows", "population_stability_index"]

#: The bucket of values beyond the first ``max_categories``: never a category itself.
OTHER: Final = None

#: What a closed window is compared with: the window before it, or a fixed reference (the
#: first full window, replaced by the window that raised the last alarm).
Reference = Literal["previous", "first"]


def population_stability_index(
    actual: Mapping[Any, int], expected: Mapping[Any, int], smoothing: float = 0.5
) -> float:
    """PSI of the counts ``actual`` against ``expected`` (``smoothing`` added to each bin)."""
    bins = list(expected) + [b for b in actual if b not in expected]
    k = len(bins)
    n_a = sum(actual.values()) + smoothing * k
    n_e = sum(expected.values()) + smoothing * k
    psi = 0.0
    for b in bins:
        a = (actual.get(b, 0) + smoothing) / n_a
        e = (expected.get(b, 0) + smoothing) / n_e
        psi += (a - e) * math.log(a / e)
    return psi


class ShareWindows:
    """Counts of one categorical stream in tumbling windows of ``window`` values.

    :meth:`update` returns the PSI of a window that just closed above ``threshold``
    against its reference (an alarm), else ``None``; ``last_psi`` and ``last_window`` (the
    sizes of the two windows compared) say what the last closed window scored.
    """

    def __init__(
        self,
        window: int,
        *,
        threshold: float = 0.25,
        max_categories: int = 20,
        reference: Reference = "previous",
    ) -> None:
        if window < 1 or max_categories < 1:
            raise ValueError("window and max_categories must be at least 1")
        self.window = window
        self.threshold = threshold
        self.max_categories = max_categories
        self.reference_mode: Reference = reference
        #: The tracked categories, in the order first seen (a dict: ordered, unlike a set).
        self.known: dict[Hashable, None] = {}
        self.current: dict[Hashable, int] = {}
        self.reference: dict[Hashable, int] | None = None
        self.filled = 0
        self.last_psi: float | None = None
        self.last_window = (0, 0)

    def update(self, value: Hashable) -> float | None:
        """Count ``value``; at the end of a window, compare it with the reference."""
        if value not in self.known:
            if len(self.known) < self.max_categories and value is not OTHER:
                self.known[value] = None
            else:
                value = OTHER
        current = self.current
        current[value] = current.get(value, 0) + 1
        self.filled += 1
        if self.filled < self.window:
            return None
        return self._close()

    def _close(self) -> float | None:
        closed, reference = self.current, self.reference
        self.current, self.filled = {}, 0
        if reference is None:
            self.reference = closed
            return None
        psi = population_stability_index(closed, reference)
        self.last_psi = psi
        self.last_window = (self.window, sum(reference.values()))
        shifted = psi > self.threshold
        if shifted or self.reference_mode == "previous":
            self.reference = closed
        return psi if shifted else None
