"""Replay: arrival order and lateness (seeded), pacing on a fake clock, the replay summary."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.errors import ConfigError
from driftline.core.events.model import Event, Observation, Outcome
from driftline.producers.publisher import PublishReport
from driftline.producers.replay import ArrivalDelay, Pacer, ReplayPlan, TimedEvent
from driftline.producers.run import run_replay
from driftline.producers.sources import LabelledEvent

T0 = datetime(2013, 1, 1, tzinfo=UTC)


# -- sources ---------------------------------------------------------------------------------------
def labelled(i: int, at: datetime, outcome_after_s: float | None = 300.0) -> LabelledEvent:
    obs = Observation(event_id=f"e{i}", key=f"k{i % 3}", event_time=at, features={"i": i})
    out = None
    if outcome_after_s is not None:
        out = Outcome(
            event_id=f"e{i}",
            key=f"k{i % 3}",
            event_time=at + timedelta(seconds=outcome_after_s),
            label=i % 2 == 0,
        )
    return LabelledEvent(obs, out)


def steady(
    n: int, every_s: float = 1.0, outcome_after_s: float | None = 300.0
) -> list[LabelledEvent]:
    return [labelled(i, T0 + timedelta(seconds=i * every_s), outcome_after_s) for i in range(n)]


@st.composite
def sources(draw: st.DrawFn) -> list[LabelledEvent]:
    """Observations in event-time order (ties allowed); outcomes at or after, or none."""
    gaps = draw(st.lists(st.integers(0, 120), max_size=40))
    at = T0
    items = []
    for i, gap in enumerate(gaps):
        at += timedelta(seconds=gap)
        after = draw(st.none() | st.floats(0, 3600, allow_nan=False))
        items.append(labelled(i, at, after))
    return items


delays = st.builds(
    ArrivalDelay,
    mean_s=st.floats(0, 120, allow_nan=False),
    max_s=st.floats(0, 900, allow_nan=False),
)
plans = st.builds(ReplayPlan, delay=delays, seed=st.integers(0, 2**32))


def ids(events: Iterable[Event | TimedEvent]) -> Counter[tuple[str, str]]:
    found = (e.event if isinstance(e, TimedEvent) else e for e in events)
    return Counter((e.kind, e.event_id) for e in found)


def given_events(source: list[LabelledEvent]) -> list[Event]:
    return [e for item in source for e in (item.observation, item.outcome) if e is not None]


def out_of_order(timed: list[TimedEvent]) -> int:
    """Events with an earlier event time than some event sent before them."""
    count, newest = 0, None
    for t in timed:
        if newest is not None and t.event.event_time < newest:
            count += 1
        newest = t.event.event_time if newest is None else max(newest, t.event.event_time)
    return count


# -- schedule: invariants -------------------------------------------------------------------------
@given(sources(), plans)
def test_arrivals_never_go_back(source: list[LabelledEvent], plan: ReplayPlan) -> None:
    timed = list(plan.schedule(source))
    assert all(a.arrival <= b.arrival for a, b in itertools.pairwise(timed))


@given(sources(), plans)
def test_every_event_arrives_at_or_after_it_happened_within_the_cap(
    source: list[LabelledEvent], plan: ReplayPlan
) -> None:
    for t in plan.schedule(source):
        assert t.arrival >= t.event.event_time
        assert t.lateness_s <= plan.delay.max_s + 1e-6  # timedelta keeps microseconds


@given(sources(), plans)
def test_nothing_lost_or_duplicated(source: list[LabelledEvent], plan: ReplayPlan) -> None:
    timed = list(plan.schedule(source))
    assert ids(timed) == ids(given_events(source))
    # the events themselves are untouched, not only their ids
    by_id = {(e.kind, e.event_id): e for e in given_events(source)}
    assert all(t.event == by_id[(t.event.kind, t.event.event_id)] for t in timed)


@given(sources(), st.integers(0, 2**32))
def test_no_delay_means_no_disorder(source: list[LabelledEvent], seed: int) -> None:
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=0, max_s=600), seed=seed)
    timed = list(plan.schedule(source))
    assert out_of_order(timed) == 0
    assert all(t.lateness_s == 0 for t in timed)


@given(sources(), plans)
def test_same_seed_same_sequence(source: list[LabelledEvent], plan: ReplayPlan) -> None:
    def run() -> list[tuple[datetime, str, str]]:
        return [(t.arrival, t.event.kind, t.event.event_id) for t in plan.schedule(source)]

    assert run() == run()


@given(st.integers(0, 2**32), st.integers(0, 2**32))
def test_different_seeds_different_sequences(seed_a: int, seed_b: int) -> None:
    source = steady(50)
    delay = ArrivalDelay(mean_s=30, max_s=600)

    def run(seed: int) -> list[tuple[datetime, str]]:
        return [(t.arrival, t.event.event_id) for t in ReplayPlan(delay, seed).schedule(source)]

    assert (run(seed_a) == run(seed_b)) is (seed_a == seed_b)


def test_delays_make_some_events_late() -> None:
    source = steady(200, every_s=1.0)  # delays (mean 30 s) far longer than the gaps
    timed = list(ReplayPlan(ArrivalDelay(mean_s=30, max_s=600), seed=1).schedule(source))
    disordered = out_of_order(timed)
    assert 0 < disordered < len(timed)
    # and the same stream without delays is in order
    calm = list(ReplayPlan(ArrivalDelay(mean_s=0), seed=1).schedule(source))
    assert out_of_order(calm) == 0


def test_max_s_caps_the_delays() -> None:
    timed = list(ReplayPlan(ArrivalDelay(mean_s=60, max_s=5), seed=3).schedule(steady(300)))
    lateness = [t.lateness_s for t in timed]
    assert max(lateness) == pytest.approx(5)  # with mean 60 s most delays hit the cap
    assert all(0 <= s <= 5 for s in lateness)


def test_unlabelled_observations_pass_through() -> None:
    source = [
        labelled(0, T0, None),
        labelled(1, T0 + timedelta(seconds=1), 10.0),
        labelled(2, T0 + timedelta(seconds=2), None),
    ]
    timed = list(ReplayPlan(ArrivalDelay(mean_s=5), seed=0).schedule(source))
    assert ids(timed) == Counter(
        {
            ("observation", "e0"): 1,
            ("observation", "e1"): 1,
            ("outcome", "e1"): 1,
            ("observation", "e2"): 1,
        }
    )


def test_empty_source_gives_nothing() -> None:
    assert list(ReplayPlan().schedule([])) == []


@given(
    sources().filter(bool),
    plans,
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
)
def test_rebase_shifts_every_time_by_one_constant(
    source: list[LabelledEvent], plan: ReplayPlan, now: datetime
) -> None:
    rebased = ReplayPlan(plan.delay, plan.seed, rebase_to=now)
    timed = list(rebased.schedule(source))
    original = {(e.kind, e.event_id): e for e in given_events(source)}
    shifts = {
        t.event.event_time - original[(t.event.kind, t.event.event_id)].event_time for t in timed
    }
    assert shifts == {now - source[0].observation.event_time}
    first = next(
        t.event
        for t in timed
        if t.event.event_id == source[0].observation.event_id and t.event.kind == "observation"
    )
    assert first.event_time == now
    assert all(t.arrival >= t.event.event_time for t in timed)
    assert all(a.arrival <= b.arrival for a, b in itertools.pairwise(timed))
    # the rebase moves times, not delays: same seed, same lateness as without it
    assert [t.lateness_s for t in timed] == [t.lateness_s for t in plan.schedule(source)]


def test_schedule_streams_an_endless_source_with_a_bounded_buffer() -> None:
    pulled = 0

    def endless() -> Iterator[LabelledEvent]:
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield labelled(i, T0 + timedelta(seconds=i), outcome_after_s=5.0)

    plan = ReplayPlan(ArrivalDelay(mean_s=3, max_s=10), seed=5)
    held = []
    for yielded, _ in enumerate(itertools.islice(plan.schedule(endless()), 5_000), start=1):
        held.append(2 * pulled - yielded)  # events read from the source but not yet released
    # events wait at most max_s + the outcome's 5 s: about 2 * 16 events at one per second
    assert max(held) <= 40


@pytest.mark.parametrize(
    ("mean_s", "max_s"),
    [
        (-1, 10),
        (10, -1),
        (math.nan, 10),
        (10, math.nan),
        (math.inf, 10),
        (10, math.inf),
        (-math.inf, 10),
        (10, -math.inf),
        (math.inf, math.inf),
    ],
    ids=str,
)
def test_negative_infinite_or_nan_delays_are_a_config_error(mean_s: float, max_s: float) -> None:
    with pytest.raises(ConfigError):
        ArrivalDelay(mean_s=mean_s, max_s=max_s)


# -- pacer ----------------------------------------------------------------------------------------
@dataclass
class FakeClock:
    """A monotonic clock that moves only when slept on or told to."""

    now: float = 1_000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def arrivals(*seconds: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in seconds]


def test_no_speed_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    for arrival in arrivals(0, 3600, 7200, 86_400):
        pacer.wait_for(arrival)
    assert clock.slept == []


def test_speed_scales_the_gaps() -> None:
    clock = FakeClock()
    pacer = Pacer(60, clock=clock, sleep=clock.sleep)
    for arrival in arrivals(0, 60, 120, 180):
        pacer.wait_for(arrival)
    assert clock.slept == pytest.approx([1.0, 1.0, 1.0])


def test_time_spent_working_is_not_slept_again() -> None:
    clock = FakeClock()
    pacer = Pacer(60, clock=clock, sleep=clock.sleep)
    pacer.wait_for(T0)
    clock.now += 0.25  # publishing took a quarter second
    pacer.wait_for(T0 + timedelta(seconds=60))
    assert clock.slept == pytest.approx([0.75])


def test_a_clock_started_at_a_time_waits_for_the_first_arrival_too() -> None:
    """A rebased replay starts its clock at the rebase time: the first event waits for its
    own arrival (before, the clock started at the first event, which was then late by
    however long the source took to prepare it)."""
    clock = FakeClock()
    pacer = Pacer(1, clock=clock, sleep=clock.sleep)
    pacer.start_at(T0)
    pacer.wait_for(T0 + timedelta(seconds=2))  # its arrival delay: two seconds
    clock.now += 0.5
    pacer.wait_for(T0 + timedelta(seconds=3))
    assert clock.slept == pytest.approx([2.0, 0.5])


def test_pacer_never_sleeps_negative_and_catches_up() -> None:
    clock = FakeClock()
    pacer = Pacer(60, clock=clock, sleep=clock.sleep)
    pacer.wait_for(T0)
    clock.now += 5.0  # a stall: five seconds behind the replay clock
    pacer.wait_for(T0 + timedelta(seconds=60))  # due 1 s after the start: already late
    pacer.wait_for(T0 + timedelta(seconds=120))  # due at 2 s: late too
    pacer.wait_for(T0 + timedelta(seconds=600))  # due at 10 s: sleep from 5 s to 10 s
    assert clock.slept == pytest.approx([5.0])
    assert all(s > 0 for s in clock.slept)


def test_same_arrival_does_not_sleep() -> None:
    clock = FakeClock()
    pacer = Pacer(1, clock=clock, sleep=clock.sleep)
    for arrival in arrivals(0, 0, 0):
        pacer.wait_for(arrival)
    assert clock.slept == []


@given(
    st.lists(st.floats(0, 3600, allow_nan=False), min_size=1, max_size=30),
    st.floats(0.1, 1000, allow_nan=False),
)
def test_pacer_sleeps_the_scaled_span(gaps: list[float], speed: float) -> None:
    clock = FakeClock()
    pacer = Pacer(speed, clock=clock, sleep=clock.sleep)
    times = list(itertools.accumulate(gaps))
    for seconds in times:
        pacer.wait_for(T0 + timedelta(seconds=seconds))
    assert all(s > 0 for s in clock.slept)
    span = T0 + timedelta(seconds=times[-1]) - (T0 + timedelta(seconds=times[0]))
    # Waits shorter than the pacer's granularity are skipped, never accumulated.
    assert sum(clock.slept) <= span.total_seconds() / speed + 1e-6
    assert sum(clock.slept) >= span.total_seconds() / speed - pacer.granularity_s - 1e-6


@pytest.mark.parametrize("speed", [0, -1, -0.5, math.nan], ids=str)
def test_bad_speed_is_a_config_error(speed: float) -> None:
    with pytest.raises(ConfigError):
        Pacer(speed)


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
