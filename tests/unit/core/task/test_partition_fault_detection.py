"""The task catches injected faults, without services: faults injected into the flights
replay, the records fed through the tasks with the flights contract, the findings
scored against the ground truth. Per dimension, at least 99% of the faults are caught
and at most 1% of the clean flights are flagged.

The same run on the real stack is ``driftline demo --inject`` (``tests/e2e``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import pytest

from driftline.adapters.contract_files import builtin_contract
from driftline.core.events.codec import EventCodec
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.task.partition import PartitionTask, TaskConfig
from driftline.core.times import to_millis
from driftline.producers.fault_score import FaultScore, score_faults
from driftline.producers.faults import FAULTS, FaultInjector, FaultPlan
from driftline.producers.flights import flight_events, flights_targets
from driftline.producers.replay import ArrivalDelay, ReplayPlan

FLIGHTS = 12_000
PARTITIONS = 3
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def run(rates: str, seed: int = 7) -> tuple[FaultScore, FaultInjector, list[PartitionTask]]:
    """Replay the first flights with faults at ``rates``, through one task per partition."""
    contract = builtin_contract("flights")
    plan = FaultPlan(FaultPlan.parse_rates(rates), seed, flights_targets())
    injector = FaultInjector(plan)
    # arrivals up to an hour late, as the demo's; the contract allows two
    replay = ReplayPlan(delay=ArrivalDelay(mean_s=600.0, max_s=3600.0), seed=seed)
    codec = EventCodec()
    config = TaskConfig(
        features=FeatureConfig(calendar=False, history_groups=("key", "origin")),
        contract=contract,
        pending_ttl_s=2 * 24 * 3600.0,
    )
    tasks = [PartitionTask(p, config) for p in range(PARTITIONS)]
    offsets = [0] * PARTITIONS
    findings = []
    batches: list[list[InputRecord]] = [[] for _ in range(PARTITIONS)]

    def flush(p: int) -> None:
        out = tasks[p].process(batches[p], NOW)
        findings.extend(
            (f.event_id, f.kind, f.dimension, f.rule) for f in out.findings if f.event_id
        )
        batches[p].clear()

    for timed in injector.inject(replay.schedule(flight_events(limit=FLIGHTS, key_by="tailnum"))):
        event = timed.event
        p = sum(event.key.encode()) % PARTITIONS
        batches[p].append(
            InputRecord(
                p, offsets[p], event.key.encode(), codec.encode(event), to_millis(timed.arrival)
            )
        )
        offsets[p] += 1
        if len(batches[p]) == 500:
            flush(p)
    for p in range(PARTITIONS):
        flush(p)
    faulted = {row.event_id for row in injector.truth if row.fault != "near-duplicate"}
    return score_faults(injector.truth, findings, FLIGHTS - len(faulted)), injector, tasks


@cache
def injected() -> tuple[FaultScore, FaultInjector, list[PartitionTask]]:
    return run("all=0.01")


def test_every_kind_of_fault_is_injected() -> None:
    _, injector, _ = injected()
    assert set(injector.counts) == set(FAULTS)
    assert all(n >= 60 for n in injector.counts.values()), injector.counts


@pytest.mark.parametrize("dimension", ["accuracy", "completeness", "consistency", "timeliness"])
def test_at_least_99_percent_caught_at_most_1_percent_false_alarms(dimension: str) -> None:
    score, _, _ = injected()
    d = score.dimensions[dimension]
    assert d.injected > 0
    assert d.caught_share is not None and d.caught_share >= 0.99, d
    assert d.false_share <= 0.01, d


def test_each_fault_is_caught_by_its_own_rule() -> None:
    score, _, _ = injected()
    missed = {
        fault: (n, caught) for fault, (n, caught) in score.faults.items() if caught < 0.99 * n
    }
    assert not missed


def test_clean_flights_raise_no_finding_at_all() -> None:
    score, _, tasks = run("all=0.0")
    assert all(d.false_alarms == 0 for d in score.dimensions.values())
    for task in tasks:
        quality = task.snapshot()["quality"]
        assert quality["rules"] == {}, quality["rules"]
        assert quality["declared"] > 0


def test_the_figures_count_what_was_injected() -> None:
    _, injector, tasks = injected()
    rules: dict[str, int] = {}
    for task in tasks:
        for counts in task.snapshot()["quality"]["rules"].values():
            for rule, n in counts.items():
                rules[rule] = rules.get(rule, 0) + n
    counts = injector.counts
    assert rules["duplicate"] == counts["duplicate"]
    assert rules["near-duplicate"] == counts["near-duplicate"]
    assert rules["conflicting-outcome"] == counts["conflicting-label"]
    assert rules["spelling"] == counts["misspelling"]
    assert rules.get("unit-converted", 0) + rules.get("unit-detected", 0) == counts["unit-mix"]
    assert rules["missing-imputed"] == counts["missing"]
    assert rules["late"] == counts["late"]
    assert rules["out-of-range"] == counts["out-of-range"]
