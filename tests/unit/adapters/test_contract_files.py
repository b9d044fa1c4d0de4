"""Contract files: TOML and YAML, clear errors naming the file and place, built-in
contracts by name; the flights contract declares what the spec says, reads names,
converts units, and passes every flight of the year untouched."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from driftline.adapters.contract_files import (
    builtin_contract,
    find_contract,
    load_contract,
    parse_contract,
)
from driftline.core.contract.check import Checked, ContractCheck, ContractState
from driftline.core.errors import ConfigError

FLIGHTS = builtin_contract("flights")


def run(
    check: ContractCheck, features: dict[str, Any], state: ContractState | None = None
) -> Checked:
    return check.check(features, state or check.new_state())


def rules_of(checked: Checked) -> list[tuple[str, str, str | None]]:
    return [(f.dimension, f.rule, f.feature) for f in checked.findings]


# --------------------------------------------------------------------------------------
# Contract files
# --------------------------------------------------------------------------------------

TOML = """
[stream]
allowed_lateness_s = 60
[features.distance]
unit = "miles"
range = [10, 6000]
"""

YAML = """
stream: {allowed_lateness_s: 60}
features:
  distance: {unit: miles, range: [10, 6000]}
"""


@pytest.mark.parametrize(("suffix", "text"), [(".toml", TOML), (".yaml", YAML), (".yml", YAML)])
def test_contract_files_in_toml_and_yaml(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"contract{suffix}"
    path.write_text(text)
    loaded = load_contract(path)
    assert loaded.stream.allowed_lateness_s == 60 and loaded.features["distance"].unit == "mi"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "c.toml",
            "[features.x]\nunit = 'furlong'\n",
            r"c.toml: features.x.unit: unknown unit 'furlong'",
        ),
        ("c.toml", "[features.x\n", r"c.toml: not valid TOML"),
        ("c.yaml", "features: [\n", r"c.yaml: not valid YAML: line 2, column 1"),
        ("c.yaml", "- 1\n", r"c.yaml: a contract is a table of keys"),
        ("c.yaml", "features: {x: {typ: number}}", r"features.x.typ: not a key of a contract here"),
        ("c.json", "{}", r"c.json: a contract is a .toml, .yaml or .yml file"),
    ],
)
def test_a_bad_file_is_a_config_error_naming_the_file_and_place(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_contract(path)
    assert str(path) in str(caught.value)
    assert caught.value.__cause__ is None or not isinstance(caught.value.__cause__, ValidationError)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the contract"):
        load_contract(tmp_path / "absent.toml")


def test_find_contract_by_built_in_name_or_path(tmp_path: Path) -> None:
    assert find_contract("flights") == FLIGHTS
    path = tmp_path / "mine.yaml"
    path.write_text(YAML)
    assert find_contract(str(path)).features["distance"].unit == "mi"
    with pytest.raises(ConfigError, match="cannot read the contract"):
        find_contract(str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="a contract is a .toml, .yaml or .yml file"):
        find_contract(str(tmp_path / "dir"))


def test_builtin_contracts() -> None:
    with pytest.raises(ConfigError, match="no built-in contract 'trains'; built-in: flights"):
        builtin_contract("trains")
    assert parse_contract(TOML, "toml") == parse_contract(YAML, "yaml")


# --------------------------------------------------------------------------------------
# The flights contract
# --------------------------------------------------------------------------------------


def test_the_flights_contract_declares_what_the_spec_says() -> None:
    features = FLIGHTS.features
    assert len(features["carrier"].categories or []) == 16
    assert len(features["dest"].categories or []) == 105
    assert features["origin"].categories == ["EWR", "JFK", "LGA"]
    assert features["route"].categories is None and features["route"].case == "upper"
    assert (features["distance"].unit, features["distance"].unit_field) == ("mi", "distance_unit")
    assert features["pressure"].detect_units == ["inHg"]
    assert FLIGHTS.stream.allowed_lateness_s == 7200
    assert FLIGHTS.stream.late_policy == "predict-only" and FLIGHTS.stream.source == "origin"
    imputed = {name for name, spec in features.items() if spec.missing == "impute"}
    assert imputed == {
        "carrier", "origin", "dest", "distance", "sched_dep_hour", "sched_dep_minute",
        "sched_arr_hour", "scheduled_block_minutes", "day_of_week", "month",
    }  # fmt: skip
    assert [rule.check for rule in FLIGHTS.rules] == [
        "scheduled_block_minutes > 0",
        "distance / scheduled_block_minutes < 15",
    ]


@pytest.mark.parametrize(
    ("feature", "raw", "clean"),
    [
        ("carrier", "United", "UA"),
        ("carrier", "united airlines", "UA"),
        ("carrier", "Delta Air Lines Inc.", "DL"),
        ("carrier", "jetblue", "B6"),
        ("carrier", " aa ", "AA"),
        ("origin", "Newark", "EWR"),
        ("origin", "kennedy", "JFK"),
        ("origin", "LaGuardia", "LGA"),
        ("dest", "George Bush Intercontinental", "IAH"),
        ("dest", "la guardia", "LGA"),
        ("dest", "Martha's Vineyard", "MVY"),
        ("sched_dep_slot", "05H", "05h"),
    ],
)
def test_the_flights_contract_reads_names(feature: str, raw: str, clean: str) -> None:
    checked = run(ContractCheck(FLIGHTS), {feature: raw})
    assert checked.features[feature] == clean and checked.refused is None
    assert ("consistency", "spelling", feature) in rules_of(checked)


def test_the_flights_contract_converts_units() -> None:
    check = ContractCheck(FLIGHTS)
    sent = {
        "temp": 21.5,
        "temp_unit": "C",
        "distance": 2253,
        "distance_unit": "km",
        "pressure": 29.92,
    }
    checked = run(check, sent)
    assert checked.features["temp"] == pytest.approx(70.7)
    assert checked.features["distance"] == pytest.approx(1399.95, abs=0.01)
    assert checked.features["pressure"] == pytest.approx(1013.21, abs=0.01)
    assert "temp_unit" not in checked.features and "distance_unit" not in checked.features
    rules = Counter(f.rule for f in checked.findings if f.dimension == "consistency")
    assert rules == {"unit-converted": 2, "unit-detected": 1}


def test_every_flight_of_the_year_passes_the_flights_contract_untouched() -> None:
    """About 15 s, most of it making the year's events: not marked slow."""
    from driftline.producers.flights import flight_events

    check = ContractCheck(FLIGHTS)
    state = check.new_state()
    allowed = {name for name, spec in FLIGHTS.features.items() if spec.missing == "allow"}
    indicators = {f"{n}_missing": 0.0 for n, s in FLIGHTS.features.items() if s.missing == "impute"}
    seen = findings = refused = 0
    missing: Counter[str] = Counter()
    for event in flight_events():
        features = event.observation.features
        checked = check.check(features, state)
        seen += 1
        findings += len(checked.findings)
        refused += checked.refused is not None
        missing.update(checked.missing)
        assert checked.features == {**features, **indicators}
        check.learn(checked.features, state)
    assert seen == 336_776
    assert (findings, refused) == (0, 0)
    assert set(missing) <= allowed
    assert missing["wind_gust"] == 256_908  # reported in one hour of four (the hour before)
