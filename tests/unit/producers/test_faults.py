"""Fault injection: seeded, at its rates, in arrival order, one fault per flight, each
fault of its shape."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.core.events.model import Label, Observation, Outcome
from driftline.producers.faults import (
    DIMENSION_OF,
    FAULTS,
    FaultPlan,
    FaultTargets,
    InjectedFault,
    UnitMix,
)
from driftline.producers.flights import flights_targets
from driftline.producers.replay import ArrivalDelay, ReplayPlan, TimedEvent
from driftline.producers.sources import LabelledEvent
from tests.unit.producers.injected_flights import Run, inject

FLIGHTS = 20_000
T0 = datetime(2013, 1, 1, tzinfo=UTC)


def synthetic(
    n: int, labels: list[Label] | None = None, outcome: bool = True, x: float = 60.0
) -> list[TimedEvent]:
    """``n`` observations a minute apart (and their outcomes an hour later), arriving on time."""
    items: list[TimedEvent] = []
    for i in range(n):
        at = T0 + timedelta(minutes=i)
        obs = Observation(event_id=f"e{i}", key="k", event_time=at, features={"x": x, "c": "A"})
        items.append(TimedEvent(at, obs))
    if outcome:
        for i in range(n):
            at = T0 + timedelta(minutes=i, hours=1)
            label = labels[i % len(labels)] if labels else i % 2 == 0
            items.append(
                TimedEvent(at, Outcome(event_id=f"e{i}", key="k", event_time=at, label=label))
            )
    return sorted(items, key=lambda t: t.arrival)


def index(events: Iterable[TimedEvent]) -> dict[tuple[str, str], list[TimedEvent]]:
    """Events by (kind, id), in stream order."""
    found: dict[tuple[str, str], list[TimedEvent]] = {}
    for item in events:
        found.setdefault((item.event.kind, item.event.event_id), []).append(item)
    return found


def base_id(event_id: str) -> str:
    return event_id.removesuffix("~near")


# -- determinism, rates, order ---------------------------------------------------------------------
def test_the_same_seed_gives_the_same_stream_and_truth(timed: list[TimedEvent]):
    first, again = (
        inject(timed[:6000], "all=0.05", seed=5),
        inject(timed[:6000], "all=0.05", seed=5),
    )
    assert first.out == again.out
    assert first.injector.truth == again.injector.truth
    other = inject(timed[:6000], "all=0.05", seed=6)
    assert {r.event_id for r in other.injector.truth} != {r.event_id for r in first.injector.truth}


def test_a_flight_gets_the_same_fault_whatever_the_stream_around_it(timed: list[TimedEvent]):
    """The draw hashes the seed and the id: a shorter replay is a prefix of the longer one."""
    short = inject(timed[:3000], "all=0.05", seed=5).injector.truth
    long = {(r.event_id, r.fault) for r in inject(timed, "all=0.05", seed=5).injector.truth}
    changed_now = [r for r in short if r.fault not in ("late", "duplicate", "near-duplicate")]
    assert changed_now and all((r.event_id, r.fault) in long for r in changed_now)


@pytest.mark.parametrize("spec", ["all=0.01", "all=0.1", "duplicate=0.3,late=0.2,missing=0.05"])
def test_rates_are_respected(timed: list[TimedEvent], flights: list[LabelledEvent], spec: str):
    run = inject(timed, spec, seed=2)
    rates = FaultPlan.parse_rates(spec)
    with_outcome = sum(f.outcome is not None for f in flights)
    assert run.injector.observations == FLIGHTS
    for fault in FAULTS:
        rate = rates.get(fault, 0.0)
        n = with_outcome if fault == "conflicting-label" else FLIGHTS
        expected, sd = n * rate, math.sqrt(n * rate * (1 - rate))
        assert abs(run.injector.counts[fault] - expected) <= 5 * sd + 1, (
            fault,
            run.injector.counts,
        )


def test_arrival_order_is_kept_and_nothing_is_lost(faulty: Run, timed: list[TimedEvent]):
    out = faulty.out
    assert all(a.arrival <= b.arrival for a, b in zip(out, out[1:], strict=False))
    counts = faulty.injector.counts
    added = counts["duplicate"] + counts["near-duplicate"] + counts["conflicting-label"]
    assert len(out) == len(timed) + added
    assert {(t.event.kind, t.event.event_id) for t in timed} == {
        (t.event.kind, t.event.event_id) for t in out if not t.event.event_id.endswith("~near")
    }


def test_at_most_one_fault_per_flight_and_the_rest_untouched(faulty: Run, timed: list[TimedEvent]):
    truth = faulty.injector.truth
    per_flight = Counter(base_id(r.event_id) for r in truth)
    assert per_flight and max(per_flight.values()) == 1
    assert Counter(r.fault for r in truth) == {f: n for f, n in faulty.injector.counts.items() if n}
    assert all(r.dimension == DIMENSION_OF[r.fault] for r in truth)
    clean = [t for t in timed if t.event.event_id not in per_flight]
    assert [t for t in faulty.out if base_id(t.event.event_id) not in per_flight] == clean


# -- each fault's shape ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shapes(faulty: Run, timed: list[TimedEvent]) -> dict[str, Any]:
    return {"before": index(timed), "after": index(faulty.out), "rows": faulty.injector.truth}


def rows_of(shapes: dict[str, Any], fault: str) -> list[InjectedFault]:
    rows = [r for r in shapes["rows"] if r.fault == fault]
    assert len(rows) > 100, fault
    return rows


def observation_pair(shapes: dict[str, Any], row: InjectedFault) -> tuple[Observation, Observation]:
    [before] = shapes["before"][("observation", row.event_id)]
    [after] = shapes["after"][("observation", row.event_id)]
    assert isinstance(before.event, Observation) and isinstance(after.event, Observation)
    assert after.arrival == before.arrival
    return before.event, after.event


def test_a_duplicate_is_the_same_observation_again_shortly_after(shapes: dict[str, Any]):
    for row in rows_of(shapes, "duplicate"):
        [before] = shapes["before"][("observation", row.event_id)]
        first, again = shapes["after"][("observation", row.event_id)]
        assert first == before and again.event == before.event
        assert timedelta(0) < again.arrival - first.arrival <= timedelta(seconds=60)


def test_a_near_duplicate_differs_only_in_its_id_and_has_no_outcome(shapes: dict[str, Any]):
    for row in rows_of(shapes, "near-duplicate"):
        original = row.event_id.removesuffix("~near")
        assert row.event_id == f"{original}~near"
        [before] = shapes["before"][("observation", original)]
        [near] = shapes["after"][("observation", row.event_id)]
        assert near.event.model_dump() == before.event.model_dump() | {"event_id": row.event_id}
        assert near.arrival > before.arrival
        assert ("outcome", row.event_id) not in shapes["after"]


def test_a_unit_mix_converts_back_to_the_value(shapes: dict[str, Any]):
    targets = flights_targets()
    mixes = {m.feature: m for m in targets.unit_mixes}
    seen = Counter()
    for row in rows_of(shapes, "unit-mix"):
        before, after = observation_pair(shapes, row)
        mix = mixes[row.feature]
        value, mixed = before.features[row.feature], after.features[row.feature]
        assert isinstance(value, float) and isinstance(mixed, float)
        assert math.isclose(mix.revert(mixed), value, rel_tol=1e-9, abs_tol=1e-12)
        changed = {k for k in after.features if after.features[k] != before.features.get(k)}
        if mix.unit_field is not None:
            assert after.features[mix.unit_field] == mix.unit
            assert changed == {row.feature, mix.unit_field}
        else:  # untagged: the worker can only tell by the range
            low, high = targets.ranges[row.feature]
            assert not low <= mixed <= high
            assert changed == {row.feature}
        seen[row.feature] += 1
    assert set(seen) == {"distance", "temp", "dewp", "pressure"}


def test_an_untagged_unit_mix_goes_only_where_it_leaves_the_range():
    targets = FaultTargets(unit_mixes=(UnitMix("x", "twice", 2.0),), ranges={"x": (0.0, 100.0)})
    inside = inject(synthetic(300, x=10.0), "unit-mix=0.5", targets=targets)
    assert inside.injector.counts["unit-mix"] == 0 and not inside.injector.truth
    outside = inject(synthetic(300, x=60.0), "unit-mix=0.5", targets=targets)
    assert 100 < outside.injector.counts["unit-mix"] < 200
    mixed = [t.event.features["x"] for t in outside.out if isinstance(t.event, Observation)]
    assert Counter(mixed) == {
        60.0: 300 - outside.injector.counts["unit-mix"],
        120.0: outside.injector.counts["unit-mix"],
    }


def test_a_misspelling_is_a_variant_of_the_value(shapes: dict[str, Any]):
    spellings = flights_targets().spellings
    variants = Counter()
    for row in rows_of(shapes, "misspelling"):
        before, after = observation_pair(shapes, row)
        value = before.features[row.feature]
        assert isinstance(value, str)
        assert after.features[row.feature] in spellings[row.feature][value]
        assert after.features == before.features | {row.feature: after.features[row.feature]}
        variants[after.features[row.feature]] += 1
    assert {"ewr", " EWR ", "Newark", "ua", "United"} <= set(variants)


def test_missing_removes_one_required_feature(shapes: dict[str, Any]):
    required = flights_targets().required
    removed = Counter()
    for row in rows_of(shapes, "missing"):
        before, after = observation_pair(shapes, row)
        assert row.feature in required and row.feature not in after.features
        assert after.features == {k: v for k, v in before.features.items() if k != row.feature}
        removed[row.feature] += 1
    assert set(removed) == set(required)


def test_out_of_range_is_clearly_outside_on_both_sides_with_its_type(shapes: dict[str, Any]):
    ranges = flights_targets().ranges
    sides = Counter()
    for row in rows_of(shapes, "out-of-range"):
        before, after = observation_pair(shapes, row)
        value, wrong = before.features[row.feature], after.features[row.feature]
        low, high = ranges[row.feature]
        assert type(wrong) is type(value)
        assert isinstance(wrong, int | float)
        assert wrong <= low - (high - low) / 2 or wrong >= high + (high - low) / 2
        if row.feature == "pressure":  # no unit brings it back into range
            assert not low <= wrong / 0.02953 <= high
        assert after.features == before.features | {row.feature: wrong}
        sides["below" if wrong < low else "above"] += 1
        sides[type(wrong).__name__] += 1
    assert sides["below"] > 100 and sides["above"] > 100
    assert sides["int"] > 100 and sides["float"] > 100


@pytest.mark.parametrize("time_scale", [1.0, 3600.0])
def test_a_late_observation_arrives_after_the_allowed_lateness(
    flights: list[LabelledEvent], time_scale: float
):
    rebased = ReplayPlan(
        delay=ArrivalDelay(mean_s=2.0, max_s=10.0), seed=4, rebase_to=T0, time_scale=time_scale
    )
    before = index(rebased.schedule(flights[:5000]))
    run = inject(rebased.schedule(flights[:5000]), "late=0.1", time_scale=time_scale)
    after = index(run.out)
    allowed = 7200.0 / time_scale
    rows = run.injector.truth
    assert len(rows) > 300 and {r.fault for r in rows} == {"late"}
    for row in rows:
        [late] = after[("observation", row.event_id)]
        [on_time] = before[("observation", row.event_id)]
        assert late.event == on_time.event
        assert 3 * allowed <= late.lateness_s <= max(10 * allowed, on_time.lateness_s)
        if ("outcome", row.event_id) in before:  # its outcome keeps its own arrival
            assert after[("outcome", row.event_id)] == before[("outcome", row.event_id)]


def test_a_conflicting_outcome_has_another_label_and_comes_after(shapes: dict[str, Any]):
    for row in rows_of(shapes, "conflicting-label"):
        assert row.kind == "outcome"
        [before] = shapes["before"][("outcome", row.event_id)]
        first, second = shapes["after"][("outcome", row.event_id)]
        assert first == before
        assert isinstance(second.event, Outcome) and isinstance(first.event, Outcome)
        assert second.event.label is not first.event.label
        assert second.event.model_dump() == first.event.model_dump() | {"label": second.event.label}
        assert second.arrival > first.arrival


def test_flights_without_an_outcome_get_no_conflicting_label():
    run = inject(synthetic(400, outcome=False), "conflicting-label=0.5", targets=FaultTargets())
    assert run.injector.counts["conflicting-label"] == 0 and not run.injector.truth
    assert run.out == synthetic(400, outcome=False)


@pytest.mark.parametrize("labels", [["a", "b", "c"], [0, 1, 2], [1.5, 2.5]])
def test_a_conflicting_label_is_another_label(labels: list[Label]):
    run = inject(synthetic(400, labels), "conflicting-label=0.3", targets=FaultTargets())
    found = index(run.out)
    assert run.injector.counts["conflicting-label"] > 60
    for row in run.injector.truth:
        first, second = found[("outcome", row.event_id)]
        assert isinstance(first.event, Outcome) and isinstance(second.event, Outcome)
        assert second.event.label != first.event.label
        assert type(second.event.label) is type(first.event.label)
