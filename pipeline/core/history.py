"""Label history: how often the outcome was positive lately, per entity and per segment.

A streaming feature that batch pipelines get wrong easily. The rate is read when the
observation is predicted and updated only when an outcome is *learned*, so it never holds
a label the stream had not delivered by then. Flight delays cluster (weather,
congestion), so the recent late rate of the plane, the origin airport and the carrier is
a strong signal.

>>> history = LabelHistory(alpha=0.5, groups=("key", "carrier"))
>>> groups = history.groups_of("EWR", {"carrier": "UA", "distance": 1400})
>>> groups
{'key': 'EWR', 'carrier': 'UA'}
>>> history.features(groups)
{}
>>> history.update(groups, True)
>>> history.update(groups, False)
>>> history.features(groups)
{'recent_label[key]': 0.5, 'recent_label[carrier]': 0.5}

**Point in time.** Delivered is not the same as *happened before*: when events arrive out
of order, an outcome whose event time is later than an observation's may be learned
before that observation is predicted. Given the outcome's event time (``update(...,
event_time=)``) and the observation's (``features(..., as_of=)``), the rate is that of
the outcomes with ``event_time <= as_of`` only, taken in event-time order, whatever the
order they were learned in:

>>> from datetime import UTC, datetime
>>> at = lambda hour: datetime(2013, 1, 1, hour, tzinfo=UTC)
>>> timed = LabelHistory(alpha=0.5, groups=("key",))
>>> timed.update({"key": "N14228"}, True, event_time=at(9))
>>> timed.update({"key": "N14228"}, False, event_time=at(7))
>>> timed.features({"key": "N14228"}, as_of=at(8))  # the 9 o'clock outcome is not yet
{'recent_label[key]': 0.0}
>>> timed.features({"key": "N14228"}, as_of=at(10))
{'recent_label[key]': 0.5}
>>> timed.features({"key": "N14228"}, as_of=at(6))
{}
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = ["LabelHistory"]

#: Weight below which an older label is left out of a point-in-time rate.
_NEGLIGIBLE = 0.01


class LabelHistory:
    """Exponentially weighted mean of numeric labels per (group, value).

    Without times, labels are folded in the order they are learned. With times, each
    (group, value) keeps its last ``max_timed`` labels sorted by event time, and a rate
    *as of* a time is the weighted mean, in event-time order, of the labels up to it whose
    weight is at least 1% (the last ``window`` of them); an ``as_of`` before the oldest
    label kept sees only those kept, never a later one.
    """

    def __init__(
        self, alpha: float = 0.05, groups: tuple[str, ...] = ("key",), max_timed: int = 4096
    ) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        if max_timed < 1:
            raise ValueError(f"max_timed must be at least 1, got {max_timed}")
        self.alpha = alpha
        self.groups = groups
        self.max_timed = max_timed
        #: Labels older than this many (per slot) weigh under 1% in a timed rate.
        self.window = 1 if alpha == 1 else math.ceil(math.log(_NEGLIGIBLE) / math.log(1 - alpha))
        self._means: dict[tuple[str, str], float] = {}
        #: Per slot: event times (epoch seconds, sorted) and the labels at them.
        self._timed: dict[tuple[str, str], tuple[list[float], list[float]]] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled history, one from before timed labels included."""
        state.setdefault("max_timed", 4096)
        state.setdefault("_timed", {})
        self.__dict__.update(state)
        if "window" not in state:
            self.window = (
                1
                if self.alpha == 1
                else math.ceil(math.log(_NEGLIGIBLE) / math.log(1 - self.alpha))
            )

    def groups_of(self, key: str, features: Mapping[str, Any]) -> dict[str, str]:
        """The segment values of one observation (``key`` is the entity)."""
        found: dict[str, str] = {}
        for group in self.groups:
            value = key if group == "key" else features.get(group)
            if value is not None:
                found[group] = str(value)
        return found

    def features(
        self, groups: Mapping[str, str], as_of: datetime | None = None
    ) -> dict[str, float]:
        """``recent_label[group]`` of each group that has labels: as learned, or as of a time.

        With ``as_of``, only labels given an ``event_time`` at or before it count.
        """
        out: dict[str, float] = {}
        if as_of is None:
            for group, value in groups.items():
                mean = self._means.get((group, value))
                if mean is not None:
                    out[f"recent_label[{group}]"] = mean
            return out
        until = as_of.timestamp()
        for group, value in groups.items():
            slot = self._timed.get((group, value))
            if slot is None:
                continue
            times, labels = slot
            end = bisect.bisect_right(times, until)
            if end:
                out[f"recent_label[{group}]"] = self._ewm(labels[max(0, end - self.window) : end])
        return out

    def _ewm(self, labels: list[float]) -> float:
        mean = labels[0]
        for y in labels[1:]:
            mean += self.alpha * (y - mean)
        return mean

    def update(
        self, groups: Mapping[str, str], label: Any, event_time: datetime | None = None
    ) -> None:
        """Fold one learned label in (booleans count 1/0; text labels are skipped).

        ``event_time`` (the outcome's) also files it for rates :meth:`features` gives
        ``as_of`` a time.
        """
        if isinstance(label, str):
            return
        y = float(label)
        for group, value in groups.items():
            slot = (group, value)
            mean = self._means.get(slot)
            self._means[slot] = y if mean is None else mean + self.alpha * (y - mean)
        if event_time is None:
            return
        when = event_time.timestamp()
        for group, value in groups.items():
            times, labels = self._timed.setdefault((group, value), ([], []))
            at = bisect.bisect_right(times, when)
            times.insert(at, when)
            labels.insert(at, y)
            if len(times) > self.max_timed:
                del times[0], labels[0]
