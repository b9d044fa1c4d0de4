"""The cells of a table: CSV values typed or kept verbatim, times in their unit, and
non-finite or misread epoch numbers refused."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given

from driftline.core.errors import EventValidationError
from driftline.core.events.model import FeatureValue
from driftline.core.times import MAX_EVENT_TIME, MIN_EVENT_TIME
from driftline.producers.tabular import parse_csv_value, parse_time
from tests.unit.producers.table_cells import FEATURES, MAX_S, MIN_S, T_S, TEXT, at_s, cell_of, utc

# -- parsing rules and properties ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("", None),
        ("NA", None),
        ("n/a", None),
        ("null", None),
        ("NaN", None),
        (" ", None),
        ("true", True),
        ("False", False),
        ("0", 0),
        ("-12", -12),
        ("+5", 5),
        ("007", "007"),
        ("1.5", 1.5),
        ("-.5", -0.5),
        ("2e-3", 0.002),
        ("1E+2", 100.0),
        ("1.", 1.0),
        ("abc", "abc"),
        (" padded ", " padded "),
        ("1_000", "1_000"),
        ("0x10", "0x10"),
        ("\u0663", "\u0663"),  # an Arabic-Indic digit is text
    ],
)
def test_parse_csv_value(cell: str, value: FeatureValue) -> None:
    parsed = parse_csv_value(cell)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("cell", ["inf", "-Infinity", "1e400"])
def test_parse_csv_value_refuses_non_finite(cell: str) -> None:
    with pytest.raises(EventValidationError):
        parse_csv_value(cell)


def test_parse_time_rules() -> None:
    assert parse_time("2024-01-01T00:00:00Z") == utc(2024, 1, 1)
    assert parse_time(T_S + 0.5) == datetime(2023, 11, 14, 22, 13, 20, 500000, UTC)
    assert parse_time(str(T_S)) == parse_time(T_S) == at_s(T_S)
    assert parse_time(T_S * 1000 + 5, time_unit="ms") == at_s(T_S) + timedelta(milliseconds=5)
    assert parse_time(f"{T_S * 1000}", time_unit="ms") == at_s(T_S)
    for bad in [True, None, [1], float("nan"), float("inf"), 1e30, "2024-13-01", 0, -1]:
        with pytest.raises(EventValidationError):
            parse_time(bad)


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_parse_time_bounds(unit: str) -> None:
    per_s = 1000 if unit == "ms" else 1
    assert parse_time(MIN_S * per_s, time_unit=unit) == MIN_EVENT_TIME  # type: ignore[arg-type]
    assert parse_time(str(MIN_S * per_s), time_unit=unit) == MIN_EVENT_TIME  # type: ignore[arg-type]
    last = MAX_S * per_s - 1
    assert parse_time(last, time_unit=unit) < MAX_EVENT_TIME  # type: ignore[arg-type]
    for outside in [MIN_S * per_s - 1, MAX_S * per_s, 0]:
        with pytest.raises(EventValidationError, match="outside"):
            parse_time(outside, time_unit=unit)  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds", [T_S, MIN_S, MAX_S - 1], ids=str)
def test_epoch_seconds_read_as_milliseconds_are_refused(seconds: int) -> None:
    # seconds given with time_unit="ms" land early in 1970, before the 1990 bound
    with pytest.raises(EventValidationError, match=r"1970-0[12].*outside"):
        parse_time(seconds, time_unit="ms")
    with pytest.raises(EventValidationError, match=r"1970-0[12].*outside"):
        parse_time(str(seconds), time_unit="ms")


@pytest.mark.parametrize("millis", [T_S * 1000, MIN_S * 1000], ids=str)
def test_epoch_milliseconds_read_as_seconds_are_refused(millis: int) -> None:
    with pytest.raises(EventValidationError, match="epoch time"):
        parse_time(millis)


@given(FEATURES)
def test_typed_cells_round_trip(value: FeatureValue) -> None:
    parsed = parse_csv_value(cell_of(value))
    assert parsed == value and type(parsed) is type(value)


@given(TEXT)
def test_text_cells_are_typed_or_kept_verbatim(text: str) -> None:
    try:
        parsed = parse_csv_value(text)
    except EventValidationError:
        return  # an infinite number
    if isinstance(parsed, str):
        assert parsed == text
    elif isinstance(parsed, float):
        assert math.isfinite(parsed)
