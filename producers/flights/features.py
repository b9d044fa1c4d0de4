"""What an observation of a flight carries: only what was known at its scheduled departure.

The schedule, the route (``"EWR-IAH"``), the plane, the weather at the origin as reported
in the hour before the scheduled departure's hour (:mod:`~driftline.producers.flights.weather`),
the plane's inbound leg (:func:`inbound_leg`) and the departures boards of the origin and of
the carrier there (:mod:`~driftline.producers.flights.boards`), as they stood at that moment.
Missing values (no weather row, no gust reported, unknown plane, NaN) are ``None``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from driftline.producers.flights.boards import BOARD_FEATURES
from driftline.producers.flights.weather import WEATHER, WEATHER_SO_FAR

__all__ = ["inbound_leg", "observation_features", "strings"]


def inbound_leg(frame: pd.DataFrame) -> pd.DataFrame:
    """The plane's inbound leg as known at the scheduled departure: the arrival delay of its
    latest flight that had *landed* by then (``inbound_delay_min``), and the minutes from
    that landing to this departure (``turnaround_min``); ``NaN`` when there is none.

    A late inbound plane with little turnaround is the classic cause of a late departure
    (delay propagation). Only landings at or before the departure count, so the feature
    holds nothing the world did not know at that moment
    (``tests/unit/producers/flights/test_features``).

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


def _floats(column: pd.Series) -> list[float | None]:
    return [
        float(v) if v is not None and math.isfinite(v) else None
        for v in column.astype("float64").tolist()
    ]


def _ints(column: pd.Series) -> list[int | None]:
    return [int(v) if math.isfinite(v) else None for v in column.astype("float64").tolist()]


def strings(column: pd.Series) -> list[str | None]:
    """The values of a text column, ``None`` where one is missing or empty.

    >>> strings(pd.Series(["N14228", None, "", float("nan")]))
    ['N14228', None, None, None]
    """
    return [v if isinstance(v, str) and v else None for v in column.tolist()]


def observation_features(table: pd.DataFrame) -> dict[str, list[Any]]:
    """The features of each flight of ``table`` (one row a flight, its columns joined by
    :func:`~driftline.producers.flights.data.flight_table`), as one list per feature.
    """
    dep_wall = table["dep_wall"]
    block = ((table["arr_utc"] - table["dep_utc"]) // pd.Timedelta(minutes=1)).tolist()
    sched_dep = table["sched_dep_time"].astype("int64")
    return {
        "carrier": strings(table["carrier"]),
        "origin": strings(table["origin"]),
        "dest": strings(table["dest"]),
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
