"""TaskState: a task's state as one value, the one thing a checkpoint pickles.

A field added to the state (here by a subclass, with no change to the checkpoint code)
is checkpointed with the rest and is there in the restored task.
"""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from driftline.core.drift.watch import Monitors
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.task.checkpoint import model_digest, restore_task, seal_task
from driftline.core.task.config import TaskConfig
from driftline.core.task.digest import state_digest
from driftline.core.task.partition import PartitionTask
from driftline.core.task.seal import CheckpointCodec, CheckpointError
from driftline.core.task.state import TaskState
from driftline.core.times import to_millis

CONFIG = TaskConfig(features=FeatureConfig(raw_only=True))
SEALER = CheckpointCodec(b"s" * 32)
EVENTS = EventCodec()
T0 = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class NotedState(TaskState):
    """A state with one more field, as a later change would add one."""

    notes: list[str] = field(default_factory=list)


#: A part of the state (the drift watch's) with one more field, made as a later change
#: might make it.
NotedMonitors = dataclasses.make_dataclass(
    "NotedMonitors", [("alarms_seen", int, field(default=0))], bases=(Monitors,)
)
NotedMonitors.__module__ = __name__  # so that pickle finds it


def records(n: int) -> list[InputRecord]:
    """``n`` observations, each followed by the outcome of the one two before it."""
    events: list[tuple[datetime, Observation | Outcome]] = []
    for i in range(n):
        when = T0 + timedelta(seconds=10 * i)
        x = {"x": i % 5 * 1.0}
        events.append((when, Observation(event_id=f"e{i}", key="k", event_time=when, features=x)))
        if i >= 2:
            label = i % 3 == 0
            events.append(
                (when, Outcome(event_id=f"e{i - 2}", key="k", event_time=when, label=label))
            )
    return [
        InputRecord(0, offset, b"k", EVENTS.encode(event), to_millis(when))
        for offset, (when, event) in enumerate(events)
    ]


def test_a_fresh_task_builds_its_state_from_its_config() -> None:
    task = PartitionTask(0, CONFIG)
    assert isinstance(task.state, TaskState)
    assert task.pending is task.state.pending and task.metrics is task.state.metrics
    assert task.next_offset is None and task.parent_version is None


def test_a_task_is_built_from_a_state_it_is_given() -> None:
    first = PartitionTask(0, CONFIG)
    first.process(records(20), T0)
    second = PartitionTask(0, CONFIG, first.state)
    assert second.state is first.state
    assert second.next_offset == first.next_offset == 38
    assert model_digest(second) == model_digest(first)


def test_a_field_added_to_the_state_survives_a_checkpoint() -> None:
    state = NotedState.fresh(CONFIG)
    assert state.notes == []
    task = PartitionTask(0, CONFIG, state)
    task.process(records(20), T0)
    state.notes.append("kept")

    again = restore_task(seal_task(task, SEALER, "state"), SEALER, CONFIG, 0)

    assert isinstance(again.state, NotedState)
    assert again.state.notes == ["kept"]
    assert again.next_offset == task.next_offset
    assert model_digest(again) == model_digest(task)


def test_a_field_added_to_a_part_of_the_state_survives_a_checkpoint() -> None:
    state = TaskState.fresh(CONFIG)
    state.monitors = NotedMonitors(state.monitors.features, state.monitors.labels, 3)
    task = PartitionTask(0, CONFIG, state)
    task.process(records(20), T0)

    again = restore_task(seal_task(task, SEALER, "state"), SEALER, CONFIG, 0)

    assert isinstance(again.state.monitors, NotedMonitors)
    assert again.state.monitors.alarms_seen == 3
    assert state_digest(again.state.monitors.labels) == state_digest(state.monitors.labels)


def test_every_field_of_the_state_survives_a_checkpoint() -> None:
    task = PartitionTask(0, CONFIG)
    task.process(records(30), T0)
    again = restore_task(seal_task(task, SEALER, "state"), SEALER, CONFIG, 0)
    for part in dataclasses.fields(TaskState):
        before, after = getattr(task.state, part.name), getattr(again.state, part.name)
        assert state_digest(after) == state_digest(before), part.name
    assert len(again.pending) == 2


def test_a_restored_task_continues_as_one_that_never_stopped() -> None:
    stream = records(40)
    whole = PartitionTask(0, CONFIG)
    whole.process(stream, T0)
    half = PartitionTask(0, CONFIG)
    half.process(stream[:41], T0)
    again = restore_task(seal_task(half, SEALER, "state"), SEALER, CONFIG, 0)
    again.process(stream[41:], T0)
    assert again.parent_version == half.model_version
    assert model_digest(again) == model_digest(whole)
    assert again.snapshot()["counts"] == whole.snapshot()["counts"]


def test_a_checkpoint_holding_anything_else_is_refused() -> None:
    header = SEALER.open(seal_task(PartitionTask(0, CONFIG), SEALER, "state"))[0]
    blob = SEALER.seal(header, pickle.dumps({"slots": {}}, protocol=5))
    with pytest.raises(CheckpointError, match="not a task's state"):
        restore_task(blob, SEALER, CONFIG, 0)


def test_the_rollback_source_is_given_at_construction() -> None:
    def source(partition: int, offset: int) -> None:
        return None

    assert PartitionTask(0, CONFIG, rollback=source).rollback_source is source
    task = restore_task(seal_task(PartitionTask(0, CONFIG), SEALER, "s"), SEALER, CONFIG, 0, source)
    assert task.rollback_source is source
