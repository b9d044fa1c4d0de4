"""A partition's record stream for checkpoint tests (early, late, duplicate and broken
records, gaps in the offsets), its uninterrupted run, and tasks trained on it."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.models import DEFAULT_MODEL
from driftline.core.task.partition import PartitionTask, TaskConfig, TaskOutput
from driftline.core.times import to_millis

EVENTS = EventCodec()
T0 = datetime(2024, 1, 1, tzinfo=UTC)
PROCESSED_AT = datetime(2024, 6, 1, tzinfo=UTC)
PARTITION = 3
#: The default model and engineered features (calendar, lateness, label history), a TTL
#: short enough that some pending entries and early outcomes expire, and a dedupe window
#: smaller than the stream so ids are evicted from it.
CONFIG = TaskConfig(
    model=DEFAULT_MODEL,
    features=FeatureConfig(history_groups=("key", "carrier"), history_alpha=0.3),
    pending_ttl_s=1800.0,
    dedupe_size=150,
    rolling_window=50,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@cache
def stream() -> tuple[InputRecord, ...]:
    """~300 records of one partition: observations and outcomes in arrival order.

    Some outcomes arrive before their observation (a few of those never get one), some
    observations stay unlabelled (they expire), some labels arrive after the TTL, some
    records are sent twice, and one record is not an event at all. Offsets have gaps, as
    transaction markers leave them.
    """
    rng = random.Random(20240101)
    arrivals: list[tuple[float, int, bytes | None, bytes]] = []

    def send(arrival: float, event: Event) -> None:
        arrivals.append((arrival, len(arrivals), event.key.encode(), EVENTS.encode(event)))

    for i in range(155):
        key = rng.choice(["EWR", "JFK", "LGA"])
        carrier = rng.choice(["UA", "DL", "B6", "AA"])
        distance = rng.uniform(100, 2500)
        features: dict[str, Any] = {
            "distance": distance,
            "carrier": carrier,
            "temp": None if rng.random() < 0.2 else rng.uniform(-10, 35),
            "red": rng.random() < 0.5,
        }
        label = (distance > 1200) != (rng.random() < 0.15)
        t = 60.0 * i
        observation = Observation(event_id=f"f{i}", key=key, event_time=at(t), features=features)
        seen = t + rng.uniform(0, 20)
        fate = rng.random()
        if i % 25 == 7:  # an outcome whose observation never comes: it expires
            send(seen, Outcome(event_id=f"ghost{i}", key=key, event_time=at(t), label=True))
        if fate < 0.15:  # the outcome overtakes its observation
            early = Outcome(event_id=f"f{i}", key=key, event_time=at(t + 5), label=label)
            send(seen - 2, early)
            send(seen, observation)
        elif fate < 0.25:  # never labelled: expires after the TTL
            send(seen, observation)
        elif fate < 0.30:  # labelled after the TTL: the observation has expired
            send(seen, observation)
            late_t = t + 2400
            send(late_t + 1, Outcome(event_id=f"f{i}", key=key, event_time=at(late_t), label=label))
        else:
            send(seen, observation)
            out_t = t + rng.uniform(30, 900)
            outcome = Outcome(event_id=f"f{i}", key=key, event_time=at(out_t), label=label)
            send(out_t + rng.uniform(0, 30), outcome)
            if rng.random() < 0.08:  # the outcome is sent twice
                send(out_t + rng.uniform(45, 1500), outcome)
        if rng.random() < 0.08:  # the observation is sent twice
            send(seen + rng.uniform(3, 1500), observation)
    arrivals.append((3000.5, len(arrivals), b"EWR", b"\x00\x00\x00\x00\x09garbage"))

    records = []
    offset = 1000
    for arrival, _, key_bytes, value in sorted(arrivals):
        records.append(InputRecord(PARTITION, offset, key_bytes, value, to_millis(at(arrival))))
        offset += 2 if offset % 7 == 0 else 1
    return tuple(records)


def run(task: PartitionTask, records: Sequence[InputRecord]) -> TaskOutput:
    return task.process(records, PROCESSED_AT)


def fresh_task() -> PartitionTask:
    return PartitionTask(PARTITION, CONFIG)


def trained_task(n: int = 120) -> PartitionTask:
    task = fresh_task()
    run(task, stream()[:n])
    return task


def numbered_records(n: int) -> list[InputRecord]:
    """``n`` observations of three keys, one a second from 2024-01-01, each arriving a
    second after its event time, at offsets 0 to ``n - 1`` of partition 0."""
    out = []
    for i in range(n):
        obs = Observation(
            event_id=f"e{i}", key=f"k{i % 3}", event_time=T0 + timedelta(seconds=i),
            features={"x": float(i % 5)},
        )  # fmt: skip
        ms = int((T0 + timedelta(seconds=i + 1)).timestamp() * 1000)
        out.append(InputRecord(0, i, obs.key.encode(), EVENTS.encode(obs), ms))
    return out
