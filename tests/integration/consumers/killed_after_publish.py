"""``driftline consume`` that SIGKILLs itself right after a batch's outputs are published
and before they are checkpointed: the first batch, once a checkpoint was saved, whose
alerts and dead letters are both published (a test-only hook, run as a script by
``test_exactly_once_outputs``; the product has no such switch).

The dead letters are the last write of a batch (Redis, then alerts, then dead letters);
a checkpoint holding the batch is saved only after its write returns, so the kill lands
between the publication and the checkpoint on both clients, write-behind or not.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from driftline.adapters.kafka.alerts import AlertPublisher
from driftline.adapters.kafka.dead_letters import DeadLetterPublisher
from driftline.consumers.tasks import SealedTask, TaskStore

_saved = {"checkpoints": 0, "alerts_since": 0}
_store_sealed = TaskStore.store_sealed
_publish_alerts = AlertPublisher.publish
_publish_letters = DeadLetterPublisher.publish


def store_sealed(self: TaskStore, sealed: SealedTask) -> int:
    size = _store_sealed(self, sealed)
    _saved["checkpoints"] += 1
    _saved["alerts_since"] = 0
    return size


def publish_alerts(self: AlertPublisher, alerts: Sequence[Any]) -> None:
    _publish_alerts(self, alerts)
    _saved["alerts_since"] += len(alerts)


def publish_letters(self: DeadLetterPublisher, letters: Sequence[Any]) -> None:
    _publish_letters(self, letters)
    if letters and _saved["checkpoints"] and _saved["alerts_since"]:
        os.kill(os.getpid(), signal.SIGKILL)


def install() -> None:
    """Patch the publishers and the checkpoint store of this process: only in the script's
    own process (pytest imports this module to collect its doctests, and a patch made on
    import SIGKILLed the test session itself at the next in-process dead letter)."""
    TaskStore.store_sealed = store_sealed  # type: ignore[method-assign]
    AlertPublisher.publish = publish_alerts  # type: ignore[method-assign]
    DeadLetterPublisher.publish = publish_letters  # type: ignore[method-assign]


if __name__ == "__main__":
    from driftline.app.cli import main

    install()
    sys.argv = ["driftline", "consume", *sys.argv[1:]]
    main()
