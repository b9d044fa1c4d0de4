"""The dedupe window: event ids seen recently, bounded by size.

>>> window = DedupeWindow(size=2)
>>> window.seen("a"), window.seen("a"), window.seen("b"), window.seen("c"), window.seen("a")
(False, True, False, False, False)
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["DedupeWindow"]


class DedupeWindow:
    """Remembers the last ``size`` ids; :meth:`seen` records an id and says if it was known.

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

    def seen(self, event_id: str) -> bool:
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return True
        self._ids[event_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return False
