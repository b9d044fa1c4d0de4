"""``driftline consume`` that stops itself (SIGSTOP) when it is about to write out a batch
that has alerts, once a checkpoint was saved: a worker frozen between processing a batch
and publishing it, as a long GC pause or a suspended VM freezes one (a test-only hook, run
as a script by ``test_exactly_once_outputs``; the product has no such switch). Sent
SIGCONT, it goes on writing that batch.
"""

from __future__ import annotations

import os
import signal
import sys

from driftline.consumers.outputs import BatchWrite
from driftline.consumers.tasks import SealedTask, TaskStore

_state = {"checkpoints": 0, "paused": 0}
_store_sealed = TaskStore.store_sealed
_attempt = BatchWrite.attempt


def store_sealed(self: TaskStore, sealed: SealedTask) -> int:
    size = _store_sealed(self, sealed)
    _state["checkpoints"] += 1
    return size


def attempt(self: BatchWrite) -> None:
    if self.batch.alerts and _state["checkpoints"] and not _state["paused"]:
        _state["paused"] = 1
        os.kill(os.getpid(), signal.SIGSTOP)  # every thread stops here, until SIGCONT
    _attempt(self)


def install() -> None:
    """Patch this process only (pytest imports the module to collect its doctests)."""
    TaskStore.store_sealed = store_sealed  # type: ignore[method-assign]
    BatchWrite.attempt = attempt  # type: ignore[method-assign]


if __name__ == "__main__":
    from driftline.app.cli import main

    install()
    sys.argv = ["driftline", "consume", *sys.argv[1:]]
    main()
