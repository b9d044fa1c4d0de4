"""Checkpoints, and the one rule of offsets: an offset is committed only once a checkpoint
holds it.

A partition's progress goes out in this order: its batch's outputs are written (until
then the partition is *dirty*, and a dirty task is never checkpointed, so no checkpoint
holds a batch that is not in Redis); then its task's whole state is saved with the offset
it reached; only then is that offset committed to the group. A crash between any two
steps replays from the last checkpoint, and the same records give the same state.

A partition is saved every ``every`` records, or ``interval_s`` after its last checkpoint
when it has unsaved records; a store that does not answer is not waited for here (the
task stays unsaved, nothing is committed, and the next checkpoint tries again). The time
each checkpoint takes and its size go to the worker's figures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from driftline.consumers.partitions import AssignedPartition, Partitions
from driftline.consumers.stats import WorkerStats
from driftline.core.errors import TransientError
from driftline.core.task.partition import PartitionTask

__all__ = ["Checkpointer", "TaskSaver"]

log = logging.getLogger(__name__)


class TaskSaver(Protocol):
    """Where a task's checkpoint goes (:class:`~driftline.consumers.tasks.TaskStore`)."""

    def save(self, task: PartitionTask) -> int:
        """Store the task's sealed state; return its size in bytes."""
        ...


class Checkpointer:
    """Saves the tasks of ``partitions`` into ``store`` and commits what they hold.

    ``commit`` sends offsets to the group (the source's commit); it is called without the
    partitions' lock. ``drain`` finishes the writes in flight (a batch's tasks are dirty
    until its outputs are written): :meth:`save_due` calls it, without the lock, when a
    partition is due.
    """

    def __init__(
        self,
        partitions: Partitions,
        store: TaskSaver,
        stats: WorkerStats,
        commit: Callable[[Mapping[int, int]], object],
        *,
        every: int,
        interval_s: float,
        monotonic: Callable[[], float] = time.monotonic,
        drain: Callable[[], object] = lambda: None,
    ) -> None:
        self.partitions = partitions
        self.store = store
        self.stats = stats
        self._commit = commit
        self.every = every
        self.interval_s = interval_s
        self.monotonic = monotonic
        self.drain = drain

    def due(self) -> bool:
        """Whether a partition is due (see :meth:`save_due`)."""
        now = self.monotonic()
        with self.partitions.lock:
            return any(self._due(held, now) for held in self.partitions)

    def save_due(self) -> None:
        """Save every partition that is due: ``every`` records unsaved, or some unsaved for
        ``interval_s``."""
        if not self.due():
            return
        self.drain()
        now = self.monotonic()
        with self.partitions.lock:
            for held in self.partitions:
                if self._due(held, now):
                    self.save(held)

    def _due(self, held: AssignedPartition, now: float) -> bool:
        age = now - (now if held.saved_at is None else held.saved_at)
        return held.unsaved >= self.every or bool(held.unsaved and age >= self.interval_s)

    def save_clean(self) -> None:
        """Save every partition with unsaved progress that is not dirty (at a stop)."""
        with self.partitions.lock:
            for held in self.partitions:
                self.save(held)

    def save(self, held: AssignedPartition) -> bool:
        """Save one partition's task (the partitions' lock held), unless it has nothing
        unsaved or is dirty, and queue its offset for :meth:`commit`; whether it did."""
        task = held.task
        if task is None or task.next_offset is None or not held.unsaved or held.dirty:
            return False
        began = time.perf_counter()
        try:
            size = self.store.save(task)
        except TransientError as exc:
            log.warning(
                "partition %s not checkpointed (%s); trying again later", held.partition, exc
            )
            return False
        finally:
            took = time.perf_counter() - began
            self.stats.checkpoint_s += took
            self.stats.checkpoint_seconds.add(took)
        self.stats.checkpoints += 1
        self.stats.checkpoint_bytes = size
        self.stats.checkpoint_sizes[held.partition] = size
        held.unsaved = 0
        held.saved_at = self.monotonic()
        held.to_commit = task.next_offset
        return True

    def commit(self) -> dict[int, int]:
        """Commit the offsets the saved checkpoints hold, of the partitions still held (a
        revoked one's next owner restores its checkpoint: a commit from here could only
        move the group back). Returns what was sent."""
        with self.partitions.lock:
            offsets = {}
            for held in self.partitions:
                if held.to_commit is not None:
                    offsets[held.partition], held.to_commit = held.to_commit, None
        if offsets:
            self._commit(offsets)
        return offsets
