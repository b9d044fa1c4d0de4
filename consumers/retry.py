"""Waiting out a service that does not answer: the worker's one retry.

An action that raises a :class:`~driftline.core.errors.TransientError` (Redis or Kafka
down, a write not acknowledged) is tried again after a capped, doubling delay with jitter,
for as long as it takes. Meanwhile the group membership is kept alive (``keepalive``),
what is awaited is shown (``WorkerStats.waiting_for``), and the caller holds its state and
offsets: nothing is checkpointed for the batch in hand and no offset moves. A stop request
waits too (a second signal ends the process at once).

>>> from driftline.consumers.stats import WorkerStats
>>> from driftline.core.errors import ServiceUnavailable
>>> answers = iter([ServiceUnavailable("down"), ServiceUnavailable("down"), "written"])
>>> def write():
...     answer = next(answers)
...     if isinstance(answer, Exception):
...         raise answer
...     return answer
>>> slept, stats = [], WorkerStats()
>>> retry = Retry(stats, first_s=0.1, max_s=10.0, sleep=slept.append)
>>> retry("Redis (predictions)", write)
'written'
>>> stats.outages, stats.retries, stats.waiting_for, len(slept)
(1, 2, None, 2)

Redis full is told apart (its own log line, ``waiting_for`` and counter):

>>> from driftline.core.errors import StoreFull
>>> answers = iter([StoreFull("OOM"), "written"])
>>> retry("Redis (predictions)", write)
'written'
>>> stats.redis_full, stats.outages
(1, 2)
>>> 0.05 <= slept[0] <= 0.1 and 0.1 <= slept[1] <= 0.2  # doubling, with jitter
True
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from driftline.consumers.stats import WorkerStats
from driftline.core.errors import StoreFull, TransientError

__all__ = ["Retry"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class Retry:
    """Calls an action until it stops raising a :class:`TransientError`.

    The delay after the n-th failure is ``min(max_s, first_s * 2 ** (n - 1))`` times a
    jitter in ``[0.5, 1)``; ``keepalive`` runs after each wait.
    """

    def __init__(
        self,
        stats: WorkerStats,
        *,
        first_s: float,
        max_s: float,
        keepalive: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.stats = stats
        self.first_s = first_s
        self.max_s = max_s
        self.keepalive = keepalive
        self.monotonic = monotonic
        self.sleep = sleep
        self._jitter = random.Random()  # jitter only: no state depends on it

    def __call__(self, what: str, action: Callable[[], _T]) -> _T:
        """``action()``, waiting out its outages; ``what`` names the service awaited."""
        failures = 0
        stats = self.stats
        while True:
            try:
                result = action()
            except TransientError as exc:
                failures += 1
                stats.retries += 1
                if failures == 1:
                    stats.outages += 1
                    stats.waiting_since = self.monotonic()
                self._note(what, exc)
                delay = min(self.max_s, self.first_s * 2 ** min(failures - 1, 30))
                self.sleep(delay * self._jitter.uniform(0.5, 1.0))
                self.keepalive()
                continue
            if failures:
                waited = self.monotonic() - (stats.waiting_since or self.monotonic())
                log.warning("%s is back after %.1f s (%s retries)", what, waited, failures)
                stats.waiting_for = None
                stats.waiting_since = None
            return result

    def _note(self, what: str, exc: TransientError) -> None:
        """Say what is awaited, once each time it changes: an outage, or Redis full."""
        stats = self.stats
        full = isinstance(exc, StoreFull)
        awaited = f"{what}: Redis full" if full else what
        if stats.waiting_for == awaited:
            return
        stats.waiting_for = awaited
        if full:
            stats.redis_full += 1
            log.error(
                "Redis is full (maxmemory reached, policy noeviction): %s holds its batch, "
                "state and offsets until memory frees; free memory or raise maxmemory (%s)",
                what,
                exc,
            )
        else:
            log.warning("%s unavailable (%s): waiting, with state and offsets held", what, exc)
