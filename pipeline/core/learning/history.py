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

**Bounded.** A history keeps at most ``max_slots`` (group, value) slots and ``max_labels``
labels over all of them (each slot its last ``max_timed``): beyond either, the least
recently used slots (read for a prediction or given a label) are evicted, so a stream of
ever new keys holds memory and checkpoints to the bound, and an entity seen again after
that many others starts afresh. The order of use is part of the state (checkpointed with
it), so a replay evicts the same slots:

>>> small = LabelHistory(alpha=0.5, groups=("key",), max_slots=2)
>>> for plane in ("N1", "N2", "N3"):
...     small.update({"key": plane}, True, event_time=at(9))
>>> len(small), small.evicted, small.features({"key": "N1"}, as_of=at(10))
(2, 1, {})
"""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = ["DEFAULT_MAX_LABELS", "DEFAULT_MAX_SLOTS", "LabelHistory"]

#: Weight below which an older label is left out of a rate.
_NEGLIGIBLE = 0.01

#: (group, value) slots a history keeps by default (``DRIFTLINE_HISTORY_MAX_SLOTS``): ten
#: times what the flights demo needs with the whole year in one partition (4,389: 4,043
#: planes, 223 routes, 104 destinations, 16 carriers, 3 origins), so it never evicts one
#: there. 50,000 slots of one label each take about 25 MB, 2 MB in a checkpoint.
DEFAULT_MAX_SLOTS = 50_000
#: Labels a history keeps over all its slots by default (``DRIFTLINE_HISTORY_MAX_LABELS``),
#: about 64 bytes each in memory: twice the demo's 885,603 with the whole year in one
#: partition (with three, each holds about 386,000).
DEFAULT_MAX_LABELS = 2_000_000

#: A slot: event times (epoch seconds, sorted; ``inf`` for a label given no time) and the
#: labels at them.
_Slot = tuple[list[float], list[float]]


class LabelHistory:
    """Exponentially weighted mean of numeric labels per (group, value), in bounded memory.

    Each (group, value) slot keeps its last ``max_timed`` labels sorted by event time (a
    label given no time counts after every timed one, in the order learned). A rate *as
    of* a time is the weighted mean, in event-time order, of the labels up to it whose
    weight is at least 1% (the last ``window`` of them); an ``as_of`` before the oldest
    label kept sees only those kept, never a later one; without ``as_of`` every label kept
    counts. At most ``max_slots`` slots and ``max_labels`` labels over all of them are
    kept: beyond either, the least recently used slots are evicted first.
    """

    def __init__(
        self,
        alpha: float = 0.05,
        groups: tuple[str, ...] = ("key",),
        max_timed: int = 4096,
        max_slots: int = DEFAULT_MAX_SLOTS,
        max_labels: int = DEFAULT_MAX_LABELS,
    ) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        if max_timed < 1:
            raise ValueError(f"max_timed must be at least 1, got {max_timed}")
        if max_slots < 1:
            raise ValueError(f"max_slots must be at least 1, got {max_slots}")
        if max_labels < 1:
            raise ValueError(f"max_labels must be at least 1, got {max_labels}")
        self.alpha = alpha
        self.groups = groups
        self.max_timed = max_timed
        self.max_slots = max_slots
        self.max_labels = max_labels
        #: Labels older than this many (per slot) weigh under 1% in a rate.
        self.window = _window(alpha)
        #: The slots, least recently used first.
        self._slots: OrderedDict[tuple[str, str], _Slot] = OrderedDict()
        #: Labels held over all slots.
        self.labels = 0
        #: Slots evicted to keep within the bounds.
        self.evicted = 0

    def __len__(self) -> int:
        """How many (group, value) slots are kept."""
        return len(self._slots)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled history, also one from before slots were bounded: its
        ``_means`` (never read by a task) are dropped, its slots kept in the order made,
        with bounds no tighter than what it holds."""
        if "_slots" not in state:
            state.pop("_means", None)
            slots = OrderedDict(state.pop("_timed", None) or {})
            held = sum(len(times) for times, _ in slots.values())
            state["_slots"] = slots
            state["labels"] = held
            state["evicted"] = 0
            state.setdefault("max_timed", 4096)
            state["max_slots"] = max(DEFAULT_MAX_SLOTS, len(slots))
            state["max_labels"] = max(DEFAULT_MAX_LABELS, held)
        self.__dict__.update(state)
        if "window" not in state:
            self.window = _window(self.alpha)

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
        """``recent_label[group]`` of each group that has labels: all kept, or as of a time.

        With ``as_of``, only labels given an ``event_time`` at or before it count. A slot
        read is used: the last to be evicted.
        """
        out: dict[str, float] = {}
        slots = self._slots
        until = None if as_of is None else as_of.timestamp()
        for group, value in groups.items():
            name = (group, value)
            slot = slots.get(name)
            if slot is None:
                continue
            slots.move_to_end(name)
            times, labels = slot
            end = len(times) if until is None else bisect.bisect_right(times, until)
            if end:
                out[f"recent_label[{group}]"] = self._ewm(labels, max(0, end - self.window), end)
        return out

    def _ewm(self, labels: list[float], start: int, end: int) -> float:
        """The exponentially weighted mean of ``labels[start:end]``, oldest first."""
        alpha = self.alpha
        mean = labels[start]
        for y in labels[start + 1 : end]:
            mean += alpha * (y - mean)
        return mean

    def update(
        self, groups: Mapping[str, str], label: Any, event_time: datetime | None = None
    ) -> None:
        """Fold one learned label in (booleans count 1/0; text labels are skipped).

        ``event_time`` (the outcome's) files it for rates :meth:`features` gives ``as_of``
        a time; without one it counts only in rates of every label kept.
        """
        if isinstance(label, str):
            return
        y = float(label)
        when = math.inf if event_time is None else event_time.timestamp()
        slots = self._slots
        keep = min(self.max_timed, self.max_labels)
        for group, value in groups.items():
            name = (group, value)
            slot = slots.get(name)
            if slot is None:
                slot = slots[name] = ([], [])
            else:
                slots.move_to_end(name)
            times, labels = slot
            at = bisect.bisect_right(times, when)
            times.insert(at, when)
            labels.insert(at, y)
            if len(times) > keep:
                del times[0], labels[0]
            else:
                self.labels += 1
        while len(slots) > self.max_slots or self.labels > self.max_labels:
            _, (times, _) = slots.popitem(last=False)  # the least recently used
            self.labels -= len(times)
            self.evicted += 1


def _window(alpha: float) -> int:
    """How many of the last labels weigh at least 1% in a mean smoothed by ``alpha``."""
    return 1 if alpha == 1 else math.ceil(math.log(_NEGLIGIBLE) / math.log(1 - alpha))
