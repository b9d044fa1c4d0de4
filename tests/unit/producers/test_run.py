"""run_replay: everything published in arrival order, paced by arrival, and the replay
summary (out of order, lateness percentiles, elapsed time and rate, progress)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from driftline.core.events.model import Event, Observation
from driftline.producers.publisher import PublishReport
from driftline.producers.replay import ArrivalDelay, Pacer, ReplayPlan, TimedEvent
from driftline.producers.run import run_replay
from driftline.producers.sources import LabelledEvent
from tests.unit.producers.replay_fakes import FakeClock, labelled, out_of_order, steady

T0 = datetime(2013, 1, 1, tzinfo=UTC)


# -- run_replay -----------------------------------------------------------------------------------
class FakePublisher:
    """Counts what it is given, the way EventPublisher reports acknowledgements."""

    def __init__(self) -> None:
        self.report = PublishReport("demo.events")
        self.published: list[Event] = []
        self.arrivals: list[datetime | None] = []
        self.flushes = 0
        self.flushed_after: list[int] = []

    def publish(self, event: Event, arrival: datetime | None = None) -> None:
        self.published.append(event)
        self.arrivals.append(arrival)

    def flush(self) -> PublishReport:
        for event in self.published[sum(self.report.by_kind.values()) :]:
            self.report.by_kind[event.kind] += 1
            self.report.by_partition[0] += 1
        self.flushes += 1
        self.flushed_after.append(len(self.published))
        return self.report


@dataclass
class ScriptedPlan:
    """A plan that replays a fixed list of (event time, lateness) pairs in this order."""

    script: list[tuple[float, float]]

    def schedule(self, source: Iterable[LabelledEvent]) -> Iterator[TimedEvent]:
        for i, (at_s, late_s) in enumerate(self.script):
            at = T0 + timedelta(seconds=at_s)
            event = Observation(event_id=f"s{i}", key="k", event_time=at, features={})
            yield TimedEvent(at + timedelta(seconds=late_s), event)


def ticking(*readings: float) -> Iterator[float]:
    return iter(readings)


def test_run_replay_publishes_everything_in_arrival_order() -> None:
    source = steady(100, outcome_after_s=30)
    source[10] = labelled(10, source[10].observation.event_time, None)  # one never resolved
    plan = ReplayPlan(ArrivalDelay(mean_s=20, max_s=120), seed=9)
    publisher = FakePublisher()
    summary = run_replay(source, plan, Pacer(None), publisher)  # type: ignore[arg-type]
    expected = list(plan.schedule(source))
    assert [(e.kind, e.event_id) for e in publisher.published] == [
        (t.event.kind, t.event.event_id) for t in expected
    ]
    # each record carries its scheduled arrival (a topic of the replay's clock keeps it)
    assert publisher.arrivals == [t.arrival for t in expected]
    data = summary.to_dict()
    assert (data["published"], data["observations"], data["outcomes"]) == (199, 100, 99)
    assert publisher.flushes == 1 and publisher.flushed_after == [199]
    assert data["out_of_order"] == out_of_order(expected) > 0
    assert data["first_event_time"] == T0.isoformat()
    newest = max(t.event.event_time for t in expected)
    assert data["last_event_time"] == newest.isoformat()


def test_out_of_order_counts_events_older_than_one_already_sent() -> None:
    # 5 < 10, then 15 < 20 and 3 < 20: three events out of order; 20 itself is not
    plan = ScriptedPlan([(0, 0), (10, 0), (5, 0), (20, 0), (15, 0), (3, 0)])
    publisher = FakePublisher()
    summary = run_replay([], plan, Pacer(None), publisher)  # type: ignore[arg-type]
    assert summary.out_of_order == 3
    assert summary.first_event_time == T0
    assert summary.last_event_time == T0 + timedelta(seconds=20)


def test_lateness_percentiles() -> None:
    # lateness 0, 1, ..., 100 s in a shuffled order: the median is 50, p99 is 99-100
    script = [(float(i), float((i * 37) % 101)) for i in range(101)]
    summary = run_replay(
        [],
        ScriptedPlan(script),
        Pacer(None),
        FakePublisher(),  # type: ignore[arg-type]
    )
    lateness = summary.to_dict()["simulated_lateness_s"]
    assert lateness["p50"] == pytest.approx(50)
    assert 99 <= lateness["p99"] <= 100


def test_lateness_without_delays_is_zero() -> None:
    plan = ReplayPlan(ArrivalDelay(mean_s=0), seed=1)
    summary = run_replay(steady(20), plan, Pacer(None), FakePublisher())  # type: ignore[arg-type]
    assert summary.to_dict()["simulated_lateness_s"] == {"p50": 0, "p99": 0}
    assert summary.out_of_order == 0


@pytest.mark.parametrize("late_s", [0.0, 0.25, 30.0, 600.0], ids=str)
def test_lateness_of_a_single_event(late_s: float) -> None:
    summary = run_replay(
        [],
        ScriptedPlan([(0, late_s)]),
        Pacer(None),
        FakePublisher(),  # type: ignore[arg-type]
    )
    assert summary.to_dict()["simulated_lateness_s"] == {"p50": late_s, "p99": late_s}


def test_lateness_of_two_events_lies_between_them() -> None:
    summary = run_replay(
        [],
        ScriptedPlan([(0, 10), (1, 30)]),
        Pacer(None),
        FakePublisher(),  # type: ignore[arg-type]
    )
    lateness = summary.to_dict()["simulated_lateness_s"]
    assert 10 <= lateness["p50"] <= lateness["p99"] <= 30


def test_empty_replay_summary() -> None:
    publisher = FakePublisher()
    summary = run_replay([], ReplayPlan(), Pacer(None), publisher)  # type: ignore[arg-type]
    data = summary.to_dict()
    assert (data["published"], data["out_of_order"]) == (0, 0)
    assert data["first_event_time"] is None and data["last_event_time"] is None
    assert publisher.flushes == 1


def test_elapsed_and_rate_come_from_the_clock() -> None:
    clock = ticking(100.0, 104.0)
    summary = run_replay(
        steady(10),
        ReplayPlan(),
        Pacer(None),
        FakePublisher(),  # type: ignore[arg-type]
        clock=lambda: next(clock),
    )
    assert summary.elapsed_s == 4.0
    assert summary.to_dict()["events_per_s"] == 5.0  # 20 events in 4 s


def test_run_replay_paces_by_arrival() -> None:
    clock = FakeClock()
    plan = ScriptedPlan([(0, 0), (60, 0), (120, 0), (600, 0)])
    run_replay(
        [],
        plan,
        Pacer(60, clock=clock, sleep=clock.sleep),
        FakePublisher(),  # type: ignore[arg-type]
    )
    assert clock.slept == pytest.approx([1.0, 1.0, 8.0])


def test_progress_is_reported_every_n_and_at_the_end() -> None:
    seen: list[int] = []
    run_replay(
        steady(25),
        ReplayPlan(),
        Pacer(None),
        FakePublisher(),  # type: ignore[arg-type]
        on_progress=seen.append,
        progress_every=20,
    )
    assert seen == [20, 40, 50]
