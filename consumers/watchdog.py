"""Nothing hangs silently (invariant 8): every call the worker makes to its record source
is timed by a thread of its own.

A Kafka client can block a call for ever (kafka-python 3 waits on its I/O thread with no
bound; a consumer whose group never assigns it anything polls in vain). The worker's loop
cannot notice from inside the call, so :class:`CallWatch` does, from beside it: a call
that has not returned after ``limit_s`` is logged with the stack it is stuck in, shown as
what the worker waits for (``WorkerStats.waiting_for``: the health view and the
``driftline_worker_waiting_seconds`` gauge read it), and handed to ``on_stall``, which
the ``driftline consume`` process uses to exit (a supervisor restarts it; its checkpoints
make the restart exact). When the call returns, the wait is cleared and its length logged.

>>> from driftline.consumers.watchdog import CallWatch
>>> stalls = []
>>> watch = CallWatch(limit_s=0.05, on_stall=lambda name, s: stalls.append(name))
>>> watch.start()
>>> with watch.calling("poll"):  # a call that does not return before the limit
...     watch.stalled.wait(timeout=5)
True
>>> watch.stop()
>>> stalls, watch.stalled.is_set()
(['poll'], False)
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CallWatch", "WatchedSource"]

log = logging.getLogger(__name__)

#: The source calls that go to the broker (``assignment`` reads local state).
WATCHED = ("poll", "commit", "lag", "lags", "seek", "beginning_offset", "keepalive", "close")


class CallWatch:
    """Times one call at a time (the worker's loop makes them in one thread)."""

    def __init__(
        self,
        limit_s: float,
        on_stall: Callable[[str, float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        what: str = "the Kafka consumer",
    ) -> None:
        self.limit_s = limit_s
        self.on_stall = on_stall
        self.monotonic = monotonic
        self.what = what
        self._call: tuple[str, float, int] | None = None  # name, since, thread id
        self._reported: tuple[str, float, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Set while a call is past the limit (tests and the health view wait on it).
        self.stalled = threading.Event()
        self.stalls = 0

    @contextmanager
    def calling(self, name: str) -> Iterator[None]:
        call = (name, self.monotonic(), threading.get_ident())
        self._call = call
        try:
            yield
        finally:
            self._call = None
            if self._reported is call:
                waited = self.monotonic() - call[1]
                log.warning("%s answered %s after %.1f s", self.what, name, waited)
                self._reported = None
                self.stalled.clear()

    def waiting(self) -> tuple[str, float] | None:
        """What is awaited past the limit now, and since when (``None``: nothing)."""
        call = self._reported
        return None if call is None else (f"{self.what} ({call[0]})", call[1])

    def check(self) -> None:
        """One look: report the call in progress if it is past the limit (once)."""
        call = self._call
        if call is None or call is self._reported:
            return
        name, since, thread = call
        waited = self.monotonic() - since
        if waited < self.limit_s:
            return
        self._reported = call
        self.stalls += 1
        frame = sys._current_frames().get(thread)
        where = "".join(traceback.format_stack(frame)[-6:]) if frame is not None else "?"
        log.error(
            "%s has not answered %s for %.0f s (limit %.0f s); the call is in:\n%s",
            self.what,
            name,
            waited,
            self.limit_s,
            where,
        )
        self.stalled.set()
        if self.on_stall is not None:
            self.on_stall(name, waited)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="driftline-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        period = min(1.0, max(self.limit_s / 4, 0.01))
        while not self._stop.wait(period):
            try:
                self.check()
            except Exception:  # the watchdog must outlive anything it reports
                log.exception("the watchdog failed to report a stalled call")


class WatchedSource:
    """A record source whose broker calls go through a :class:`CallWatch`; everything
    else (and any attribute a test replaces on the source) is the source's own."""

    def __init__(self, source: Any, watch: CallWatch) -> None:
        self._source = source
        self._watch = watch

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._source, name)
        if name not in WATCHED or not callable(attribute):
            return attribute

        def watched(*args: Any, **kwargs: Any) -> Any:
            with self._watch.calling(name):
                return attribute(*args, **kwargs)

        return watched
