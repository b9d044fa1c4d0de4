"""A trained task and its checkpoints in a directory store, for the predictor's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from driftline.adapters.checkpoints.files import DirectoryCheckpointStore
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation, Outcome
from driftline.core.task.checkpoint import seal_task
from driftline.core.task.partition import FeatureConfig, InputRecord, PartitionTask, TaskConfig
from driftline.core.task.seal import CheckpointCodec

__all__ = ["CODEC", "CONFIG", "T0", "checkpointed", "learn"]

CONFIG = TaskConfig(features=FeatureConfig(raw_only=True))
CODEC = CheckpointCodec(b"predictor-test-key-0123456789")
T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
_EVENTS = EventCodec()


def learn(task: PartitionTask, start: int, n: int) -> None:
    """``n`` labelled observations (``x > 3`` is true) from offset ``start`` on."""
    records = []
    offset = task.next_offset or start
    for i in range(start, start + n):
        x = float(i % 7)
        at = T0 + timedelta(minutes=i)
        obs = Observation(event_id=f"e{i}", key="k", event_time=at, features={"x": x})
        out = Outcome(event_id=f"e{i}", key="k", event_time=at, label=x > 3)
        for event in (obs, out):
            millis = int(at.timestamp() * 1000)
            records.append(InputRecord(task.partition, offset, b"k", _EVENTS.encode(event), millis))
            offset += 1
    task.process(records, processed_at=T0 + timedelta(minutes=start + n))


def checkpointed(
    directory: Path, partition: int = 0, n: int = 20
) -> tuple[DirectoryCheckpointStore, PartitionTask]:
    """A store holding one checkpoint of a task of ``partition`` that learned ``n`` labels."""
    store = DirectoryCheckpointStore(directory)
    task = PartitionTask(partition, CONFIG)
    learn(task, 0, n)
    store.save(partition, seal_task(task, CODEC, "test"), task.next_offset)
    return store, task
