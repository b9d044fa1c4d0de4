"""How tasks come and go: restored from their checkpoint, or fresh; and saved."""

from __future__ import annotations

from pipeline.core.checkpoint import CheckpointCodec, CheckpointStore
from pipeline.core.codec import EventCodec
from pipeline.core.task import PartitionTask, TaskConfig
from pipeline.core.task_checkpoint import restore_task, seal_task

__all__ = ["TaskStore"]


class TaskStore:
    """Tasks of one namespace, checkpointed in ``store`` and sealed with ``sealer``."""

    def __init__(
        self,
        store: CheckpointStore,
        sealer: CheckpointCodec,
        config: TaskConfig,
        namespace: str,
        codec: EventCodec | None = None,
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.config = config
        self.namespace = namespace
        self.codec = codec or EventCodec()

    def restore(self, partition: int) -> PartitionTask | None:
        """The task of ``partition`` as its checkpoint holds it (``None``: no checkpoint)."""
        blob = self.store.load(partition)
        if blob is None:
            return None
        return restore_task(blob, self.sealer, self.config, partition)

    def fresh(self, partition: int) -> PartitionTask:
        return PartitionTask(partition, self.config, self.codec)

    def save(self, task: PartitionTask) -> int:
        """Checkpoint ``task``, kept in the history as ``<partition>@<next offset>``; return
        the sealed checkpoint's size in bytes."""
        blob = seal_task(task, self.sealer, self.namespace)
        self.store.save(task.partition, blob, task.next_offset)
        return len(blob)
