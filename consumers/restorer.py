"""Tasks for the partitions a worker holds: restored from their checkpoints, or fresh.

A checkpoint is read without the partitions' lock, waiting out an outage of the store
(the records cannot be processed without their task's state); the task is then given to
its partition only if the partition is still held (a rebalance may have taken it
meanwhile: then its new owner restores it) and has none yet.

With ``published`` (the output topics read back), a task restored from a checkpoint
reads back the dead letters and alerts published since the checkpoint's recorded
positions and hands their ids to ``replayed``, so its replay does not publish them
again; Kafka not answering is waited out the same way, never published past. A fresh
task reads nothing, and neither does a checkpoint made before positions were recorded
(its replay may repeat outputs, as before). Before the first task, the output topics'
end offsets are asked once: what this worker publishes lands past them.

With ``fence``, every task set up claims its partition first (before reading back): a
worker that lost the partition without knowing it publishes no more of its dead letters
and alerts (:mod:`~driftline.adapters.redis_fence`).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from driftline.consumers.partitions import Partitions
from driftline.consumers.ports import OutputFence, PublishedOutputs
from driftline.consumers.replayed import ReplayedOutputs
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
        published: PublishedOutputs | None = None,
        fence: OutputFence | None = None,
    ) -> None:
        self.partitions = partitions
        self.store = store
        self.retry = retry
        self.stats = stats
        self.monotonic = monotonic
        self.published = published
        self.fence = fence
        #: Dead letters and alerts a replay must not publish again (with ``published``).
        self.replayed = None if published is None else ReplayedOutputs(published.source_topic)
        self._baseline = False

    def restore(self, partitions: Iterable[int]) -> list[PartitionTask]:
        """Set up the tasks of ``partitions`` that have none; return those set up."""
        made = []
        for partition in partitions:
            held = self.partitions.get(partition)
            if held is not None and held.task is not None:
                continue
            task = self.retry("checkpoint store", functools.partial(self.store.restore, partition))
            # claimed before reading back: a former owner publishes nothing after this
            epoch = None
            if self.fence is not None:
                claim = functools.partial(self.fence.claim, partition)
                epoch = self.retry("Redis (claiming the partition)", claim)
            self._read_back(partition, task)
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
            if self.partitions.set_task(partition, task, self.monotonic(), epoch):
                made.append(task)
            elif partition not in self.partitions:  # revoked since the poll: not ours
                log.info("partition %s was revoked before its batch: not restored", partition)
        return made

    def _read_back(self, partition: int, task: PartitionTask | None) -> None:
        """Hold the ids of what ``task``'s replay would publish again (see the module)."""
        published, replayed = self.published, self.replayed
        if published is None or replayed is None:
            return
        if not self._baseline:
            self.retry("Kafka (output topics' ends)", published.baseline)
            self._baseline = True
        since = (
            None
            if task is None or task.restored_from is None
            else task.restored_from.get("outputs")
        )
        if since is None or task is None or task.next_offset is None:
            replayed.forget(partition)
            return
        found = self.retry(
            "Kafka (reading back outputs)",
            functools.partial(published.read, partition, since, task.next_offset),
        )
        replayed.hold(partition, found)
        if found.ids:
            log.info(
                "partition %s: %s dead letter(s) and alert(s) of its replay are published "
                "already (up to offset %s): not published again",
                partition,
                len(found.ids),
                found.through,
            )
