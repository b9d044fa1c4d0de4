"""Replay: arrival order and lateness (seeded), and pacing on a fake clock."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.errors import ConfigError
from driftline.core.events.model import Event
from driftline.producers.replay import ArrivalDelay, Pacer, ReplayPlan, TimedEvent
from driftline.producers.sources import LabelledEvent
from tests.unit.producers.replay_fakes import FakeClock, labelled, out_of_order, steady

T0 = datetime(2013, 1, 1, tzinfo=UTC)


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
