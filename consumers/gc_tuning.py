"""The collector's settings for a long-running worker.

A worker allocates a few short-lived containers per record (records, events, feature
dicts, predictions) and keeps long-lived state that holds no reference cycles (models,
windows, pending entries). CPython's default thresholds run a young collection every 700
net allocations and a full one whenever the long-lived heap grows by a quarter; a full
collection walks every tracked object, including whatever the host process holds (a
benchmark's events, a test's fixtures). Profiled on workload (b) of ``make bench``, the
full collections alone took about 8% of the worker's time (``docs/performance.md``).

So, while a worker runs, what exists when it starts is frozen out of the collector
(``gc.freeze``: those objects are never traversed again), and the young generation is
collected every ``YOUNG`` allocations instead of 700. Cycles are still collected; only
less often. Everything is restored when the worker returns (a heap the caller had
frozen stays frozen).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["OLDER", "YOUNG", "steady_collector"]

#: Net allocations between young collections (CPython's default is 700).
YOUNG = 50_000
#: Young collections between collections of the middle generation, and those between
#: full collections (CPython's defaults are 10 and 10).
OLDER = (20, 100)


@contextmanager
def steady_collector() -> Iterator[None]:
    """Freeze the heap as it is and collect less often, until the block ends."""
    thresholds = gc.get_threshold()
    frozen_by_caller = gc.get_freeze_count() > 0
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, *OLDER)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen_by_caller:  # else the caller's freeze holds ours too, and ends it
            gc.unfreeze()
