"""Event times of users' records: ISO text with or without an offset (naive in the source's
zone), epoch numbers in s, ms or us as numbers or text, datetimes as they are; anything
else, or outside driftline's bounds, refused with what it got."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.errors import EventValidationError
from driftline.core.sources.times import TIME_UNITS, TimeUnit, parse_event_time
from driftline.core.times import MAX_EVENT_TIME, MIN_EVENT_TIME

AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "unit", "zone"),
    [
        ("2024-03-01T09:30:00Z", "iso", "UTC"),
        ("2024-03-01T09:30:00+00:00", "iso", "Asia/Tokyo"),  # an offset wins over the zone
        ("2024-03-01T10:30:00+01:00", "iso", "UTC"),
        ("2024-03-01 09:30", "iso", "UTC"),
        ("2024-03-01T10:30:00", "iso", "Europe/Paris"),
        (" 2024-03-01T04:30:00 ", "iso", "America/New_York"),
        (1_709_285_400, "epoch_s", "UTC"),
        (1_709_285_400.0, "epoch_s", "UTC"),
        ("1709285400", "epoch_s", "UTC"),
        ("1709285400.0", "epoch_s", "UTC"),
        (Decimal("1709285400"), "epoch_s", "UTC"),
        (1_709_285_400_000, "epoch_ms", "UTC"),
        ("1709285400000", "epoch_ms", "UTC"),
        (1_709_285_400_000_000, "epoch_us", "UTC"),
        (AT, "epoch_ms", "UTC"),  # an Avro timestamp, whatever the unit
        (AT.astimezone(timezone(timedelta(hours=-5))), "iso", "UTC"),
        (datetime(2024, 3, 1, 10, 30), "iso", "Europe/Paris"),
    ],
)
def test_each_way_of_writing_the_same_moment(value: Any, unit: TimeUnit, zone: str) -> None:
    parsed = parse_event_time(value, unit, zone)
    assert parsed == AT and parsed.tzinfo is UTC


def test_fractions_keep_their_precision() -> None:
    assert parse_event_time(1_709_285_400.25, "epoch_s") == AT + timedelta(milliseconds=250)
    assert parse_event_time(1_709_285_400_001, "epoch_ms") == AT + timedelta(milliseconds=1)
    assert parse_event_time(1_709_285_400_000_007, "epoch_us") == AT + timedelta(microseconds=7)
    assert parse_event_time("2024-03-01T09:30:00.123456Z", "iso").microsecond == 123456


def test_the_fall_back_hour_reads_as_its_first_occurrence() -> None:
    first = parse_event_time("2024-11-03T01:30:00", "iso", "America/New_York")
    assert first == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "unit", "message"),
    [
        (1_709_285_400, "iso", "got the number 1709285400 .an epoch time"),
        (None, "iso", "got null"),
        ("yesterday", "iso", "'yesterday' is not an ISO-8601 time"),
        ("", "iso", "not an ISO-8601 time"),
        (True, "epoch_s", "got the boolean True"),
        (None, "epoch_ms", "got null"),
        ("soon", "epoch_ms", "got the text 'soon'"),
        (float("nan"), "epoch_s", "not finite"),
        ("inf", "epoch_s", "not finite"),
        (Decimal("NaN"), "epoch_s", "not finite"),
        ([1], "epoch_s", "got a list"),
        (1_709_285_400, "epoch_ms", "outside"),  # seconds read as milliseconds
        (1_709_285_400_000, "epoch_s", "out of range|outside"),  # and the other way
        (10**30, "epoch_us", "out of range"),
        (-(10**20), "epoch_s", "out of range"),
        ("1989-12-31T23:59:59Z", "iso", "outside"),
        ("2100-01-01T00:00:00Z", "iso", "outside"),
        ("0001-01-01T00:00:00+05:00", "iso", "out of range|outside"),
    ],
)
def test_what_cannot_be_read_is_refused_with_what_it_got(
    value: Any, unit: TimeUnit, message: str
) -> None:
    with pytest.raises(EventValidationError, match=message):
        parse_event_time(value, unit)


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(EventValidationError, match="unknown time zone 'Nowhere/Else'"):
        parse_event_time("2024-03-01T09:30:00", "iso", "Nowhere/Else")


@given(
    st.datetimes(
        min_value=MIN_EVENT_TIME.replace(tzinfo=None),
        max_value=(MAX_EVENT_TIME - timedelta(microseconds=1)).replace(tzinfo=None),
        timezones=st.just(UTC),
    )
)
def test_every_unit_round_trips_a_moment(moment: datetime) -> None:
    micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert parse_event_time(micros, "epoch_us") == moment
    assert parse_event_time(str(micros), "epoch_us") == moment
    assert parse_event_time(micros // 1000, "epoch_ms") == moment.replace(
        microsecond=moment.microsecond // 1000 * 1000
    )
    assert parse_event_time(moment.isoformat(), "iso") == moment


@given(st.one_of(st.integers(), st.floats(), st.text(), st.none(), st.booleans()))
def test_anything_parses_or_is_refused_cleanly(value: Any) -> None:
    for unit in TIME_UNITS:
        try:
            parsed = parse_event_time(value, unit)
        except EventValidationError:
            continue
        assert MIN_EVENT_TIME <= parsed < MAX_EVENT_TIME and parsed.tzinfo is UTC
