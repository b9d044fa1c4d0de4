"""A partition the Kafka client stops fetching is noticed, and the client renewed.

A held partition can go quiet for two reasons: nothing new was written to it (harmless), or
the client stopped fetching it while the rest of the loop turns. A secured soak saw the
second once in seven runs: after its leader broker was killed and restarted, a kafka-python
3.0.12 consumer never fetched that partition again (it waited on fetches that never
completed, each restore took the full request timeout, and rebalances did not mend it),
while a consumer started after the restart read it at once. Every call returned, so the
call watchdog (:mod:`~driftline.consumers.watchdog`) had nothing to see.

:class:`FetchWatch` tells the two apart on the loop's own turns. A held partition that has
brought no record for ``limit_s`` of loop time is asked about once, from the broker (the
source's fresh end offsets, not the last fetch's): with records behind its position, or
when the broker cannot say, it is stalled. The worker then logs it, shows it as what it
waits for, checkpoints and lets go of its partitions, and replaces its consumer with a new
one (new connections, a new group membership); the group assigns the partitions again and
they are restored from the checkpoints just saved, so nothing is lost or repeated. A
quiet partition with nothing behind is asked again after another ``limit_s``. Time the loop
spent away (waiting out an outage for longer than ``limit_s``) does not count.

>>> from driftline.consumers.stats import WorkerStats
>>> clock, stats = [0.0], WorkerStats()
>>> watch = FetchWatch(60.0, stats, monotonic=lambda: clock[0])
>>> for clock[0] in (0.0, 30.0, 59.0):
...     watch.turn(held={0, 1}, fetched={1}, fresh_lags=lambda: {0: 5, 1: 0})
[]
[]
[]
>>> clock[0] = 61.0
>>> watch.turn(held={0, 1}, fetched={1}, fresh_lags=lambda: {0: 5, 1: 0})
[0]
>>> stats.waiting_for, stats.fetch_stalls
('records of partitions [0] (the Kafka consumer fetches none)', 1)
>>> clock[0] = 62.0
>>> watch.turn(held={0, 1}, fetched={0}, fresh_lags=lambda: {})  # records again
[]
>>> stats.waiting_for is None
True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from driftline.consumers.stats import WorkerStats

__all__ = ["FetchWatch"]

log = logging.getLogger(__name__)


class FetchWatch:
    """Watches, turn by turn, that every held partition with records behind is fetched."""

    def __init__(
        self,
        limit_s: float,
        stats: WorkerStats,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit_s = limit_s
        self.stats = stats
        self.monotonic = monotonic
        #: Per held partition: since when (loop time) no record of it has come.
        self._quiet_since: dict[int, float] = {}
        self._last_turn: float | None = None
        #: The partitions reported stalled and not fetched since, and what was shown.
        self._stalled: set[int] = set()
        self._shown: str | None = None

    def turn(
        self,
        held: Iterable[int],
        fetched: Iterable[int],
        fresh_lags: Callable[[], dict[int, int]],
    ) -> list[int]:
        """One turn of the loop: ``held`` partitions, those ``fetched`` records of in
        this turn's poll, and how to ask the broker for the lag now. Returns the
        partitions stalled (reported once per ``limit_s`` each); the caller renews."""
        now = self.monotonic()
        held, fetched = set(held), set(fetched)
        away = self._last_turn is not None and now - self._last_turn > self.limit_s
        self._last_turn = now
        since = self._quiet_since
        for partition in list(since):
            if partition not in held:
                del since[partition]
        for partition in held:
            if away or partition in fetched or partition not in since:
                since[partition] = now
        self._stalled -= fetched
        if held:  # (none held: between a renewal and the new assignment)
            self._stalled &= held
        if self._shown is not None and not self._stalled:
            self._clear()
        quiet = sorted(p for p in held if now - since[p] >= self.limit_s)
        if not quiet:
            return []
        try:
            lags = fresh_lags()
        except Exception as exc:  # the broker cannot tell: as good as nothing fetched
            log.warning("the lag of quiet partitions %s could not be read (%s)", quiet, exc)
            lags = {}
        stalled = [p for p in quiet if lags.get(p, 1) > 0]
        waited = now - min(since[p] for p in quiet)
        for partition in quiet:
            since[partition] = now  # asked: again after another period at the soonest
        if not stalled:
            return []
        log.error(
            "partitions %s: records behind (%s) and none fetched for %.0f s of the loop's "
            "turns: checkpointing them and renewing the Kafka consumer",
            stalled,
            ", ".join(f"{p}: {lags.get(p, 'unknown')}" for p in stalled),
            waited,
        )
        self._stalled |= set(stalled)
        self.stats.fetch_stalls += 1
        self._shown = (
            f"records of partitions {sorted(self._stalled)} (the Kafka consumer fetches none)"
        )
        self.stats.waiting_for, self.stats.waiting_since = self._shown, now - waited
        return stalled

    def _clear(self) -> None:
        if self.stats.waiting_for == self._shown:
            log.warning("records fetched again from the partitions that had stalled")
            self.stats.waiting_for = self.stats.waiting_since = None
        self._shown = None
