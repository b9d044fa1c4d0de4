"""SIGTERM and SIGINT for long-running commands: finish the batch, then stop."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["stop_on_signals"]

log = logging.getLogger("driftline")


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGTERM/SIGINT set the stop flag (the batch finishes); a second one exits at once."""
    stop = threading.Event()
    # ``next`` on a counter is one step a nested handler cannot cut in two: exactly one
    # signal is the first, even when the second arrives while the first is logged.
    received = itertools.count()

    def handler(signum: int, _frame: Any) -> None:
        if next(received) > 0:
            # At once, and for sure: a SystemExit raised here would surface inside whatever
            # the main thread runs, and kafka-python 3 swallows BaseException while it
            # waits for offsets (the e2e test caught one). Nothing unwritten is saved
            # anyway (see the worker), so no cleanup is skipped that a stop at once needs.
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(128 + signum)
        stop.set()
        log.info("signal %s: finishing the batch, then stopping", signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
