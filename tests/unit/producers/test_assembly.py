"""The replay assembled from its options, run on a fake Kafka producer: what it publishes,
when a rebased replay's clock starts, and the ground truth of the faults it injects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from kafka.errors import KafkaTimeoutError
from kafka.future import Future

from driftline.adapters.settings import KafkaSettings, Settings
from driftline.core.errors import PublishError
from driftline.core.events.model import Observation, Outcome
from driftline.core.learning.windows import EventWindows, WindowScore
from driftline.producers.assembly import AssembledReplay, assemble_replay, rebase_to
from driftline.producers.faults import FaultPlan
from driftline.producers.publisher import DeliveryBounds
from driftline.producers.replay_options import ReplayOptions
from driftline.producers.sources import LabelledEvent

T0 = datetime(2013, 1, 1, 10, tzinfo=UTC)
#: A wall time on a whole two seconds: a replay rebased there, aligned on 2 s, starts there.
NOW = datetime(2030, 1, 1, tzinfo=UTC)


class Metadata(NamedTuple):
    topic: str
    partition: int
    offset: int


class FakeProducer:
    """kafka-python's producer as the publisher uses it: each record is acknowledged at
    once, in partition 0, unless its index is in ``fail_at``."""

    def __init__(self, kafka: KafkaSettings, fail_at: frozenset[int] = frozenset(), **options: Any):
        self.kafka = kafka
        self.options = options
        self.fail_at = fail_at
        self.sent: list[dict[str, Any]] = []
        self.closed = False

    def send(self, topic: str, **record: Any) -> Future:
        future = Future()
        if len(self.sent) in self.fail_at:
            future.failure(KafkaTimeoutError("batch expired"))
        else:
            future.success(Metadata(topic, 0, len(self.sent)))
        self.sent.append(record | {"topic": topic})
        return future

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


def flights(n: int) -> list[LabelledEvent]:
    events = []
    for i in range(n):
        at = T0 + timedelta(minutes=10 * i)
        obs = Observation(event_id=f"f{i}", key="EWR", event_time=at, features={"x": float(i)})
        out = Outcome(
            event_id=f"f{i}", key="EWR", event_time=at + timedelta(hours=2), label=i % 2 == 0
        )
        events.append(LabelledEvent(obs, out))
    return events


def assemble(
    source: Any, options: ReplayOptions, faults: FaultPlan | None = None, **fake: Any
) -> tuple[AssembledReplay, list[FakeProducer]]:
    made: list[FakeProducer] = []

    def make_producer(kafka: KafkaSettings, **options: Any) -> FakeProducer:
        made.append(FakeProducer(kafka, **fake, **options))
        return made[-1]

    settings = Settings(_env_file=None).with_overrides(namespace="t1", seed=7)
    replay = assemble_replay(
        settings, "k:9092", source, options, faults, make_producer=make_producer, now=lambda: NOW
    )
    return replay, made


def test_a_replay_publishes_every_event_in_arrival_order_and_says_so() -> None:
    replay, (producer,) = assemble(flights(20), ReplayOptions(delay_mean=0.0))
    sent: list[int] = []
    with replay:
        replay.run(on_progress=sent.append)
    summary = replay.summary()

    assert (summary["published"], summary["observations"], summary["outcomes"]) == (40, 20, 20)
    assert summary["topic"] == "t1.events" and summary["failed"] == 0
    assert "rebase_to" not in summary and "injected" not in summary
    assert sent[-1] == 40
    stamps = [record["timestamp_ms"] for record in producer.sent]
    assert stamps == sorted(stamps)  # no delay: arrival order is event-time order
    bounds = DeliveryBounds(producer.kafka.request_timeout_ms)
    assert producer.kafka.bootstrap == "k:9092"
    assert producer.options == bounds.producer_options()
    assert producer.closed


def test_the_same_options_and_seed_schedule_the_same_stream() -> None:
    options = ReplayOptions(delay_mean=600.0, delay_max=3600.0)
    runs = []
    for _ in range(2):
        replay, (producer,) = assemble(flights(50), options)
        with replay:
            replay.run()
        runs.append([(r["key"], r["value"], r["timestamp_ms"]) for r in producer.sent])
    assert runs[0] == runs[1]
    assert replay.summary()["out_of_order"] > 0  # the delays disorder the stream


def test_a_rebased_replay_takes_its_first_event_before_its_clock_starts() -> None:
    happened: list[str] = []

    def source() -> Iterator[LabelledEvent]:
        happened.append("first event ready")
        yield from flights(5)

    def now() -> datetime:
        happened.append("clock started")
        return NOW

    options = ReplayOptions(speed=1e9, rebase=True, rebase_align=2.0, delay_mean=0.0)
    settings = Settings(_env_file=None).with_overrides(namespace="t1")
    replay = assemble_replay(
        settings, "k:9092", source(), options, make_producer=FakeProducer, now=now
    )
    assert happened == ["first event ready", "clock started"]
    with replay:
        replay.run()
    summary = replay.summary()
    assert summary["published"] == 10  # the first event is published too
    assert summary["rebase_to"] == rebase_to(NOW, 2.0).isoformat() == NOW.isoformat()
    assert summary["time_scale"] == 1e9
    assert summary["first_event_time"] == NOW.isoformat()


def test_injected_faults_are_counted_and_their_ground_truth_written_on_exit(
    tmp_path: Path,
) -> None:
    truth = tmp_path / "truth.jsonl"
    options = ReplayOptions(delay_mean=0.0, inject="duplicate=0.3", ground_truth=truth)
    faults = FaultPlan({"duplicate": 0.3}, seed=3)
    replay, _ = assemble(flights(100), options, faults)
    with replay:
        replay.run()
        assert not truth.exists()  # written once the publisher is closed
    summary = replay.summary()

    duplicates = summary["injected"]["duplicate"]
    assert duplicates > 0 and summary["ground_truth"] == str(truth)
    assert summary["observations"] == 100 + duplicates
    rows = [json.loads(line) for line in truth.read_text().splitlines()]
    assert len(rows) == duplicates and {row["fault"] for row in rows} == {"duplicate"}


def test_a_failed_replay_says_what_was_acknowledged_and_still_writes_the_truth(
    tmp_path: Path,
) -> None:
    truth = tmp_path / "truth.jsonl"
    options = ReplayOptions(delay_mean=0.0, inject="duplicate=0.3", ground_truth=truth)
    faults = FaultPlan({"duplicate": 0.3}, seed=3)
    replay, _ = assemble(flights(100), options, faults, fail_at=frozenset({30}))
    with pytest.raises(PublishError) as failed, replay:
        replay.run()

    account = replay.failure(failed.value)
    assert account["acknowledged"] == 30 and account["failed"] == 1
    assert account["failed_by_reason"] == {"KafkaTimeoutError": 1}
    assert account["error"] == str(failed.value)
    assert account["ground_truth"] == str(truth) and truth.exists()
    written = len(truth.read_text().splitlines())
    assert written == sum(account["injected"].values()) > 0


def test_the_summary_is_there_only_once_the_replay_ran() -> None:
    replay, _ = assemble(flights(1), ReplayOptions())
    with pytest.raises(RuntimeError, match="has not run"):
        replay.summary()


@pytest.mark.parametrize(
    ("now", "align", "start"),
    [
        (
            datetime(2030, 1, 1, 0, 0, 1, 500_000, tzinfo=UTC),
            2.0,
            datetime(2030, 1, 1, 0, 0, 2, tzinfo=UTC),
        ),
        (datetime(2030, 1, 1, 0, 0, 2, tzinfo=UTC), 2.0, datetime(2030, 1, 1, 0, 0, 2, tzinfo=UTC)),
        (
            datetime(2030, 1, 1, 0, 0, 1, 7, tzinfo=UTC),
            None,
            datetime(2030, 1, 1, 0, 0, 1, 7, tzinfo=UTC),
        ),
        (
            datetime(2030, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
            0.000003,
            datetime(2030, 1, 1, 0, 0, 0, 3, tzinfo=UTC),
        ),
    ],
)
def test_rebase_to_is_the_next_edge_of_the_alignment(
    now: datetime, align: float | None, start: datetime
) -> None:
    assert rebase_to(now, align) == start


NEW_YEAR_2024 = datetime(2024, 1, 1, tzinfo=UTC)


def test_windows_of_an_aligned_warped_clock_hold_the_same_events_every_run() -> None:
    """The demo's producer starts the warped clock on a window's edge (--rebase-align):
    two runs started at different wall times then close the same windows on the same
    labels (without alignment, the edges fall among other events)."""
    from driftline.producers.assembly import rebase_to

    speed, week = 262_800.0, 2.301369
    flights = [NEW_YEAR_2024 + timedelta(minutes=37 * i) for i in range(3000)]

    def points(now: datetime, align: float | None) -> list[tuple[int, int]]:
        start = rebase_to(now, align)
        windows = EventWindows((week,))
        closed = []
        for t in flights:
            warped = start + (t - flights[0]) / speed
            closed += windows.add(warped, WindowScore(True, 0.1))
        return [(p["n"], p["correct"]) for p in closed]

    one, two = (
        datetime(2030, 1, 1, 0, 0, 0, 123_456, tzinfo=UTC),
        datetime(2030, 5, 2, 7, tzinfo=UTC),
    )
    assert points(one, week) == points(two, week)
    assert points(one, None) != points(two, None)
