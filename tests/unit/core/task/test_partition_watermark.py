"""The task's watermark on an idle partition keeps the allowed lateness.

A watermark tick moves the partition's event time on by the idle time; the watermark
stays the allowed lateness behind it, as on a busy partition at the same event time, so
an outcome inside the allowed lateness is learned on an idle partition as on a busy one
(not dead-lettered ``expired-observation``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.events.ticks import WatermarkTick
from driftline.core.learning.features import FeatureConfig
from driftline.core.task.partition import PartitionTask, TaskConfig
from driftline.core.times import to_millis

CODEC = EventCodec()
T0 = datetime(2024, 1, 1, tzinfo=UTC)
CLASSIFIER = "preprocessing.StandardScaler() | linear_model.LogisticRegression()"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(offset: int, item: Event, ingest_s: float) -> InputRecord:
    return InputRecord(0, offset, item.key.encode(), CODEC.encode(item), to_millis(at(ingest_s)))


def tick(offset: int, ingest_s: float) -> InputRecord:
    raw = CODEC.encode_tick(WatermarkTick(source="test"))
    return InputRecord(0, offset, b"", raw, to_millis(at(ingest_s)))


def task() -> PartitionTask:
    config = TaskConfig(
        model=CLASSIFIER,
        features=FeatureConfig(raw_only=True),
        allowed_lateness_s=3600.0,
        pending_ttl_s=600.0,
        idle_watermark_s=60.0,
    )
    return PartitionTask(0, config)


def observation(event_id: str, t: float, key: str = "k") -> Observation:
    return Observation(event_id=event_id, key=key, event_time=at(t), features={"x": 1.0})


def test_a_tick_leaves_the_watermark_the_allowed_lateness_behind_event_time() -> None:
    idle = task()
    idle.process([event(0, observation("a", 0), 0)], at(0))
    idle.process([tick(1, 700)], at(700))
    # event time moved by the 700 s of idle time; the watermark is an hour behind it
    assert idle.max_event_time == at(700)
    assert idle.watermark == at(700 - 3600)


def test_an_outcome_inside_the_allowed_lateness_is_learned_busy_or_idle() -> None:
    label = Outcome(event_id="a", key="k", event_time=at(650), label=True)
    busy, idle = task(), task()
    busy.process(
        [event(0, observation("a", 0), 0), event(1, observation("b", 700, "other"), 700)], at(700)
    )
    idle.process([event(0, observation("a", 0), 0), tick(1, 700)], at(700))
    assert busy.watermark == idle.watermark == at(700 - 3600)
    for partition in (busy, idle):
        out = partition.process([event(2, label, 701)], at(701))
        assert [d.reason for d in out.dead_letters] == []
        assert partition.metrics.counts["learned"] == 1
        assert partition.metrics.counts["expired"] == 0


def test_an_idle_partition_still_expires_once_the_lateness_has_passed() -> None:
    idle = task()
    idle.process([event(0, observation("a", 0), 0)], at(0))
    out = idle.process([tick(1, 3600 + 601)], at(4201))
    assert out.expired == 1
    assert len(idle.pending) == 0
