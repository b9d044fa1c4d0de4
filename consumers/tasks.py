"""How tasks come and go: restored from their checkpoint, or fresh; and saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from driftline.core.events.codec import EventCodec
from driftline.core.task.checkpoint import models_of, restore_task, seal_task
from driftline.core.task.partition import PartitionTask, TaskConfig
from driftline.core.task.seal import CheckpointCodec, CheckpointStore

__all__ = ["SealedTask", "TaskStore"]


class SealedTask(NamedTuple):
    """A task's checkpoint sealed at one moment, to be stored later."""

    partition: int
    blob: bytes
    next_offset: int | None


class TaskStore:
    """Tasks of one namespace, checkpointed in ``store`` and sealed with ``sealer``.

    ``outputs`` tells where the output topics stand (by topic, then partition, the offset
    below which nothing published from now on lands); each checkpoint keeps it, so that a
    replay from it reads back what was published since (``None``: nothing recorded).
    """

    def __init__(
        self,
        store: CheckpointStore,
        sealer: CheckpointCodec,
        config: TaskConfig,
        namespace: str,
        codec: EventCodec | None = None,
        outputs: Callable[[], dict[str, dict[str, int]]] | None = None,
    ) -> None:
        self.store = store
        self.outputs = outputs
        self.sealer = sealer
        self.config = config
        self.namespace = namespace
        self.codec = codec or EventCodec()

    def restore(self, partition: int) -> PartitionTask | None:
        """The task of ``partition`` as its checkpoint holds it (``None``: no checkpoint)."""
        blob = self.store.load(partition)
        if blob is None:
            return None
        return restore_task(
            blob, self.sealer, self.config, partition, self.kept_models, events=self.codec
        )

    def fresh(self, partition: int) -> PartitionTask:
        return PartitionTask(partition, self.config, rollback=self.kept_models, codec=self.codec)

    def kept_models(self, partition: int, offset: int) -> tuple[str, dict[str, Any]] | None:
        """The champion's name and the models of ``partition``'s kept checkpoint at
        ``offset`` (verified before unpickling), or ``None`` when it is not kept.

        A task asks when it reads a rollback command. A store that does not answer raises
        (a transient error): the batch fails and is replayed from the last checkpoint, so
        the command is obeyed, or found unavailable, the same way on every run.
        """
        blob = self.store.load_at(partition, offset)
        if blob is None:
            return None
        return models_of(blob, self.sealer, partition)

    def save(self, task: PartitionTask) -> int:
        """Checkpoint ``task``, kept in the history as ``<partition>@<next offset>``; return
        the sealed checkpoint's size in bytes."""
        return self.store_sealed(self.seal(task))

    def seal(self, task: PartitionTask) -> SealedTask:
        """``task``'s checkpoint as it stands now, for :meth:`store_sealed`."""
        outputs = None if self.outputs is None else self.outputs()
        blob = seal_task(task, self.sealer, self.namespace, outputs=outputs)
        return SealedTask(task.partition, blob, task.next_offset)

    def store_sealed(self, sealed: SealedTask) -> int:
        """Store a checkpoint sealed earlier; return its size in bytes."""
        self.store.save(sealed.partition, sealed.blob, sealed.next_offset)
        return len(sealed.blob)
