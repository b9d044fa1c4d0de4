"""FaultPlan: rates parsed with clear errors, ``all`` and names, rates it cannot inject refused."""

from __future__ import annotations

import pytest

from driftline.core.errors import ConfigError
from driftline.producers.faults import FAULTS, FaultPlan, FaultTargets
from driftline.producers.flights import flights_targets


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
