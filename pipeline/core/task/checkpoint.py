"""Checkpoint a task and restore it: the state an uninterrupted run would have.

>>> from driftline.core.task.partition import PartitionTask, TaskConfig
>>> codec = CheckpointCodec(b"x" * 32)
>>> task = PartitionTask(2, TaskConfig())
>>> task.next_offset = 42
>>> blob = seal_task(task, codec, "demo")
>>> again = restore_task(blob, codec, TaskConfig(), 2)
>>> again.next_offset, again.parent_version, model_digest(again) == model_digest(task)
(42, 0, True)
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from typing import Any

import river

from driftline.core import __version__
from driftline.core.events.codec import EventCodec
from driftline.core.task.digest import state_digest
from driftline.core.task.fingerprint import config_fingerprint
from driftline.core.task.partition import PartitionTask, RollbackSource, TaskConfig
from driftline.core.task.seal import CheckpointCodec, CheckpointError
from driftline.core.task.state import TaskState

__all__ = [
    "config_fingerprint",
    "describe",
    "export_model",
    "model_digest",
    "models_of",
    "restore_task",
    "seal_task",
]

FORMAT = 7


def model_digest(task: PartitionTask) -> str:
    """A digest of the model's state: equal for equal states."""
    return state_digest(task.model)


def seal_task(
    task: PartitionTask,
    codec: CheckpointCodec,
    namespace: str,
    *,
    outputs: dict[str, dict[str, int]] | None = None,
) -> bytes:
    """The task's whole state and next offset as one sealed blob.

    ``outputs``: where the worker's output topics stood when it sealed (topic, then
    partition, to the next offset), kept in the header as ``outputs`` so that a replay
    from this checkpoint reads back what was published since (absent: nothing known).
    """
    payload = pickle.dumps(task.state, protocol=5)
    header = {
        "format": FORMAT,
        "namespace": namespace,
        "partition": task.partition,
        "next_offset": task.next_offset,
        "model_version": task.model_version,
        "parent_version": task.parent_version,
        "model_digest": model_digest(task),
        "river_version": river.__version__,
        "driftline_version": __version__,
        "config_fingerprint": config_fingerprint(task.config),
        "model": task.config.model,
        "champion": task.champion,
        "models": {
            name: {"version": slot.version, "digest": state_digest(slot.model), "spec": slot.spec}
            for name, slot in task.slots.items()
        },
        "counters": {k: v for k, v in task.metrics.counts.items() if v},
        "created_at": datetime.now(UTC).isoformat(),
        "payload_bytes": len(payload),
    }
    if outputs is not None:
        header["outputs"] = outputs
    return codec.seal(header, payload)


def restore_task(
    blob: bytes,
    codec: CheckpointCodec,
    config: TaskConfig,
    partition: int,
    rollback: RollbackSource | None = None,
    *,
    events: EventCodec | None = None,
) -> PartitionTask:
    """Verify ``blob`` (before unpickling anything) and build the task of the state it
    holds (``rollback``: where that task finds a kept checkpoint's models; ``events``: the
    events' codec, default the local-only ids)."""
    header, payload = codec.open(blob)
    if header.get("format") != FORMAT:
        raise CheckpointError(
            f"checkpoint format {header.get('format')} is not {FORMAT} (another driftline "
            "version made it): delete it to rebuild the state by replaying the partition"
        )
    if header.get("partition") != partition:
        raise CheckpointError(
            f"checkpoint of partition {header.get('partition')} offered for {partition}"
        )
    expected = config_fingerprint(config)
    if header.get("config_fingerprint") != expected:
        raise CheckpointError(
            f"partition {partition}'s checkpoint was made with another configuration "
            f"(fingerprint {header.get('config_fingerprint')}, now {expected}; model "
            f"{header.get('model')!r}): delete it to start that model afresh"
        )
    state = pickle.loads(payload)  # noqa: S301 - HMAC verified above
    if not isinstance(state, TaskState):
        raise CheckpointError(
            f"partition {partition}'s checkpoint holds a {type(state).__name__}, not a task's "
            "state: delete it to rebuild the state by replaying the partition"
        )
    return PartitionTask(
        partition, config, state, rollback=rollback, restored_from=header, codec=events
    )


def models_of(blob: bytes, codec: CheckpointCodec, partition: int) -> tuple[str, dict[str, Any]]:
    """The champion's name and each model by name, from a verified checkpoint of
    ``partition`` (any configuration: a rollback takes the models whose names it knows)."""
    header, payload = codec.open(blob)
    if header.get("format") != FORMAT or header.get("partition") != partition:
        raise CheckpointError(
            f"checkpoint of partition {header.get('partition')}, format {header.get('format')}"
            f": not a format {FORMAT} checkpoint of partition {partition}"
        )
    state = pickle.loads(payload)  # noqa: S301 - HMAC verified above
    if not isinstance(state, TaskState):
        raise CheckpointError(f"checkpoint of partition {partition} holds no task's state")
    models = state.models
    return models.champion, {name: slot.model for name, slot in models.slots.items()}


def describe(blob: bytes, codec: CheckpointCodec, now: datetime | None = None) -> dict[str, Any]:
    """What ``driftline model show`` prints of one checkpoint (verified, not unpickled)."""
    header = codec.header(blob)
    created = datetime.fromisoformat(header["created_at"])
    age = ((now or datetime.now(UTC)) - created).total_seconds()
    return {
        "partition": header["partition"],
        "model_version": header["model_version"],
        "parent_version": header["parent_version"],
        "learned": header["counters"].get("learned", 0),
        "predictions": header["counters"].get("predictions", 0),
        "next_offset": header["next_offset"],
        "checkpoint_age_s": round(age, 1),
        "created_at": header["created_at"],
        "model_digest": header["model_digest"],
        "model": header["model"],
        "river_version": header["river_version"],
        "config_fingerprint": header["config_fingerprint"],
        "champion": header.get("champion"),
        "models": header.get("models"),
        "bytes": len(blob),
    }


def export_model(blob: bytes, codec: CheckpointCodec, config: TaskConfig, partition: int) -> bytes:
    """The verified model of a checkpoint, pickled alone for offline use."""
    task = restore_task(blob, codec, config, partition)
    return pickle.dumps(task.model, protocol=5)
