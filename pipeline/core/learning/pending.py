"""The pending store: observations waiting for their outcome, bounded by an event-time TTL.

Each entry keeps the exact feature vector and prediction made for the observation, so the
model later learns from what it predicted with. Entries expire when the task's watermark
passes ``event_time + ttl``; expiries are counted, and the expired ids are remembered for
a while so a late outcome is reported as *expired* rather than *unknown*.

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
>>> store = PendingStore(ttl=timedelta(hours=1))
>>> store.add(PendingEntry("a", "k", t0, {"x": 1.0}, True, None, 0))
>>> store.add(PendingEntry("b", "k", t0 + timedelta(minutes=30), {"x": 2.0}, False, None, 0))
>>> [e.event_id for e in store.expire(t0 + timedelta(minutes=61))]
['a']
>>> store.pop("a") is None, store.was_expired("a"), len(store)
(True, True, 1)
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["EarlyOutcomes", "PendingEntry", "PendingStore"]


@dataclass(slots=True)
class PendingEntry:
    """What was predicted for one observation, kept until its outcome arrives."""

    event_id: str
    key: str
    event_time: datetime
    x: dict[str, Any]
    prediction: Any
    probabilities: dict[Any, float] | None
    model_version: int
    groups: dict[str, str] | None = None
    #: The decision served (cost-aware; ``None``: the prediction) and the model that served.
    decision: Any = None
    model: str = ""
    #: Every model's own (prediction, probabilities, decision), by name, when a task runs
    #: several.
    by_model: dict[str, tuple[Any, dict[Any, float] | None, Any]] | None = None
    #: ``False``: served but not to be learned (an observation beyond the allowed
    #: lateness under the contract's ``predict-only`` policy); its label is scored only.
    learn: bool = True


class PendingStore:
    """Pending entries by event id, with event-time expiry and a memory of expired ids."""

    def __init__(self, ttl: timedelta, max_entries: int = 1_000_000, remember: int = 100_000):
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, PendingEntry] = {}
        self._deadlines: list[tuple[datetime, str]] = []
        self._expired: OrderedDict[str, None] = OrderedDict()
        self._remember = remember

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._entries

    def add(self, entry: PendingEntry) -> None:
        self._entries[entry.event_id] = entry
        heapq.heappush(self._deadlines, (entry.event_time + self.ttl, entry.event_id))

    def pop(self, event_id: str) -> PendingEntry | None:
        """Remove and return the entry of ``event_id`` (``None`` if not pending)."""
        return self._entries.pop(event_id, None)

    def was_expired(self, event_id: str) -> bool:
        return event_id in self._expired

    def expire(self, watermark: datetime) -> list[PendingEntry]:
        """Drop and return entries whose deadline is at or before ``watermark``.

        When the store is over ``max_entries`` the oldest deadlines go first as well, so
        memory stays bounded even if the watermark stalls.
        """
        gone: list[PendingEntry] = []
        while self._deadlines and (
            self._deadlines[0][0] <= watermark or len(self._entries) > self.max_entries
        ):
            deadline, event_id = heapq.heappop(self._deadlines)
            entry = self._entries.get(event_id)
            if entry is None or entry.event_time + self.ttl != deadline:
                continue  # resolved (or re-added later): a lazily deleted deadline
            del self._entries[event_id]
            gone.append(entry)
            self._expired[event_id] = None
            if len(self._expired) > self._remember:
                self._expired.popitem(last=False)
        if len(self._deadlines) > 2 * len(self._entries) + 1024:
            self._deadlines = [(d, i) for d, i in self._deadlines if i in self._entries]
            heapq.heapify(self._deadlines)
        return gone


class EarlyOutcomes:
    """Outcomes that arrived before their observation, held until it comes or they expire.

    Outcomes can overtake observations (separate producers, retries, a replay's delays).
    Holding them keeps test-then-train intact: when the observation arrives the model
    predicts first, then learns from the waiting label. An outcome whose observation
    never comes expires on the watermark like a pending entry and becomes a dead letter.

    >>> from datetime import UTC, datetime, timedelta
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> early = EarlyOutcomes(ttl=timedelta(minutes=5))
    >>> early.hold("a", t0, "outcome a")
    >>> early.take("a"), early.take("a")
    ('outcome a', None)
    >>> early.hold("b", t0, "outcome b")
    >>> early.expire(t0 + timedelta(minutes=6))
    ['outcome b']
    """

    def __init__(self, ttl: timedelta, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._held: dict[str, Any] = {}
        self._deadlines: list[tuple[datetime, int, str]] = []
        self._order = 0

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._held

    def hold(self, event_id: str, event_time: datetime, item: Any) -> None:
        self._order += 1
        self._held[event_id] = (self._order, item)
        heapq.heappush(self._deadlines, (event_time + self.ttl, self._order, event_id))
        if len(self._deadlines) > 2 * len(self._held) + 1024:
            # The deadline of an outcome taken is dropped when its time comes, a TTL later:
            # drop such deadlines here once they outnumber those held, or they would grow
            # with every outcome held within a TTL (a stalled watermark: for ever).
            held = self._held
            self._deadlines = [d for d in self._deadlines if held.get(d[2], (0,))[0] == d[1]]
            heapq.heapify(self._deadlines)

    def take(self, event_id: str) -> Any | None:
        held = self._held.pop(event_id, None)
        return None if held is None else held[1]

    def expire(self, watermark: datetime) -> list[Any]:
        """Drop and return what waited past ``watermark`` (or beyond ``max_entries``)."""
        gone = []
        while self._deadlines and (
            self._deadlines[0][0] <= watermark or len(self._held) > self.max_entries
        ):
            _, order, event_id = heapq.heappop(self._deadlines)
            held = self._held.get(event_id)
            if held is None or held[0] != order:
                continue  # taken, or held again later: a lazily deleted deadline
            del self._held[event_id]
            gone.append(held[1])
        return gone
