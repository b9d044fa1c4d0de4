"""FeatureMonitor and LabelMonitor: a shifted feature or label is flagged soon and a
steady one not; bounded memory; a pickled monitor goes on exactly as the original."""

from __future__ import annotations

import math
import pickle
import random
from typing import Any

import pytest

from driftline.core.drift.detectors import evidence
from driftline.core.drift.monitors import DetectorName, ErrorMonitor, FeatureMonitor, LabelMonitor
from driftline.core.drift.psi import OTHER, ShareWindows
from driftline.core.errors import ConfigError


@pytest.mark.parametrize("name", ["DDM", "EDDM"])
def test_binary_detectors_refuse_a_regressor(name: DetectorName) -> None:
    with pytest.raises(ConfigError, match="0/1"):
        ErrorMonitor(name, kind="regression")
    with pytest.raises(ConfigError, match="0/1"):
        LabelMonitor("regression", detector=name)
    with pytest.raises(ConfigError, match="0/1"):
        FeatureMonitor(name)


# -- features -----------------------------------------------------------------------------
def gaussian_rows(n: int, shift_at: int, seed: int = 4) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "shifting": rng.gauss(1.0 if i >= shift_at else 0.0, 1.0),
            "steady": rng.gauss(10.0, 2.0),
            "flag": rng.random() < 0.3,
            "city": rng.choice("abcd" if i < shift_at else "aabd"),
        }
        for i in range(n)
    ]


def test_a_shifted_mean_is_flagged_soon_and_a_steady_feature_not() -> None:
    monitor = FeatureMonitor(category_window=500)
    rows = gaussian_rows(8000, shift_at=4000)
    alarms = [(i, a) for i, x in enumerate(rows) for a in monitor.update(x)]
    by_subject: dict[str, list[int]] = {}
    for i, alarm in alarms:
        by_subject.setdefault(alarm.subject, []).append(i)
    assert 4000 <= by_subject["shifting"][0] < 4300, by_subject  # measured: 4127
    assert len(by_subject["shifting"]) <= 2
    assert "steady" not in by_subject and "flag" not in by_subject
    # "c" is gone, "a" doubled: PSI ~0.5 at the first window after the change, and only there
    assert by_subject["city"] == [4499]
    city = next(a for _, a in alarms if a.subject == "city")
    assert city.kind == "category" and city.detector == "PSI" and city.window == 1000
    assert city.statistic["psi"] > 0.25 and city.statistic["current"] == 500


def test_numbers_skip_nan_and_features_are_capped() -> None:
    monitor = FeatureMonitor(max_features=3)
    monitor.update({"a": math.nan, "b": 1, "c": True, "d": None, "e": "x", "f": 2.0})
    assert set(monitor.numeric) == {"b", "c"} and set(monitor.categorical) == {"e"}
    assert monitor.untracked == 1  # "f"; "a" (NaN) and "d" (None) are skipped, not counted
    monitor.update({"b": math.inf, "c": False})
    assert monitor.numeric["b"].width == 1


def test_category_memory_is_bounded() -> None:
    windows = ShareWindows(1000, max_categories=20)
    for i in range(20_000):
        windows.update(f"user-{i}")
    assert len(windows.known) == 20
    assert len(windows.current) <= 21 and windows.reference is not None
    assert len(windows.reference) <= 21 and OTHER in windows.reference
    monitor = FeatureMonitor(category_window=1000, max_categories=20)
    for i in range(20_000):
        monitor.update({"id": f"user-{i}"})
    assert len(pickle.dumps(monitor)) < 5_000


def precip_rows(dry_windows: int, wet_windows: int, window: int, seed: int = 4) -> list[Any]:
    """Hourly precipitation (inches) as in the flights' weather: 0 in 95% of the hours of
    the dry windows, then rain in 70% of the wet ones' hours."""
    rng = random.Random(seed)
    rows = []
    for i in range((dry_windows + wet_windows) * window):
        rain = 0.05 if i < dry_windows * window else 0.7
        wet = rng.random() < rain
        rows.append({"precip": round(0.01 + rng.expovariate(12), 2) if wet else 0.0})
    return rows


def test_a_zero_inflated_feature_that_starts_raining_raises_a_psi_alarm() -> None:
    """Issue 19, defect 9: the deciles of a window of 95% zeros all fall on 0; binned
    by them alone, 0 shared a bin with every rainy hour and PSI never moved."""
    monitor = FeatureMonitor("PSI", category_window=1000)
    rows = precip_rows(dry_windows=3, wet_windows=2, window=1000)
    alarms = [(i, a) for i, x in enumerate(rows) for a in monitor.update(x)]
    # three dry windows agree; the first wet one does not; the second agrees with it
    assert [i for i, _ in alarms] == [3999]
    [(_, alarm)] = alarms
    assert (alarm.kind, alarm.subject, alarm.detector) == ("feature", "precip", "PSI")
    assert alarm.statistic["psi"] > 1.0
    shares = monitor.numeric["precip"]
    assert shares.tied == {0.0: -1}  # the dry hours' bin; the rain's deciles cut the rest


def test_every_value_of_a_few_valued_feature_keeps_its_own_bin() -> None:
    """A feature of a few values (a weekday) is all ties: each value its own bin, so a
    move from some to others is seen; a steady one raises nothing."""
    rng = random.Random(2)
    monitor = FeatureMonitor("PSI", category_window=700)
    days = [rng.randrange(7) for _ in range(7000)]
    days += [rng.choice((5, 6)) for _ in range(1400)]  # weekends only
    alarms = [i for i, d in enumerate(days) for a in monitor.update({"weekday": d})]
    assert alarms == [7699]
    assert sorted(monitor.numeric["weekday"].tied) == list(range(7))


def test_a_psi_monitor_checkpointed_before_tied_bins_draws_its_bins_again() -> None:
    """A checkpoint made before tied values had bins of their own holds windows counted
    in the old bins: restored, the monitor draws its bins again from the next window."""
    monitor = FeatureMonitor("PSI", category_window=1000)
    rows = precip_rows(dry_windows=3, wet_windows=2, window=1000)
    for x in rows[:2000]:
        monitor.update(x)
    del monitor.numeric["precip"].__dict__["tied"]  # the shape such a checkpoint holds
    restored = pickle.loads(pickle.dumps(monitor))
    again = restored.numeric["precip"]
    assert again.tied == {} and again.edges is None and again.windows.reference is None
    alarms = [i for i, x in enumerate(rows[2000:], start=2000) for a in restored.update(x)]
    assert alarms == [3999]  # bins and reference from 2,000-2,999, dry; then the rain


def feature_state(monitor: FeatureMonitor) -> Any:
    """What a feature monitor holds, as comparable values (pickle bytes are not: a loaded
    object is memoized differently)."""
    numeric = {name: evidence(d) for name, d in monitor.numeric.items()}
    categorical = {name: vars(w) for name, w in monitor.categorical.items()}
    return numeric, categorical, monitor.untracked


@pytest.mark.parametrize("name", ["ADWIN", "PageHinkley", "KSWIN"])
def test_a_pickled_monitor_goes_on_exactly_as_the_original(name: DetectorName) -> None:
    monitor = FeatureMonitor(name, category_window=300, seed=11)
    rows = gaussian_rows(6000, shift_at=3000, seed=6)
    if name == "KSWIN":  # one number and around its shift only: ~600 us a value
        rows = [{"shifting": x["shifting"], "city": x["city"]} for x in rows[2400:4000]]
    half = len(rows) // 2
    for x in rows[:half]:
        monitor.update(x)
    copy = pickle.loads(pickle.dumps(monitor))
    assert feature_state(copy) == feature_state(monitor)
    rest_original = [a for x in rows[half:] for a in monitor.update(x)]
    rest_copy = [a for x in rows[half:] for a in copy.update(x)]
    assert rest_original == rest_copy and any(a.subject == "shifting" for a in rest_copy)
    assert feature_state(copy) == feature_state(monitor)


# -- labels -------------------------------------------------------------------------------
def test_a_binary_labels_positive_share_drift() -> None:
    rng = random.Random(9)
    monitor = LabelMonitor("classification")
    labels = [rng.random() < (0.2 if i < 3000 else 0.6) for i in range(6000)]
    alarms = [(i, a) for i, y in enumerate(labels) for a in monitor.update(y)]
    assert alarms and 3000 <= alarms[0][0] < 3200 and len(alarms) <= 2
    assert alarms[0][1].detector == "ADWIN" and alarms[0][1].kind == "label"
    assert monitor.binary
    steady = LabelMonitor("classification")
    assert [a for y in labels[:3000] for a in steady.update(int(y))] == []


def test_multiclass_labels_go_to_psi() -> None:
    rng = random.Random(10)
    monitor = LabelMonitor("classification", category_window=500)
    alarms = []
    for i in range(6000):
        shares = [0.5, 0.3, 0.2] if i < 3000 else [0.2, 0.3, 0.5]
        label = rng.choices(["cat", "dog", "eel"], shares)[0]
        alarms += [(i, a) for a in monitor.update(label)]
    assert not monitor.binary
    assert [i for i, _ in alarms] == [3499]
    assert alarms[0][1].detector == "PSI" and alarms[0][1].statistic["psi"] > 0.25


def test_a_regression_labels_value_drift() -> None:
    rng = random.Random(12)
    monitor = LabelMonitor("regression")
    alarms = [
        (i, a) for i in range(4000) for a in monitor.update(rng.gauss(5 if i < 2000 else 7, 1))
    ]
    assert alarms and 2000 <= alarms[0][0] < 2200


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_label_shares_by_psi_flag_a_moved_label_only(kind: str) -> None:
    from driftline.core.drift.data import LabelMonitor

    rng = random.Random(8)
    monitor = LabelMonitor(kind, detector="PSI", category_window=500)  # type: ignore[arg-type]

    def label(i: int) -> object:
        moved = i >= 2000
        if kind == "classification":
            return rng.random() < (0.6 if moved else 0.2)
        return rng.gauss(3.0 if moved else 0.0, 1.0)

    alarms = [i for i in range(4000) for _ in monitor.update(label(i))]
    assert alarms == [2499]  # the first whole window after the move, and no other
