"""A worker that the group assigns no partition says so, rejoins, and in a bounded run fails
instead of polling for ever (nothing hangs silently).

A group leader that joined before it had the topic's metadata can assign nothing, and the
Kafka client keeps that empty assignment: only a rejoin, on fresh metadata, mends it.
Subscribed with no partition for ``limit_s`` (the loop's clock), the worker logs it, shows
it as what it waits for, and rejoins its group, once per period; a bounded run (a replay,
the demo) that is still unassigned a period after its rejoin raises
:class:`~driftline.core.errors.ServiceUnavailable`. More workers than partitions is the
other, harmless reason: such a worker rejoins once per period and waits on.

>>> from driftline.consumers.stats import WorkerStats
>>> clock, rejoins = [0.0], []
>>> watch = AssignmentWatch(60.0, WorkerStats(), lambda: rejoins.append(clock[0]),
...                         monotonic=lambda: clock[0])
>>> for clock[0] in (0.0, 30.0, 60.0, 90.0, 120.0):
...     watch.check(assigned=False, bounded=False)
>>> rejoins
[60.0, 120.0]
>>> watch.check(assigned=True, bounded=False)
>>> watch.stats.waiting_for is None
True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from driftline.consumers.stats import WorkerStats
from driftline.core.errors import ServiceUnavailable

__all__ = ["ASSIGNMENT", "AssignmentWatch"]

log = logging.getLogger(__name__)

#: What an unassigned worker waits for (``WorkerStats.waiting_for``).
ASSIGNMENT = "a partition assignment (Kafka group coordinator)"


class AssignmentWatch:
    """Watches whether the worker holds partitions, on each turn of the loop."""

    def __init__(
        self,
        limit_s: float,
        stats: WorkerStats,
        rejoin: Callable[[], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit_s = limit_s
        self.stats = stats
        self.rejoin = rejoin
        self.monotonic = monotonic
        self._unassigned_since: float | None = None
        self._rejoined_at: float | None = None

    def check(self, assigned: bool, bounded: bool) -> None:
        """One look: ``assigned`` says whether partitions are held now; ``bounded`` that
        the run is to end by itself (then a second period unassigned fails it)."""
        now = self.monotonic()
        if assigned:
            if self._unassigned_since is not None and self._rejoined_at is not None:
                log.warning("partitions assigned after %.0f s", now - self._unassigned_since)
                if self.stats.waiting_for == ASSIGNMENT:
                    self.stats.waiting_for = self.stats.waiting_since = None
            self._unassigned_since = self._rejoined_at = None
            return
        if self._unassigned_since is None:
            self._unassigned_since = now
            return
        waited = now - self._unassigned_since
        limit = self.limit_s
        if waited < limit or (self._rejoined_at is not None and now - self._rejoined_at < limit):
            return
        if bounded and self._rejoined_at is not None:
            raise ServiceUnavailable(
                f"no partition of the topic was assigned to this worker in {waited:.0f} s "
                "(the group coordinator did not answer, or the topic has no partition)"
            )
        log.warning(
            "no partition assigned for %.0f s (more workers than partitions, or a stale "
            "assignment): rejoining the group",
            waited,
        )
        self.stats.waiting_for, self.stats.waiting_since = ASSIGNMENT, self._unassigned_since
        self._rejoined_at = now
        self.rejoin()
