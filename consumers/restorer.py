"""Tasks for the partitions a worker holds: restored from their checkpoints, or fresh.

A checkpoint is read without the partitions' lock, waiting out an outage of the store
(the records cannot be processed without their task's state); the task is then given to
its partition only if the partition is still held (a rebalance may have taken it
meanwhile: then its new owner restores it) and has none yet.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from driftline.consumers.partitions import Partitions
from driftline.consumers.retry import Retry
from driftline.consumers.stats import WorkerStats
from driftline.core.task.partition import PartitionTask

__all__ = ["TaskRestorer", "TaskSource"]

log = logging.getLogger(__name__)


class TaskSource(Protocol):
    """Where tasks come from (:class:`~driftline.consumers.tasks.TaskStore`)."""

    def restore(self, partition: int) -> PartitionTask | None:
        """The task as its checkpoint holds it (``None``: no checkpoint)."""
        ...

    def fresh(self, partition: int) -> PartitionTask: ...


class TaskRestorer:
    """Sets up the tasks of held partitions from ``store``."""

    def __init__(
        self,
        partitions: Partitions,
        store: TaskSource,
        retry: Retry,
        stats: WorkerStats,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.partitions = partitions
        self.store = store
        self.retry = retry
        self.stats = stats
        self.monotonic = monotonic

    def restore(self, partitions: Iterable[int]) -> list[PartitionTask]:
        """Set up the tasks of ``partitions`` that have none; return those set up."""
        made = []
        for partition in partitions:
            held = self.partitions.get(partition)
            if held is not None and held.task is not None:
                continue
            task = self.retry("checkpoint store", functools.partial(self.store.restore, partition))
            if task is not None:
                self.stats.restored += 1
                log.info(
                    "partition %s restored at offset %s (model version %s)",
                    partition,
                    task.next_offset,
                    task.model_version,
                )
            else:
                task = self.store.fresh(partition)
            if self.partitions.set_task(partition, task, self.monotonic()):
                made.append(task)
            elif partition not in self.partitions:  # revoked since the poll: not ours
                log.info("partition %s was revoked before its batch: not restored", partition)
        return made
