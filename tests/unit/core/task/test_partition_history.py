"""The label history a task predicts with holds only the outcomes of earlier flights, in
event time, whatever order the outcomes arrive in: an outcome delivered early stays
out of an earlier flight's features."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.task.partition import FeatureConfig, PartitionTask, TaskConfig
from driftline.core.times import to_millis

T0 = datetime(2013, 6, 1, 12, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _records(events: list[Event]) -> list[InputRecord]:
    codec = EventCodec()
    return [
        InputRecord(0, offset, event.key.encode(), codec.encode(event), to_millis(event.event_time))
        for offset, event in enumerate(events)
    ]


def _predicted_with(events: list[Event]) -> dict[str, dict[str, object]]:
    """The vector each observation was predicted with, through one partition's task."""
    config = TaskConfig(
        features=FeatureConfig(calendar=False, lateness=False, history_groups=("key", "origin"))
    )
    task = PartitionTask(0, config)
    vectors: dict[str, dict[str, object]] = {}
    for record, event in zip(_records(events), events, strict=True):
        task.process([record], at(10_000))
        if isinstance(event, Observation):
            entry = task.pending.pop(event.event_id)
            assert entry is not None
            vectors[event.event_id] = dict(entry.x)
            task.pending.add(entry)
    return vectors


def _flight(event_id: str, departs: float, arrives: float, late: bool) -> tuple[Event, Event]:
    observation = Observation(
        event_id=event_id, key="N14228", event_time=at(departs), features={"origin": "EWR"}
    )
    return observation, Outcome(event_id=event_id, key="N14228", event_time=at(arrives), label=late)


def test_the_task_predicts_with_the_outcomes_learned_before() -> None:
    """In event-time order, a flight's history holds the earlier flights' outcomes only."""
    obs_a, out_a = _flight("a", 0, 60, True)
    obs_b, out_b = _flight("b", 120, 180, False)
    obs_c, _ = _flight("c", 240, 300, False)
    vectors = _predicted_with([obs_a, out_a, obs_b, out_b, obs_c])
    assert "recent_label[key]" not in vectors["a"]
    assert vectors["b"]["recent_label[key]"] == 1.0
    assert vectors["c"]["recent_label[key]"] == pytest.approx(0.8)  # alpha 0.2


def test_an_outcome_delivered_early_stays_out_of_an_earlier_flight_s_history() -> None:
    """Flight b's outcome (arrival 10:40) is delivered before flight a's observation (10:00,
    delayed in transit): a's vector must be what it would be without b."""
    obs_a, out_a = _flight("a", 0, 60, True)
    obs_b, out_b = _flight("b", -60, 40, True)
    obs_0, out_0 = _flight("0", -240, -180, False)
    in_order = _predicted_with([obs_0, out_0, obs_b, obs_a, out_b, out_a])
    delivered_early = _predicted_with([obs_0, out_0, obs_b, out_b, obs_a, out_a])
    assert delivered_early["a"] == in_order["a"]
