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

from collections import OrderedDict

__all__ = ["DedupeWindow"]


class DedupeWindow:
    """Remembers the last ``size`` ids added (least recently added forgotten first).

    A size bound (not a time bound) keeps the window deterministic under replay: the same
    records give the same window whatever the wall clock did.
    """

    def __init__(self, size: int = 200_000) -> None:
        if size < 1:
            raise ValueError("the dedupe window needs room for at least one id")
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def contains(self, event_id: str) -> bool:
        """Whether ``event_id`` is in the window (without recording it)."""
        return event_id in self._ids

    def add(self, event_id: str) -> None:
        """Record ``event_id`` as the most recent id; forget the oldest beyond ``size``."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return
        self._ids[event_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)

    def discard(self, event_id: str) -> None:
        """Forget ``event_id`` if the window holds it."""
        self._ids.pop(event_id, None)

    def seen(self, event_id: str) -> bool:
        """Whether ``event_id`` was in the window, recording it either way.

        >>> window = DedupeWindow(size=2)
        >>> [window.seen(i) for i in "aabca"]
        [False, True, False, False, False]
        """
        known = self.contains(event_id)
        self.add(event_id)
        return known
