"""Defects the fuzzer found in ``pipeline/core``, each reduced to a few records, now fixed.

Each test states the behaviour the core promises (``process`` never raises for bad data;
a bad record is a dead letter with a reason; the snapshot is strict JSON). They were
strict xfails while the defects were open (:data:`tests.fuzz.harness.KNOWN_FINDINGS`
lists the open ones: none now).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.events.ticks import WatermarkTick
from driftline.core.task.partition import PartitionTask, TaskConfig
from driftline.core.times import to_millis

pytestmark = pytest.mark.fuzz

CODEC = EventCodec()
T = datetime(2024, 1, 1, tzinfo=UTC)


def record(offset: int, event: Event, ingest_ms: int | None = None) -> InputRecord:
    ingest = to_millis(event.event_time) if ingest_ms is None else ingest_ms
    return InputRecord(0, offset, event.key.encode(), CODEC.encode(event), ingest)


def observation(event_id: str, x: float | str = 1.0, when: datetime = T) -> Observation:
    return Observation(event_id=event_id, key="k", event_time=when, features={"x": x})


def outcome(event_id: str, label: bool | str) -> Outcome:
    return Outcome(event_id=event_id, key="k", event_time=T, label=label)


@pytest.mark.parametrize("timestamp_ms", [2**63 - 1, -(2**63), 10**15])
def test_a_record_timestamp_beyond_datetime_is_a_dead_letter(timestamp_ms: int) -> None:
    """Kafka timestamps are int64 (a producer sets them under CreateTime); Python's datetime
    ends in year 9999: ``from_millis`` raises ValueError out of ``process`` (task.py:143)."""
    task = PartitionTask(0, TaskConfig())
    out = task.process([record(0, observation("a"), timestamp_ms)], T)
    assert len(out.dead_letters) == 1 and not out.predictions


def test_a_tick_near_datetime_max_does_not_overflow_the_idle_clock() -> None:
    """An accepted event 200 s ahead of its ingest time, then a tick stamped 9999-12-31:
    ``IdleClock.tick`` adds the idle time to the frontier and passes datetime.max."""
    task = PartitionTask(0, TaskConfig())
    early = record(0, observation("a"), to_millis(T) - 200_000)
    tick = InputRecord(0, 1, None, CODEC.encode_tick(WatermarkTick(source="w")), 253402300799999)
    out = task.process([early, tick], T)
    assert [d.reason for d in out.dead_letters] == ["ingest-time-out-of-range"]


def test_a_text_label_for_the_default_classifier_is_a_dead_letter() -> None:
    """``check_label`` lets a text label through for any classifier; the default model's
    logistic regression then raises in ``learn_one`` (River's ``int("yes")``)."""
    task = PartitionTask(0, TaskConfig())
    out = task.process([record(0, observation("a")), record(1, outcome("a", "yes"))], T)
    assert [d.reason for d in out.dead_letters] == ["label-type"]


def test_a_lateness_beyond_the_histogram_keeps_the_snapshot_strict_json() -> None:
    """A broker time in 2200 for an event of 2024 is accepted (no ``max_age_s`` by default);
    its lateness falls past the last histogram bucket (its quantile: the highest bound)."""
    task = PartitionTask(0, TaskConfig())
    task.process([record(0, observation("a"), to_millis(datetime(2200, 1, 1, tzinfo=UTC)))], T)
    json.dumps(task.snapshot(), allow_nan=False)


def test_a_feature_that_changes_type_is_not_fatal_to_a_tree() -> None:
    """With a River tree (``DRIFTLINE_MODEL``), a feature learned as a number and later
    sent as text (both valid) raises TypeError in ``learn_one`` (after a few more labels,
    in ``predict_proba_one`` of every observation carrying it: the partition stops)."""
    task = PartitionTask(0, TaskConfig(model="tree.HoeffdingTreeClassifier()"))
    later = T + timedelta(seconds=1)
    records = [
        record(0, observation("a", 1.0)),
        record(1, outcome("a", True)),
        record(2, observation("b", "text", later)),
        record(3, outcome("b", False)),
    ]
    out = task.process(records, T)
    refused = [d.offset for d in out.dead_letters] == [3]
    assert task.metrics.counts["learned"] == 2 or refused


def test_an_outcome_resent_while_held_early_is_accounted_for() -> None:
    """Outcome ``x`` comes before its observation and is held; the dedupe window (2 ids
    here, 200,000 by default) forgets ``x``; a resent ``x`` is counted again and
    ``EarlyOutcomes.hold`` replaces the first one: record 0 is neither learned, nor held,
    nor a dead letter, and the observation learns the second label."""
    task = PartitionTask(0, TaskConfig(dedupe_size=2))
    records = [
        record(0, outcome("x", True)),
        record(1, outcome("y", True)),
        record(2, outcome("z", True)),
        record(3, outcome("x", False)),
    ]
    out = task.process(records, T)
    counts = task.metrics.counts
    resolved = counts["learned"] + counts["dead_letters_outcome"] + len(task.early)
    assert counts["outcomes"] == resolved, f"{counts['outcomes']} outcomes, {resolved} resolved"
    assert not out.predictions
