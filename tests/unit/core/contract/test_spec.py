"""The contract's model: a wrong contract is refused with a clear message; units are
stored by their canonical name; specs are frozen; imputation defaults; scaled durations."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from driftline.adapters.contract_files import builtin_contract
from driftline.core.contract.check import Contract, FeatureSpec
from driftline.core.errors import ConfigError

FLIGHTS = builtin_contract("flights")


def contract(features: dict[str, Any], **keys: Any) -> Contract:
    return Contract.model_validate({"features": features, **keys})


# --------------------------------------------------------------------------------------
# Validators: a mistake in a contract is refused with a message that says what is wrong
# --------------------------------------------------------------------------------------

INVALID = [
    ({"x": {"unit": "furlong"}}, {}, "unknown unit 'furlong'; known units: length: m"),
    (
        {"x": {"unit": "mi", "range": [0, 10], "detect_units": ["kg"]}},
        {},
        "detect_units: kg is a mass unit, but unit mi is a length unit",
    ),
    ({"x": {"range": [6000, 10]}}, {}, r"range \[6000, 10\]: low is above high"),
    ({"x": {"range": [0, "nan"]}}, {}, "range bounds must be numbers, not nan"),
    (
        {"x": {"type": "category", "categories": ["UA"], "aliases": {"Delta": "DL"}}},
        {},
        "alias 'Delta' -> 'DL': 'DL' is not one of the declared categories",
    ),
    (
        {"x": {"type": "category", "case": "upper", "aliases": {"delta": "dl"}}},
        {},
        "the target is not as the check writes it",
    ),
    (
        {"x": {"type": "category", "case": "upper", "aliases": {"Delta": "DL", "DELTA": "UA"}}},
        {},
        "disagree",
    ),
    (
        {"x": {"type": "category", "case": "upper", "categories": ["ua"]}},
        {},
        "category 'ua' is not as the check writes it",
    ),
    ({"x": {"type": "category", "categories": ["A", "A"]}}, {}, "categories lists 'A' twice"),
    (
        {"x": {"type": "category", "missing": "impute", "impute": "mean"}},
        {},
        'impute = "mean" does not fit a category feature',
    ),
    (
        {"x": {"type": "boolean", "missing": "impute", "impute": "mean"}},
        {},
        'impute = "mean" does not fit a boolean feature',
    ),
    ({"x": {"missing": "impute", "impute": "constant"}}, {}, 'impute = "constant" needs fill'),
    (
        {"x": {"type": "integer", "missing": "impute", "impute": "constant", "fill": 1.5}},
        {},
        "fill 1.5 is not an integer",
    ),
    (
        {"x": {"range": [0, 10], "missing": "impute", "impute": "constant", "fill": 11}},
        {},
        r"fill 11 is outside range \[0, 10\]",
    ),
    (
        {
            "x": {
                "type": "category",
                "categories": ["A"],
                "missing": "impute",
                "impute": "constant",
                "fill": "B",
            }
        },
        {},
        "fill 'B' is not one of the declared categories",
    ),
    ({"x": {"missing": "impute", "fill": 1}}, {}, 'fill is the value of impute = "constant"'),
    ({"x": {"impute": "mean"}}, {}, 'impute and fill apply with missing = "impute"'),
    ({"x": {"fill": [1]}}, {}, "fill is a boolean, a number or text"),
    (
        {"x": {"type": "category", "unit": "mi"}},
        {},
        "unit applies to number and integer features, not to a category",
    ),
    ({"x": {"aliases": {"a": "b"}}}, {}, "aliases applies to category features, not to a number"),
    ({"x": {"timezone": "UTC"}}, {}, "timezone applies to time features, not to a number"),
    ({"x": {"type": "time", "timezone": "Mars/Olympus"}}, {}, "unknown time zone 'Mars/Olympus'"),
    ({"x": {"unit_field": "x_unit"}}, {}, "unit_field and detect_units need unit"),
    ({"x": {"unit": "hPa", "detect_units": ["inHg"]}}, {}, "detect_units needs range"),
    (
        {"x": {"unit": "mi", "unit_field": "y"}, "y": {"type": "category"}},
        {},
        "feature x: unit_field 'y' is a declared feature",
    ),
    (
        {"x": {"missing": "impute"}, "x_missing": {}},
        {},
        "feature x_missing is also the missing-value indicator of x",
    ),
    ({"x": {}}, {"rules": [{"name": "r", "check": "x <"}]}, "'x <' does not parse"),
    ({"x": {}}, {"rules": [{"name": "r", "check": "x < 1 < 2"}]}, "one comparison per rule"),
    ({"x": {}}, {"rules": [{"name": "r", "check": "x % 2 == 0"}]}, "unexpected '%'"),
    (
        {"x": {}},
        {"rules": [{"name": "r", "check": "x / y < 1"}]},
        "rule r: 'x / y < 1' names 'y', which is not a declared feature",
    ),
    (
        {"x": {"type": "category"}},
        {"rules": [{"name": "r", "check": "x == 1"}]},
        "rule r: x is a category feature; rules compute with numbers",
    ),
    (
        {"x": {}},
        {"rules": [{"name": "r", "check": "x > 0"}, {"name": "r", "check": "x < 9"}]},
        "two rules are named 'r'",
    ),
    ({"x": {"colour": "red"}}, {}, "Extra inputs are not permitted"),
    ({"x": {}}, {"version": 2}, "contract version 2: this driftline reads version 1"),
    ({"x": {}}, {"stream": {"allowed_lateness_s": -1}}, "greater than or equal to 0"),
    ({"x": {}}, {"stream": {"unknown_features": "keep"}}, "'allow', 'drop' or 'dead-letter'"),
]


@pytest.mark.parametrize(("features", "keys", "message"), INVALID)
def test_a_wrong_contract_is_refused_with_a_clear_message(
    features: dict[str, Any], keys: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        contract(features, **keys)


def test_units_are_stored_by_their_canonical_name() -> None:
    spec = FeatureSpec(unit="miles", detect_units=["kilometres"], range=(0, 10))
    assert spec.unit == "mi" and spec.detect_units == ["km"]


def test_specs_are_frozen() -> None:
    with pytest.raises(ValidationError):
        FLIGHTS.features["distance"].range = (0, 1)  # type: ignore[misc]


def test_imputation_defaults_to_the_mean_for_numbers_and_the_mode_otherwise() -> None:
    assert FeatureSpec(missing="impute").imputation == "mean"
    assert FeatureSpec(type="time", missing="impute").imputation == "mean"
    assert FeatureSpec(type="category", missing="impute").imputation == "mode"
    assert FeatureSpec(type="boolean", missing="impute").imputation == "mode"


def test_scaled_divides_the_durations() -> None:
    fast = FLIGHTS.scaled(60)
    assert fast.stream.allowed_lateness_s == 120.0
    assert fast.features == FLIGHTS.features and FLIGHTS.stream.allowed_lateness_s == 7200
    assert FLIGHTS.scaled(1) is FLIGHTS
    assert contract({}).scaled(10).stream.allowed_lateness_s is None
    with pytest.raises(ConfigError, match="time scale 0"):
        FLIGHTS.scaled(0)
