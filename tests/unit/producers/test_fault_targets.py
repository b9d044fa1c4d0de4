"""FaultTargets: targets that cannot work are refused, and every target drawn from a
contract is a fault its check finds."""

from __future__ import annotations

import math
from typing import Any

import pytest

from driftline.adapters.contract_files import builtin_contract
from driftline.core.contract.check import ContractCheck
from driftline.core.errors import ConfigError
from driftline.producers.faults import FaultTargets, UnitMix, targets_from_contract


def test_targets_that_cannot_work_are_refused():
    with pytest.raises(ConfigError, match="needs its range"):
        FaultTargets(unit_mixes=(UnitMix("x", "u", 2.0),))
    with pytest.raises(ConfigError, match="factor"):
        UnitMix("x", "u", 0.0)
    with pytest.raises(ConfigError, match="low < high"):
        FaultTargets(ranges={"x": (5.0, 5.0)})
    with pytest.raises(ConfigError, match="own variant"):
        FaultTargets(spellings={"c": {"A": ("a", "A")}})


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
