"""When a worker's run ends by itself: idle for ``until_idle_s``, or its input is complete
(``finished``: a bounded replay ended), and in either case only once it holds partitions
and has read them to their ends.

The idle time counts only while partitions are held and no batch comes; a lag found when
the run would end starts it again (the records still to read will come).

>>> clock = [0.0]
>>> stop = IdleStop(until_idle_s=2.0, monotonic=lambda: clock[0])
>>> for clock[0] in (0.0, 1.0, 2.0):
...     print(stop.due(events=0, assigned=True, finished=None, lag=lambda: 0))
False
False
True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["IdleStop"]

log = logging.getLogger(__name__)


class IdleStop:
    """Tells the loop, after each batch, whether its run is over."""

    def __init__(
        self, until_idle_s: float | None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.until_idle_s = until_idle_s
        self.monotonic = monotonic
        self._idle_since: float | None = None

    def due(
        self,
        events: int,
        assigned: bool,
        finished: Callable[[], bool] | None,
        lag: Callable[[], int],
    ) -> bool:
        """Whether to stop, after a batch of ``events`` events (0: an empty poll);
        ``assigned``: partitions are held; ``lag()``: records left to read (asked last)."""
        if events or not assigned:
            self._idle_since = None
            return False
        now = self.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        idle = now - self._idle_since
        until = self.until_idle_s
        wants_idle = until is not None and idle >= until
        wants_drained = finished is not None and finished()
        if not (wants_idle or wants_drained):
            return False
        if lag() > 0:  # caught up only when nothing is left to read
            self._idle_since = now
            return False
        log.info("stream drained: stopping" if wants_drained else f"idle {idle:.1f} s: stopping")
        return True
