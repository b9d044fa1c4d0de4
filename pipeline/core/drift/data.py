"""Data drift: of the features (:class:`FeatureMonitor`) and of the labels
(:class:`LabelMonitor`). Numbers go through a River detector, categories through tumbling
windows of shares compared by PSI (:mod:`driftline.core.drift.psi`). Pure, seeded, picklable.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from typing import Any, Literal

from driftline.core.drift.alarms import Alarm, detector_alarm, psi_alarm
from driftline.core.drift.detectors import OWN_WARNING, DetectorName, make_detector
from driftline.core.drift.psi import Reference, ShareWindows
from driftline.core.errors import ConfigError
from driftline.core.learning.models import ModelKind

__all__ = ["FeatureMonitor", "LabelMonitor"]


class FeatureMonitor:
    """Feature drift: numbers through a detector each, strings through PSI windows.

    A feature is tracked from its first value, at most ``max_features`` of them (later
    ones are counted in ``untracked``); bools count as numbers, NaN, infinities and other
    types are skipped. String features are counted in tumbling windows of
    ``category_window`` values (at most ``max_categories`` categories each, the rest in
    one bucket) and a window whose PSI against its reference exceeds ``psi_threshold``
    is an alarm. DDM and EDDM watch 0/1 errors, not features: refused. PageHinkley's
    threshold (25) is in the feature's units: fit for features scaled near 1 only.

    KSWIN runs a KS test per number, hundreds of times ADWIN's or PageHinkley's cost, so
    it is no default (``docs/performance.md``, "What the drift detectors cost").

    >>> m = FeatureMonitor(category_window=100)
    >>> xs = [{"x": float(i >= 200), "c": "ab"[i >= 300]} for i in range(400)]
    >>> [(a.kind, a.subject, a.detector) for x in xs for a in m.update(x)]
    [('feature', 'x', 'ADWIN'), ('category', 'c', 'PSI')]
    """

    def __init__(
        self,
        detector: DetectorName | Literal["PSI"] = "ADWIN",
        *,
        max_features: int = 64,
        category_window: int = 1000,
        psi_threshold: float = 0.25,
        max_categories: int = 20,
        reference: Reference = "previous",
        seed: int = 42,
    ) -> None:
        if detector in OWN_WARNING:
            raise ConfigError(
                f"{detector} watches 0/1 errors; features need PSI, ADWIN, PageHinkley or KSWIN"
            )
        self.name = detector
        self.max_features = max_features
        self.category_window = category_window
        self.psi_threshold = psi_threshold
        self.max_categories = max_categories
        self.reference: Reference = reference
        self.seed = seed
        self.numeric: dict[str, Any] = {}
        self.categorical: dict[str, ShareWindows] = {}
        self.untracked = 0

    def update(self, x: dict[str, Any]) -> list[Alarm]:
        """Feed one observation's features; the alarms it raised (usually none)."""
        alarms: list[Alarm] = []
        numeric = self.numeric
        for name, value in x.items():
            kind = type(value)
            if kind is float or kind is int or kind is bool:
                detector = numeric.get(name)
                if detector is None:
                    if not math.isfinite(value) or not self._room():
                        continue
                    detector = numeric[name] = self._numeric_detector()
                elif value - value != 0:  # NaN or an infinity
                    continue
                if self.name == "PSI":
                    psi = detector.update(value)
                    if psi is not None:
                        alarms.append(psi_alarm("feature", name, detector.windows, psi))
                    continue
                detector.update(value)
                if detector.drift_detected:
                    alarms.append(detector_alarm("feature", name, self.name, "drift", detector))
            elif kind is str:
                windows = self.categorical.get(name)
                if windows is None:
                    if not self._room():
                        continue
                    windows = self.categorical[name] = ShareWindows(
                        self.category_window,
                        threshold=self.psi_threshold,
                        max_categories=self.max_categories,
                        reference=self.reference,
                    )
                psi = windows.update(value)
                if psi is not None:
                    alarms.append(psi_alarm("category", name, windows, psi))
        return alarms

    def _seed(self) -> int:
        return self.seed + len(self.numeric)

    def _numeric_detector(self) -> Any:
        if self.name == "PSI":
            return BinnedShares(
                ShareWindows(
                    self.category_window,
                    threshold=self.psi_threshold,
                    max_categories=self.max_categories,
                    reference=self.reference,
                )
            )
        return make_detector(self.name, seed=self._seed())

    def _room(self) -> bool:
        if len(self.numeric) + len(self.categorical) < self.max_features:
            return True
        self.untracked += 1
        return False


class BinnedShares:
    """A number's distribution as shares of bins, compared window by window by PSI.

    The bins come from the first window of values (fixed from then on, so every window is
    binned alike): a value that alone holds at least one bin's share of it (a tie, such as
    the 0 of a zero-inflated feature: no rain in 93% of the hours) gets a bin of its own,
    and the deciles of the other values cut the rest. Each value then counts in the
    tumbling windows of ``windows`` as its bin. Decile edges alone would collapse on a tie
    and put the tied value in one bin with everything above it: a feature that is 95%
    zeros, then 70% rain, would keep the shares of that one bin and never raise an alarm.

    Unlike a detector on the raw stream, a window of many values averages out cycles
    shorter than itself (the hour of the day over a few days), so an alarm means the
    distribution moved, not that the day went on.

    >>> shares = BinnedShares(ShareWindows(100))
    >>> [i for i in range(400) if shares.update(float(i % 10 if i < 250 else 9)) is not None]
    [299, 399]
    >>> rain = BinnedShares(ShareWindows(100))  # dry, then wet
    >>> hours = [float(i % 20 == 0) for i in range(200)] + [float(i % 10) for i in range(100)]
    >>> [i for i, x in enumerate(hours) if rain.update(x) is not None]
    [299]
    >>> rain.tied, rain.edges
    ({0.0: -1}, [1.0])
    """

    def __init__(self, windows: ShareWindows, bins: int = 10) -> None:
        self.windows = windows
        self.bins = bins
        self.edges: list[float] | None = None
        #: The tied values and their bins (negative numbers: never an interval's).
        self.tied: dict[float, int] = {}
        self._first: list[float] = []

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "tied" not in state:  # a checkpoint made before tied values had bins of their own
            state = state | {"tied": {}}
            if state.get("edges") is not None:
                # its windows count the old bins: they are drawn again from the next window
                old: ShareWindows = state["windows"]
                state |= {
                    "edges": None,
                    "_first": [],
                    "windows": ShareWindows(
                        old.window,
                        threshold=old.threshold,
                        max_categories=old.max_categories,
                        reference=old.reference_mode,
                    ),
                }
        self.__dict__.update(state)

    def update(self, value: float) -> float | None:
        edges = self.edges
        if edges is not None:  # inline: this runs for every number of every observation
            own = self.tied.get(value)
            return self.windows.update(
                own if own is not None else bisect.bisect_right(edges, value)
            )
        self._first.append(float(value))
        if len(self._first) < self.windows.window:
            return None
        first, self._first = self._first, []
        self._draw_bins(first)
        found = None
        for held in first:
            found = self.update(held)
        return found

    def _draw_bins(self, first: list[float]) -> None:
        counts = Counter(first)
        share = len(first) / self.bins
        tied = sorted(v for v, n in counts.items() if n >= share)
        self.tied = {v: -1 - i for i, v in enumerate(tied)}
        rest = sorted(v for v in first if v not in self.tied)
        cuts = {rest[len(rest) * k // self.bins] for k in range(1, self.bins)} if rest else set()
        self.edges = sorted(cuts)


class LabelMonitor:
    """Drift of the labels: of the positive share (binary), the class shares (PSI, once a
    label other than ``True``/``False``/``0``/``1`` is seen), or the value (regression).

    With DDM or EDDM only a rise of the positive share is seen; they refuse regression.

    >>> m = LabelMonitor("classification", category_window=100)
    >>> [a.detector for i in range(600) for a in m.update(i % 3 if i < 300 else "abc"[i % 2])]
    ['PSI']
    """

    def __init__(
        self,
        kind: ModelKind,
        *,
        detector: DetectorName | Literal["PSI"] = "ADWIN",
        category_window: int = 1000,
        psi_threshold: float = 0.25,
        max_categories: int = 20,
        seed: int = 42,
    ) -> None:
        if kind == "regression" and detector in OWN_WARNING:
            raise ConfigError(f"{detector} watches 0/1 values; a regression label needs another")
        self.kind: ModelKind = kind
        self.name = detector
        #: "PSI": the class shares (or a regression label's deciles) window by window only.
        self.detector: Any = (
            make_detector(detector, seed=seed)
            if detector != "PSI"
            else BinnedShares(ShareWindows(category_window, threshold=psi_threshold))
        )
        self.binary = kind == "classification" and detector != "PSI"
        self.shares = ShareWindows(
            category_window, threshold=psi_threshold, max_categories=max_categories
        )

    def update(self, label: Any) -> list[Alarm]:
        """Feed one label; the alarms it raised (at most one)."""
        if self.name == "PSI" and self.kind == "regression":
            psi = self.detector.update(float(label))
            return [] if psi is None else [psi_alarm("label", "label", self.detector.windows, psi)]
        if self.kind == "regression":
            self.detector.update(float(label))
        else:
            if self.binary and not (isinstance(label, int) and label in (0, 1)):
                self.binary = False
            psi = self.shares.update(label)
            if not self.binary:
                return [] if psi is None else [psi_alarm("label", "label", self.shares, psi)]
            self.detector.update(int(label))
        if self.detector.drift_detected:
            return [detector_alarm("label", "label", self.name, "drift", self.detector)]
        return []
