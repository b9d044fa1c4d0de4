"""The dedupe window: event ids seen recently, bounded by size.

Asking and recording are separate steps, so a caller can record an id only once its
event has passed validation:

>>> window = DedupeWindow(size=2)
>>> window.contains("a")
False
>>> window.add("a"); window.add("b"); window.contains("a")
True
>>> window.add("c")  # the least recently added id ("a") makes room
>>> window.contains("a"), window.contains("b"), window.contains("c"), len(window)
(False, True, True, 2)
>>> window.discard("b"); window.contains("b")
False
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["DedupeWindow", "LabelMemory"]

_SEP = "\x00"


class DedupeWindow:
    """Remembers the last ``size`` ids added (least recently added forgotten first).

    A size bound (not a time bound) keeps the window deterministic under replay: the same
    records give the same window whatever the wall clock did.

    The ids live in a plain dict in the order they were (last) added, so a checkpoint
    joins them in one pass at C speed. A deque of the ids as they were added says which is
    oldest; an id added again appears there again, and the dict counts its appearances
    (small ints, never allocated), so an eviction skips all but an id's last appearance.
    Appearances of discarded ids are counted apart (``_ghosts``) and skipped too. A
    checkpoint keeps its joined string: the next one drops the ids evicted since from its
    front and appends those added since, instead of joining the whole window again.
    """

    def __init__(self, size: int = 200_000) -> None:
        if size < 1:
            raise ValueError("the dedupe window needs room for at least one id")
        self.size = size
        self._fill([])

    def _fill(self, ids: list[str], joined: str | None = None) -> None:
        #: id -> how many times it appears in ``_order`` (1 unless added again).
        self._ids: dict[str, int] = dict.fromkeys(ids, 1)
        self._order: deque[str] = deque(ids)
        #: Appearances in ``_order`` of ids discarded since: skipped when evicting.
        self._ghosts: dict[str, int] = {}
        # The last checkpoint's joined ids, and what happened since: ids appended at the
        # end and how many were evicted from the front (``None``: order changed, rejoin).
        self._joined: str | None = joined
        self._joined_n = len(ids)
        self._added: list[str] = []
        self._evicted = 0

    def __len__(self) -> int:
        return len(self._ids)

    def __getstate__(self) -> dict[str, object]:
        """Checkpointed as one string, the ids oldest first joined by NUL (or, if an id
        holds a NUL, as a list): pickling a string is one copy, where a dict of ids is
        pickled id by id (``docs/performance.md``, change 3)."""
        joined = self._rejoined()
        if joined is None:
            self._joined = None
            return {"size": self.size, "ids": list(self._ids)}
        self._joined, self._joined_n = joined, len(self._ids)
        self._added, self._evicted = [], 0
        return {"size": self.size, "joined": joined, "n": len(self._ids)}

    def _rejoined(self) -> str | None:
        """The ids joined by NUL, from the last checkpoint's string when it still holds
        (``None`` if an id holds a NUL)."""
        held = self._joined
        kept = self._joined_n - self._evicted
        if held is not None and kept >= 0 and kept + len(self._added) == len(self._ids):
            head = (
                "" if kept == 0 else held.split(_SEP, self._evicted)[-1] if self._evicted else held
            )
            tail = _SEP.join(self._added)
            if tail.count(_SEP) == max(0, len(self._added) - 1):
                if kept and self._added:
                    return head + _SEP + tail
                return head if kept else tail
        joined = _SEP.join(self._ids)
        return joined if joined.count(_SEP) == max(0, len(self._ids) - 1) else None

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.size = state["size"]
        if "joined" in state:
            joined = state["joined"]
            self._fill(joined.split(_SEP) if state["n"] else [], joined)
        else:
            self._fill(list(state["ids"]))

    def contains(self, event_id: str) -> bool:
        """Whether ``event_id`` is in the window (without recording it)."""
        return event_id in self._ids

    def add(self, event_id: str) -> None:
        """Record ``event_id`` as the most recent id; forget the oldest beyond ``size``."""
        ids = self._ids
        count = ids.pop(event_id, 0)
        if count:  # re-inserted below: now the most recent
            self._joined = None
        ids[event_id] = count + 1
        self._order.append(event_id)
        if self._joined is not None:
            self._added.append(event_id)
            if len(self._added) > self.size:  # no checkpoint for a long while: stop noting
                self._joined, self._added = None, []
        if len(ids) > self.size:
            self._evict()
        if len(self._order) > 2 * self.size + 64:  # appearances of re-added or discarded ids
            self._order = deque(ids)
            self._ids = dict.fromkeys(ids, 1)
            self._ghosts = {}

    def _evict(self) -> None:
        ids, order, ghosts = self._ids, self._order, self._ghosts
        while len(ids) > self.size:
            old = order.popleft()
            ghost = ghosts.get(old)
            if ghost:  # an appearance from before the id was discarded
                if ghost == 1:
                    del ghosts[old]
                else:
                    ghosts[old] = ghost - 1
                continue
            count = ids[old]
            if count > 1:  # the id was added again later: not its last appearance
                ids[old] = count - 1
                continue
            del ids[old]
            self._evicted += 1

    def discard(self, event_id: str) -> None:
        """Forget ``event_id`` if the window holds it."""
        count = self._ids.pop(event_id, 0)
        if count:
            self._ghosts[event_id] = self._ghosts.get(event_id, 0) + count
            self._joined = None

    def seen(self, event_id: str) -> bool:
        """Whether ``event_id`` was in the window, recording it either way.

        >>> window = DedupeWindow(size=2)
        >>> [window.seen(i) for i in "aabca"]
        [False, True, False, False, False]
        """
        known = self.contains(event_id)
        self.add(event_id)
        return known


class LabelMemory:
    """The label of each of the last ``size`` outcomes, by event id: a second outcome for
    one of them is a duplicate (the same label) or a conflict (another); for an older
    one nothing is known.

    >>> memory = LabelMemory(size=2)
    >>> memory.put("a", True); memory.put("b", False); memory.put("c", True)
    >>> memory.same("a", True) is None, memory.same("b", False), memory.same("c", 1)
    (True, True, False)
    >>> import pickle
    >>> again = pickle.loads(pickle.dumps(memory))
    >>> again.same("c", True), len(again), again.size
    (True, 2, 2)

    The labels live in a plain dict in the order they were (last) put, which a checkpoint
    joins at C speed (an ordered dict's links made that three times slower, and it was
    half of a checkpoint's time at 100k keys: ``docs/performance.md``). A deque of the ids
    as they were put says which is oldest, as in :class:`DedupeWindow`; an id put again
    leaves a stale appearance behind, counted in ``_stale`` and skipped when evicting.
    Labels are kept as tokens, one object per distinct label while there are few.
    """

    def __init__(self, size: int = 20_000) -> None:
        if size < 1:
            raise ValueError("the label memory needs room for at least one outcome")
        self.size = size
        self._fill({})

    def _fill(self, labels: dict[str, str]) -> None:
        self._labels = labels
        self._order: deque[str] = deque(labels)
        #: Appearances in ``_order`` of ids put again since: skipped when evicting.
        self._stale: dict[str, int] = {}
        #: One token object per distinct (type, label), while there are few of them.
        self._tokens: dict[tuple[type, Any], str] = {}

    def __len__(self) -> int:
        return len(self._labels)

    def __getstate__(self) -> dict[str, Any]:
        """Checkpointed as two strings joined by NUL (ids, labels), which pickle in one
        copy each instead of pair by pair; as the pairs when an id or a label holds a NUL."""
        ids, labels = _SEP.join(self._labels), _SEP.join(self._labels.values())
        n = len(self._labels)
        if ids.count(_SEP) == labels.count(_SEP) == max(0, n - 1):
            return {"size": self.size, "n": n, "ids": ids, "labels": labels}
        return {"size": self.size, "items": list(self._labels.items())}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.size = state["size"]
        if "items" in state:
            self._fill(dict(state["items"]))
        elif state["n"]:
            pairs = zip(state["ids"].split(_SEP), state["labels"].split(_SEP), strict=True)
            self._fill(dict(pairs))
        else:
            self._fill({})

    def put(self, event_id: str, label: Any) -> None:
        labels = self._labels
        if labels.pop(event_id, None) is not None:  # its earlier appearance is now stale
            self._stale[event_id] = self._stale.get(event_id, 0) + 1
        labels[event_id] = self._token(label)
        order = self._order
        order.append(event_id)
        if len(labels) > self.size:
            stale = self._stale
            while len(labels) > self.size:
                old = order.popleft()
                count = stale.get(old)
                if count:  # an appearance from before the id was put again
                    if count == 1:
                        del stale[old]
                    else:
                        stale[old] = count - 1
                    continue
                del labels[old]
        if len(order) > 2 * self.size + 64:  # stale appearances of ids put again
            self._order, self._stale = deque(labels), {}

    def same(self, event_id: str, label: Any) -> bool | None:
        """Whether ``label`` is the one remembered for ``event_id`` (``None``: unknown)."""
        held = self._labels.get(event_id)
        return None if held is None else held == self._token(label)

    def _token(self, label: Any) -> str:
        kind = type(label)
        if kind not in _CACHED:  # floats: 0.0 and -0.0 are equal keys, not equal labels
            return _token(label)
        key = (kind, label)
        token = self._tokens.get(key)
        if token is None:
            token = _token(label)
            if len(self._tokens) < 64:
                self._tokens[key] = token
        return token


#: The label types whose equal values have equal tokens (a classifier's classes).
_CACHED = frozenset({bool, int, str})


def _token(label: Any) -> str:
    """A label as text that tells its type too (``True``, ``1`` and ``"1"`` differ)."""
    return f"{type(label).__name__}:{label!r}"
