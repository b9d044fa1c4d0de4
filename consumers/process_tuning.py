"""A long-running worker's process settings: the garbage collector's and the allocator's.

**The collector.**
A worker allocates a few short-lived containers per record (records, events, feature
dicts, predictions) and keeps long-lived state that holds no reference cycles (models,
windows, pending entries). CPython's default thresholds run a young collection every 700
net allocations and a full one whenever the long-lived heap grows by a quarter; a full
collection walks every tracked object, including whatever the host process holds (a
benchmark's events, a test's fixtures): a large share of a worker's time
(``docs/performance.md``, change 9).

So, while a worker runs, what exists when it starts is frozen out of the collector
(``gc.freeze``: those objects are never traversed again), and the young generation is
collected every ``YOUNG`` allocations instead of 700. Cycles are still collected; only
less often. Everything is restored when the worker returns (a heap the caller had
frozen stays frozen).

**The allocator** (glibc's malloc, on Linux; elsewhere nothing is changed). By default
glibc keeps up to eight arenas per core for a process's threads (the Kafka client runs
its own) and raises its mmap threshold after each large block is freed, so the
megabyte buffers of fetches and checkpoints end up in arenas that never shrink. Two arenas
and a fixed 1 MiB threshold (blocks from 1 MiB up are mapped and unmapped whole) keep a
worker's peak memory lower (``docs/performance.md``, change 11). :func:`limit_allocator`
sets those two, once, for ``driftline consume``, unless glibc's own variables for them
are set.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ARENAS", "MMAP_THRESHOLD", "OLDER", "YOUNG", "limit_allocator", "steady_collector"]

log = logging.getLogger(__name__)

#: glibc malloc arenas at most, and the size from which blocks are mapped on their own.
ARENAS = 2
MMAP_THRESHOLD = 1024 * 1024
# mallopt's parameter numbers (glibc's malloc.h).
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
#: glibc's own variables for the same settings: when set, they are left to stand.
_USER_SET = {"MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"}

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


def limit_allocator() -> bool:
    """Cap glibc's arenas and fix its mmap threshold (see the module docstring); whether
    it did (``False`` off glibc, or when ``MALLOC_ARENA_MAX`` or ``MALLOC_MMAP_THRESHOLD_``
    is set: the user's own tuning then stands)."""
    if not sys.platform.startswith("linux") or _USER_SET & set(os.environ):
        return False  # not glibc, or the user tuned glibc through its own variables
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt to call
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = mallopt(_M_ARENA_MAX, ARENAS) == 1 and mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    if not done:
        log.debug("mallopt refused the arena and threshold settings")
    return done
