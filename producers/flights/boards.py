"""The departures boards: what a flight's airport (and its carrier there) showed at its
scheduled departure, of the other flights of the last hour or two.

Congestion (weather, traffic, a ground stop) delays the flights that leave next; a board
holds only departures that happened before the flight's scheduled departure, so nothing
after it changes the features (``tests/unit/producers/flights/test_boards``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from driftline.core.times import EPOCH
from driftline.producers.flights.outcomes import LATE_MINUTES

__all__ = ["BOARDS", "BOARD_FEATURES", "departures_board", "join_boards"]

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
    (``tests/unit/producers/flights/test_boards``). Each flight's row is its frame row's.

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


def join_boards(frame: pd.DataFrame) -> pd.DataFrame:
    """The :data:`BOARDS` of each flight, as ``board_<name>_<column>`` columns.

    >>> t = pd.to_datetime(["2013-01-01 08:00", "2013-01-01 08:30"], utc=True)
    >>> frame = pd.DataFrame({"origin": "EWR", "carrier": "UA", "dep_utc": t,
    ...                       "dep_delay": [20.0, 0.0]})
    >>> [name for name in join_boards(frame) if name.endswith("_waiting")]
    ['board_origin_60m_waiting', 'board_origin_120m_waiting', 'board_carrier_120m_waiting']
    """
    parts = [frame]
    for name, (by, minutes) in BOARDS.items():
        board = departures_board(frame, minutes, by)
        parts.append(board.add_prefix(f"board_{name}_"))
    return pd.concat(parts, axis=1)
