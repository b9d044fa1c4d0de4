"""FeatureBuilder: raw features, lateness, calendar features of the event time."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.events.model import Observation
from driftline.core.learning.features import FeatureBuilder, FeatureConfig, calendar_features

T0 = datetime(2024, 3, 4, 18, 30, tzinfo=UTC)  # a Monday


def observation(features: dict[str, Any], at: datetime = T0) -> Observation:
    return Observation(event_id="1", key="EWR", event_time=at, features=features)


FEATURES = {
    "distance": 1400,
    "ratio": 0.25,
    "carrier": "UA",
    "temp": None,
    "red": True,
    "off": False,
}


def test_raw_only_passes_features_through_without_missing_values() -> None:
    x = FeatureBuilder(FeatureConfig(raw_only=True)).build(observation(FEATURES), T0)
    assert x == {"distance": 1400, "ratio": 0.25, "carrier": "UA", "red": True, "off": False}
    assert type(x["distance"]) is int and x["red"] is True  # untouched, not even cast
    assert list(x) == ["distance", "ratio", "carrier", "red", "off"]  # order kept


def test_raw_only_ignores_calendar_lateness_and_history() -> None:
    config = FeatureConfig(raw_only=True, calendar=True, lateness=True, history_groups=("key",))
    later = T0 + timedelta(hours=3)
    assert FeatureBuilder(config).build(observation({"a": 1.0}), later) == {"a": 1.0}


def test_engineered_features_cast_numbers_and_booleans_and_keep_text() -> None:
    config = FeatureConfig(calendar=False, lateness=False)
    x = FeatureBuilder(config).build(observation(FEATURES), T0)
    assert x == {"distance": 1400.0, "ratio": 0.25, "carrier": "UA", "red": 1.0, "off": 0.0}
    assert all(type(v) is float for k, v in x.items() if k != "carrier")


def test_lateness_is_ingest_minus_event_time() -> None:
    builder = FeatureBuilder(FeatureConfig(calendar=False))
    assert builder.build(observation({}), T0 + timedelta(seconds=45.5))["lateness_s"] == 45.5
    assert builder.build(observation({}), T0 - timedelta(seconds=3))["lateness_s"] == -3.0
    assert "lateness_s" not in FeatureBuilder(FeatureConfig(lateness=False)).build(
        observation({}), T0
    )


def test_calendar_features_of_the_event_time() -> None:
    x = FeatureBuilder(FeatureConfig(lateness=False)).build(observation({}), T0)
    assert x == calendar_features(T0)
    assert (x["hour"], x["day_of_week"], x["month"]) == (18.0, 0.0, 3.0)
    hour = 18.5
    assert x["hour_sin"] == pytest.approx(math.sin(2 * math.pi * hour / 24))
    assert x["hour_cos"] == pytest.approx(math.cos(2 * math.pi * hour / 24))
    assert x["month_sin"] == pytest.approx(math.sin(2 * math.pi * 2 / 12))


def test_calendar_is_read_in_utc() -> None:
    # 2024-03-04 23:30 in New York is 2024-03-05 04:30 UTC: a Tuesday at 4
    obs = Observation(event_id="1", key="k", event_time="2024-03-04T23:30:00-05:00", features={})
    x = FeatureBuilder(FeatureConfig(lateness=False)).build(obs, T0)
    assert (x["hour"], x["day_of_week"]) == (4.0, 1.0)


@given(st.datetimes(datetime(1990, 1, 1), datetime(2099, 12, 31), timezones=st.just(UTC)))
def test_cyclic_features_lie_on_the_unit_circle(when: datetime) -> None:
    f = calendar_features(when)
    for name in ("hour", "dow", "month"):
        assert f[f"{name}_sin"] ** 2 + f[f"{name}_cos"] ** 2 == pytest.approx(1.0)
    assert 0 <= f["hour"] <= 23 and 0 <= f["day_of_week"] <= 6 and 1 <= f["month"] <= 12


def test_cyclic_hour_puts_midnight_next_to_late_evening() -> None:
    def point(h: int, m: int) -> tuple[float, float]:
        f = calendar_features(datetime(2024, 1, 1, h, m, tzinfo=UTC))
        return f["hour_sin"], f["hour_cos"]

    assert math.dist(point(23, 50), point(0, 10)) == pytest.approx(
        math.dist(point(0, 0), point(0, 20))
    )
    assert math.dist(point(23, 50), point(0, 10)) < math.dist(point(23, 50), point(22, 0))


def test_the_builder_does_not_mutate_the_observation() -> None:
    obs = observation(dict(FEATURES))
    x = FeatureBuilder().build(obs, T0)
    x["distance"] = -1
    assert obs.features == FEATURES
