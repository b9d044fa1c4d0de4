"""Units: canonical names and spellings, kinds, and conversions (affine for temperatures)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.contract.units import UNITS, canonical_unit, convert, unit_kind, units_of
from driftline.core.errors import ConfigError

KINDS = {
    "length": {"m", "km", "mi", "ft", "nmi"},
    "temperature": {"C", "F", "K"},
    "speed": {"m/s", "km/h", "mph", "kn"},
    "pressure": {"hPa", "mbar", "kPa", "inHg", "Pa"},
    "duration": {"ms", "s", "min", "h"},
    "mass": {"kg", "lb"},
    "fraction": {"ratio", "percent"},
}


def test_the_table_holds_every_unit_by_kind() -> None:
    assert {kind: set(units_of(kind)) for kind in KINDS} == KINDS  # type: ignore[arg-type]
    assert set(UNITS) == set().union(*KINDS.values())


@pytest.mark.parametrize(
    ("spelling", "unit"),
    [
        ("miles", "mi"),
        ("mile", "mi"),
        ("Miles", "mi"),
        ("kilometres", "km"),
        ("kilometers", "km"),
        ("KM", "km"),
        ("celsius", "C"),
        ("°F", "F"),
        ("°c", "C"),
        ("degrees  Fahrenheit", "F"),
        ("kelvin", "K"),
        ("knots", "kn"),
        ("kph", "km/h"),
        ("millibar", "mbar"),
        ("mb", "mbar"),
        ("inches of mercury", "inHg"),
        ("hectopascals", "hPa"),
        ("minutes", "min"),
        ("hours", "h"),
        ("pounds", "lb"),
        ("%", "percent"),
        (" ratio ", "ratio"),
    ],
)
def test_spellings_name_their_unit(spelling: str, unit: str) -> None:
    assert canonical_unit(spelling) == unit


def test_canonical_names_are_their_own_spelling_and_kind() -> None:
    for name, unit in UNITS.items():
        assert canonical_unit(name) == name
        assert unit_kind(name) == unit.kind


@pytest.mark.parametrize("name", ["furlong", "", "m/h", "parsec"])
def test_unknown_units_are_config_errors_that_list_the_known_ones(name: str) -> None:
    with pytest.raises(ConfigError, match=r"unknown unit .*; known units: length: m, km"):
        canonical_unit(name)
    with pytest.raises(ConfigError, match="unknown unit"):
        unit_kind(name)


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (1, "mi", "km", 1.609344),
        (1, "nmi", "m", 1852.0),
        (1000, "ft", "m", 304.8),
        (0, "C", "F", 32.0),
        (100, "C", "F", 212.0),
        (212, "F", "C", 100.0),
        (-40, "F", "C", -40.0),
        (0, "K", "C", -273.15),
        (32, "F", "K", 273.15),
        (36, "km/h", "m/s", 10.0),
        (1, "kn", "km/h", 1.852),
        (60, "mph", "km/h", 96.56064),
        (1013.25, "hPa", "mbar", 1013.25),
        (101.325, "kPa", "hPa", 1013.25),
        (1, "inHg", "hPa", 33.86389),
        (1500, "ms", "s", 1.5),
        (2, "h", "min", 120.0),
        (1, "lb", "kg", 0.45359237),
        (25, "percent", "ratio", 0.25),
    ],
)
def test_conversions(value: float, source: str, target: str, expected: float) -> None:
    assert convert(value, source, target) == pytest.approx(expected, rel=1e-12)


def test_spellings_convert_like_their_canonical_name() -> None:
    assert convert(10, "kilometres", "miles") == convert(10, "km", "mi")


def test_the_same_unit_returns_the_value_as_a_float() -> None:
    assert convert(3, "mi", "miles") == 3.0 and type(convert(3, "mi", "mi")) is float


def test_units_of_different_kinds_do_not_convert() -> None:
    with pytest.raises(ConfigError, match=r"cannot convert F \(a temperature\) to mi \(a length\)"):
        convert(1, "F", "mi")


@given(
    st.sampled_from(sorted(KINDS)).flatmap(
        lambda kind: st.tuples(
            st.sampled_from(sorted(KINDS[kind])), st.sampled_from(sorted(KINDS[kind]))
        )
    ),
    st.floats(min_value=-1e6, max_value=1e6),
)
def test_a_conversion_and_back_is_the_value(units: tuple[str, str], value: float) -> None:
    source, target = units
    back = convert(convert(value, source, target), target, source)
    assert math.isclose(back, value, rel_tol=1e-9, abs_tol=1e-9)
