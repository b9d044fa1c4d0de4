"""Checkpoints, and the one rule of offsets: an offset is committed only once a checkpoint
holds it.

A partition's progress goes out in this order: its batch's outputs are written (until
then the partition is *dirty*, and a dirty task is never saved, so no checkpoint holds a
batch that is not in Redis); then its task's whole state is saved with the offset it
reached; only then is that offset committed to the group. (A task dirty only by the
write in flight may be sealed meanwhile: it is stored once that write is written.) A
crash between any two steps replays from the last checkpoint, and the same records give
the same state.

A partition is saved every ``every`` records, or ``interval_s`` after its last checkpoint
when it has unsaved records; a store that does not answer is not waited for here (the
task stays unsaved, nothing is committed, and the next checkpoint tries again). The time
each checkpoint takes and its size go to the worker's figures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Protocol

from driftline.consumers.partitions import AssignedPartition, Partitions
from driftline.consumers.stats import WorkerStats
from driftline.consumers.tasks import SealedTask
from driftline.core.errors import TransientError
from driftline.core.task.partition import PartitionTask

__all__ = ["Checkpointer", "TaskSaver"]

log = logging.getLogger(__name__)


class TaskSaver(Protocol):
    """Where a task's checkpoint goes (:class:`~driftline.consumers.tasks.TaskStore`)."""

    def save(self, task: PartitionTask) -> int:
        """Store the task's sealed state; return its size in bytes."""
        ...

    def seal(self, task: PartitionTask) -> SealedTask:
        """The task's state sealed now, for :meth:`store_sealed`."""
        ...

    def store_sealed(self, sealed: SealedTask) -> int:
        """Store a state sealed earlier; return its size in bytes."""
        ...


class Checkpointer:
    """Saves the tasks of ``partitions`` into ``store`` and commits what they hold.

    ``commit`` sends offsets to the group (the source's commit); it is called without the
    partitions' lock.

    A due partition that is dirty only because its last batch's write is in flight
    (``in_flight(held)``: see :mod:`~driftline.consumers.write_behind`) is sealed at once
    and stored once that write is written (:meth:`written`): the checkpoint holds only
    written batches, and the loop does not wait for the write.
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
        in_flight: Callable[[AssignedPartition], bool] = lambda held: False,
    ) -> None:
        self.partitions = partitions
        self.store = store
        self.stats = stats
        self._commit = commit
        self.every = every
        self.interval_s = interval_s
        self.monotonic = monotonic
        self.in_flight = in_flight
        #: Sealed while their write was in flight, stored by :meth:`written`.
        self._sealed: dict[AssignedPartition, tuple[SealedTask, int, float]] = {}

    def save_due(self) -> None:
        """Save every partition that is due: ``every`` records unsaved, or some unsaved for
        ``interval_s``; one whose write is in flight is sealed now, stored by
        :meth:`written`."""
        now = self.monotonic()
        with self.partitions.lock:
            for held in self.partitions:
                age = now - (now if held.saved_at is None else held.saved_at)
                if held in self._sealed or not (
                    held.unsaved >= self.every or (held.unsaved and age >= self.interval_s)
                ):
                    continue
                if held.dirty and held.task is not None and self.in_flight(held):
                    self._seal(held, held.task)
                else:
                    self.save(held)

    def written(self) -> None:
        """The write in flight is written: store what was sealed meanwhile (of partitions
        still held; the partitions' lock is taken)."""
        with self.partitions.lock:
            sealed, self._sealed = self._sealed, {}
            for held, (task, records, sealing_s) in sealed.items():
                if self.partitions.get(held.partition) is held:
                    store = partial(self.store.store_sealed, task)
                    self._store(held, store, records, task.next_offset, sealing_s)

    def forget_sealed(self) -> None:
        """The write in flight failed: nothing sealed meanwhile may be stored."""
        self._sealed = {}

    def _seal(self, held: AssignedPartition, task: PartitionTask) -> None:
        began = time.perf_counter()
        sealed = self.store.seal(task)
        took = time.perf_counter() - began
        self.stats.checkpoint_s += took
        self._sealed[held] = (sealed, held.unsaved, took)

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
        self._sealed.pop(held, None)  # this one is newer
        return self._store(held, partial(self.store.save, task), held.unsaved, task.next_offset)

    def _store(
        self,
        held: AssignedPartition,
        save: Callable[[], int],
        records: int,
        offset: int | None,
        sealing_s: float = 0.0,
    ) -> bool:
        """Run ``save`` (a checkpoint of ``records`` more records, sealed in ``sealing_s``
        before, the lock held); on success, queue its offset for :meth:`commit`. Nothing is
        stored of a partition claimed by another worker since (fenced): its checkpoints are
        that worker's."""
        if held.fenced:
            return False
        began = time.perf_counter()
        try:
            size = save()
        except TransientError as exc:
            log.warning(
                "partition %s not checkpointed (%s); trying again later", held.partition, exc
            )
            return False
        finally:
            took = time.perf_counter() - began
            self.stats.checkpoint_s += took
            self.stats.checkpoint_seconds.add(took + sealing_s)
        self.stats.checkpoints += 1
        self.stats.checkpoint_bytes = size
        self.stats.checkpoint_sizes[held.partition] = size
        held.unsaved -= records
        held.saved_at = self.monotonic()
        held.to_commit = offset
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
