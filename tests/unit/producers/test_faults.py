"""Fault injection: seeded, at its rates, in arrival order, one fault per flight, each fault
of its shape; the score of hand-made findings; the rates' parse errors; the CLI over fakes."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from kafka.future import Future
from typer.testing import CliRunner

from driftline.adapters.contract_files import builtin_contract
from driftline.core.contract.check import ContractCheck
from driftline.core.errors import ConfigError
from driftline.core.events.model import Label, Observation, Outcome
from driftline.core.quality.figures import DIMENSIONS
from driftline.producers.fault_score import score_faults
from driftline.producers.faults import (
    DIMENSION_OF,
    EXPECTED_RULES,
    FAULTS,
    FaultInjector,
    FaultPlan,
    FaultTargets,
    InjectedFault,
    UnitMix,
    read_truth,
    targets_from_contract,
    write_truth,
)
from driftline.producers.flights import flight_events, flights_targets
from driftline.producers.replay import ArrivalDelay, ReplayPlan, TimedEvent
from driftline.producers.sources import LabelledEvent

FLIGHTS = 20_000
T0 = datetime(2013, 1, 1, tzinfo=UTC)


# -- streams ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def flights() -> list[LabelledEvent]:
    return list(flight_events(limit=FLIGHTS))


@pytest.fixture(scope="module")
def timed(flights: list[LabelledEvent]) -> list[TimedEvent]:
    return list(ReplayPlan(seed=3).schedule(flights))


class Run(NamedTuple):
    injector: FaultInjector
    out: list[TimedEvent]


def inject(
    timed: Iterable[TimedEvent],
    spec: str,
    seed: int = 1,
    targets: FaultTargets | None = None,
    time_scale: float = 1.0,
) -> Run:
    plan = FaultPlan(FaultPlan.parse_rates(spec), seed, targets or flights_targets())
    injector = FaultInjector(plan, time_scale)
    return Run(injector, list(injector.inject(timed)))


@pytest.fixture(scope="module")
def faulty(timed: list[TimedEvent]) -> Run:
    """Every fault at 10%: about 2,000 of each in 20,000 flights."""
    return inject(timed, "all=0.1", seed=11)


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


# -- plans and rates -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "no fault rates"),
        ("dupe=0.1", "unknown fault"),
        ("duplicate", "write fault=rate"),
        ("duplicate=", "write fault=rate"),
        ("=0.1", "write fault=rate"),
        ("duplicate=often", "write fault=rate"),
        ("duplicate=nan", "write fault=rate"),
        ("duplicate=1.5", r"must be in \[0, 1\]"),
        ("late=-0.01", r"must be in \[0, 1\]"),
        ("all=0.2", "add up to 1.6, over 1"),
        ("duplicate=0.6,late=0.5", "over 1"),
        ("duplicate=0.1,duplicate=0.2", "named twice"),
    ],
)
def test_bad_rates_are_refused_clearly(spec: str, message: str):
    with pytest.raises(ConfigError, match=message):
        FaultPlan.parse_rates(spec)


def test_all_sets_every_fault_and_a_name_overrides_it():
    rates = FaultPlan.parse_rates("all=0.01, late=0.05")
    assert rates == dict.fromkeys(FAULTS, 0.01) | {"late": 0.05}


def test_a_plan_refuses_rates_it_cannot_inject():
    with pytest.raises(
        ConfigError, match=r"cannot inject unit-mix \(no unit mixes declared\) into"
    ):
        FaultPlan({"unit-mix": 0.1}, seed=1, targets=FaultTargets())
    with pytest.raises(ConfigError, match=r"late \(no allowed lateness declared\) into"):
        FaultPlan(FaultPlan.parse_rates("all=0.01"), seed=1, targets=FaultTargets())
    with pytest.raises(ConfigError, match="over 1"):
        FaultPlan({"duplicate": 0.7, "late": 0.7}, seed=1, targets=flights_targets())
    assert FaultPlan({"unit-mix": 0.0, "duplicate": 0.5}, seed=1, targets=FaultTargets())


def test_targets_that_cannot_work_are_refused():
    with pytest.raises(ConfigError, match="needs its range"):
        FaultTargets(unit_mixes=(UnitMix("x", "u", 2.0),))
    with pytest.raises(ConfigError, match="factor"):
        UnitMix("x", "u", 0.0)
    with pytest.raises(ConfigError, match="low < high"):
        FaultTargets(ranges={"x": (5.0, 5.0)})
    with pytest.raises(ConfigError, match="own variant"):
        FaultTargets(spellings={"c": {"A": ("a", "A")}})


# -- the ground truth and the score ----------------------------------------------------------------
def test_the_truth_round_trips_as_json_lines(faulty: Run, tmp_path: Path):
    path = tmp_path / "truth.jsonl"
    faulty.injector.write_truth(path)
    assert read_truth(path) == faulty.injector.truth
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"event_id", "kind", "fault", "dimension", "feature", "detail"}
    path.write_text(path.read_text() + '{"event_id": "x"}\n')
    with pytest.raises(ConfigError, match=r"truth.jsonl:\d+: not a ground-truth row"):
        read_truth(path)


def row(event_id: str, fault: str, kind: str = "observation") -> InjectedFault:
    return InjectedFault(event_id, kind, fault, DIMENSION_OF[fault], None, "")  # type: ignore[arg-type]


def test_score_counts_caught_missed_and_false_alarms_once(tmp_path: Path):
    truth = [
        row("a", "duplicate"),
        row("b", "unit-mix"),
        row("c", "missing"),
        row("d", "late"),
        row("e", "conflicting-label", "outcome"),
        row("f", "misspelling"),
    ]
    write_truth(truth, tmp_path / "t.jsonl")
    findings = [
        ("a", "observation", "accuracy", "duplicate"),
        ("a", "observation", "accuracy", "duplicate"),  # reported twice: one finding
        ("b", "observation", "consistency", "spelling"),  # the wrong rule: missed
        ("b", "observation", "accuracy", "out-of-range"),  # on a faulted id: no false alarm
        ("c", "observation", "completeness", "missing-imputed"),
        ("e", "outcome", "accuracy", "conflicting-outcome"),
        ("f", "observation", "accuracy", "spelling"),  # the right rule, wrong dimension
        ("x", "observation", "accuracy", "out-of-range"),
        ("x", "observation", "accuracy", "impossible-combination"),  # the same id: one alarm
        ("x", "observation", "accuracy", "out-of-range"),
        ("y", "observation", "completeness", "missing-value"),
    ]
    score = score_faults(read_truth(tmp_path / "t.jsonl"), findings, clean_events=100)
    got = {
        name: (d.injected, d.caught, d.caught_share, d.false_alarms, d.false_share)
        for name, d in score.dimensions.items()
    }
    assert got == {
        "accuracy": (2, 2, 1.0, 1, 0.01),
        "completeness": (1, 1, 1.0, 1, 0.01),
        "consistency": (2, 0, 0.0, 0, 0.0),
        "timeliness": (1, 0, 0.0, 0, 0.0),
    }
    assert score.dimensions["accuracy"].rules == {
        "conflicting-outcome": 1,
        "duplicate": 1,
        "impossible-combination": 1,
        "out-of-range": 2,
        "spelling": 1,
    }
    assert score.faults["duplicate"] == (1, 1) and score.faults["misspelling"] == (1, 0)
    assert not score.passed()
    doc = json.loads(json.dumps(score.to_json()))
    assert set(doc["dimensions"]) == set(DIMENSIONS) and set(doc["faults"]) == set(FAULTS)
    assert doc["dimensions"]["timeliness"]["caught_share"] == 0.0


def test_a_perfect_worker_passes(faulty: Run):
    truth = faulty.injector.truth
    findings = [(r.event_id, r.kind, r.dimension, EXPECTED_RULES[r.fault][-1]) for r in truth]
    findings.append(("clean", "observation", "timeliness", "late"))
    score = score_faults(truth, findings, clean_events=200)
    assert all(d.caught_share == 1.0 for d in score.dimensions.values())
    assert score.passed() and score.dimensions["timeliness"].false_share == 0.005
    assert not score.passed(max_false=0.001)
    empty = score_faults([], [], clean_events=0)
    assert empty.passed() and empty.to_json()["dimensions"]["accuracy"]["caught_share"] is None


def test_a_finding_of_an_unknown_dimension_is_refused():
    with pytest.raises(ConfigError, match="unknown dimension 'accurate'"):
        score_faults([], [("a", "observation", "accurate", "duplicate")], clean_events=1)


# -- the command, over a fake Kafka ----------------------------------------------------------------
class Metadata(NamedTuple):
    topic: str
    partition: int
    offset: int


class AckingProducer:
    """Acknowledges every record at once, in partition 0."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, topic: str, **record: Any) -> Future:
        self.sent.append(record["value"])
        return Future().success(Metadata(topic, 0, len(self.sent) - 1))

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    from driftline.app.cli import produce

    for name in [n for n in os.environ if n.startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DRIFTLINE_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("DRIFTLINE_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(produce, "prepare_namespace", lambda *args, **kwargs: None)
    monkeypatch.setattr(produce, "make_producer", lambda *args, **kwargs: AckingProducer())
    return CliRunner()


def run_cli(runner: CliRunner, *args: str) -> Any:
    from driftline.app.cli import app

    return runner.invoke(app, ["produce", *args], catch_exceptions=True)


def test_produce_flights_injects_and_writes_the_ground_truth(cli: CliRunner, tmp_path: Path):
    truth = tmp_path / "truth.jsonl"
    args = ["flights", "--limit", "2000", "--inject", "all=0.02", "--inject-seed", "9"]
    done = run_cli(cli, *args, "--ground-truth", str(truth), "--json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    rows = read_truth(truth)
    kinds = Counter(r.fault for r in rows)
    assert summary["injected"] == {fault: kinds[fault] for fault in FAULTS}
    assert set(summary["injected"]) == set(FAULTS) and sum(summary["injected"].values()) > 200
    added = sum(
        summary["injected"][f] for f in ("duplicate", "near-duplicate", "conflicting-label")
    )
    outcomes = sum(f.outcome is not None for f in flight_events(limit=2000))
    assert summary["published"] == 2000 + outcomes + added
    assert summary["ground_truth"] == str(truth)
    run_cli(cli, *args, "--ground-truth", str(tmp_path / "again.jsonl"), "--json")
    assert read_truth(tmp_path / "again.jsonl") == rows


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--inject", "duplicate=0.1"], "--inject needs --ground-truth"),
        (["--ground-truth", "t.jsonl"], "go with --inject"),
        (["--inject", "dupe=0.1", "--ground-truth", "t.jsonl"], "unknown fault"),
        (["--inject", "duplicate=0.1", "--ground-truth", "no/such/t.jsonl"], "does not exist"),
    ],
)
def test_produce_refuses_bad_injection_options_before_publishing(
    cli: CliRunner, args: list[str], message: str
):
    done = run_cli(cli, "flights", "--limit", "10", *args)
    assert isinstance(done.exception, ConfigError), done.output
    assert message in str(done.exception)


def test_produce_csv_injects_only_what_needs_no_contract(cli: CliRunner, tmp_path: Path):
    rows = "\n".join(
        f"{i},k{i % 3},2024-01-01T00:{i // 60:02}:{i % 60:02}Z,{i % 2}" for i in range(600)
    )
    (tmp_path / "e.csv").write_text("id,key,time,label\n" + rows + "\n")
    base = [
        "csv",
        "e.csv",
        "--key",
        "key",
        "--time",
        "time",
        "--label",
        "label",
        "--event-id",
        "id",
        "--outcome-delay",
        "3600",
    ]
    refused = run_cli(cli, *base, "--inject", "all=0.01", "--ground-truth", "t.jsonl")
    assert isinstance(refused.exception, ConfigError)
    assert "cannot inject unit-mix" in str(refused.exception)
    spec = "duplicate=0.1,near-duplicate=0.1,conflicting-label=0.1"
    done = run_cli(cli, *base, "--inject", spec, "--ground-truth", "t.jsonl", "--json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["injected"]["duplicate"] > 30 and summary["injected"]["late"] == 0
    assert len(read_truth(tmp_path / "t.jsonl")) == sum(summary["injected"].values())


def test_every_target_of_a_contract_is_a_fault_its_check_finds():
    """targets_from_contract: each spelling variant is made canonical with a spelling
    finding, each unit mix is converted back, each required feature is filled or refused
    when missing, each range refuses what is outside it."""
    contract = builtin_contract("flights")
    check = ContractCheck(contract)
    state = check.new_state()
    targets = targets_from_contract(contract)
    for feature, table in targets.spellings.items():
        for canonical, variants in table.items():
            assert variants, (feature, canonical)
            for variant in variants:
                checked = check.check({feature: variant}, state)
                assert checked.features[feature] == canonical, (feature, variant)
                found = [f.rule for f in checked.findings if f.feature == feature]
                assert found == ["spelling"], (feature, variant)
    for mix in targets.unit_mixes:
        low, high = targets.ranges[mix.feature]
        value = low + (high - low) * 0.01 if mix.unit_field is None else (low + high) / 2
        sent: dict[str, Any] = {mix.feature: mix.convert(value)}
        if mix.unit_field is not None:
            sent[mix.unit_field] = mix.unit
        elif low <= sent[mix.feature] <= high:
            continue  # detected only outside the range, as the injector knows
        checked = check.check(sent, state)
        assert checked.refused is None, (mix, checked)
        assert math.isclose(checked.features[mix.feature], value, rel_tol=1e-9), mix
        rule = "unit-converted" if mix.unit_field else "unit-detected"
        assert [f.rule for f in checked.findings if f.feature == mix.feature] == [rule], mix
    for feature in targets.required:
        checked = check.check({}, state)
        assert feature in checked.missing
        assert ("missing-imputed", feature) in [(f.rule, f.feature) for f in checked.findings]
    for feature, (low, high) in targets.ranges.items():
        refused = check.check({feature: high + (high - low)}, state).refused
        assert refused is not None and refused[0] == "out-of-range", feature
    assert targets.allowed_lateness_s == contract.stream.allowed_lateness_s
