"""Fault kinds as an enum: each fault carries the rules that catch it, the maps derived
from them equal the literal maps they replace, and fault names leave the injector as
plain strings."""

from __future__ import annotations

import json

from driftline.core.quality.reasons import Rule
from driftline.producers import faults
from driftline.producers.fault_kinds import FAULTS, Fault
from driftline.producers.fault_score import score_faults
from driftline.producers.fault_truth import InjectedFault
from driftline.producers.faults import FaultInjector, FaultPlan
from driftline.producers.flights import flights_targets

#: Fault injection's literal maps (``producers/faults.py``), fault -> dimension and rules.
OLD_FAULT_DIMENSION_OF = {
    "duplicate": "accuracy",
    "near-duplicate": "accuracy",
    "unit-mix": "consistency",
    "misspelling": "consistency",
    "missing": "completeness",
    "conflicting-label": "accuracy",
    "out-of-range": "accuracy",
    "late": "timeliness",
}
OLD_EXPECTED_RULES = {
    "duplicate": ("duplicate",),
    "near-duplicate": ("near-duplicate",),
    "unit-mix": ("unit-converted", "unit-detected"),
    "misspelling": ("spelling",),
    "missing": ("missing-imputed", "missing-value"),
    "conflicting-label": ("conflicting-outcome",),
    "out-of-range": ("out-of-range",),
    "late": ("late",),
}


def test_fault_injections_maps_derive_from_the_rules() -> None:
    assert tuple(OLD_EXPECTED_RULES) == FAULTS  # the order rates are drawn in
    assert faults.FAULTS is FAULTS and faults.Fault is Fault
    assert faults.DIMENSION_OF == OLD_FAULT_DIMENSION_OF
    assert faults.EXPECTED_RULES == OLD_EXPECTED_RULES
    as_json = json.loads(json.dumps(faults.EXPECTED_RULES))
    assert as_json == {f: list(r) for f, r in OLD_EXPECTED_RULES.items()}
    for fault in Fault:
        assert all(isinstance(rule, Rule) for rule in fault.rules), fault
        assert {rule.dimension for rule in fault.rules} == {fault.dimension}


def test_the_injectors_counts_are_keyed_by_plain_names() -> None:
    plan = FaultPlan(FaultPlan.parse_rates("all=0.01"), seed=1, targets=flights_targets())
    counts = FaultInjector(plan).counts
    assert list(counts) == list(OLD_EXPECTED_RULES)
    assert {type(name) for name in counts} == {str}
    assert str(counts).startswith("{'duplicate': 0, 'near-duplicate': 0,")


def test_a_fault_is_its_name() -> None:
    for fault in Fault:
        assert fault == fault.value and str(fault) == fault.value
        assert json.dumps(fault) == json.dumps(fault.value)
        assert Fault(fault.value) is fault


def test_the_scores_json_names_are_plain() -> None:
    late = Fault.LATE
    truth = [InjectedFault("f1", "observation", late, late.dimension)]
    score = score_faults(truth, [("f1", "observation", late.dimension, Rule.LATE)], 10)
    doc = score.to_json()
    assert {type(name) for name in [*doc["dimensions"], *doc["faults"]]} == {str}
    assert doc["faults"]["late"] == {"injected": 1, "caught": 1}
