"""Feature steps, label history, the model factory, and the bounded stores of a task."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from river import base, linear_model, preprocessing, tree

from driftline.core.errors import ConfigError
from driftline.core.events.model import Observation
from driftline.core.learning.features import FeatureBuilder, FeatureConfig, calendar_features
from driftline.core.learning.history import LabelHistory
from driftline.core.learning.models import DEFAULT_MODEL, build_model, model_kind
from driftline.core.learning.pending import EarlyOutcomes, PendingEntry, PendingStore
from driftline.core.quality.dedupe import DedupeWindow

T0 = datetime(2024, 3, 4, 18, 30, tzinfo=UTC)  # a Monday


def observation(features: dict[str, Any], at: datetime = T0) -> Observation:
    return Observation(event_id="1", key="EWR", event_time=at, features=features)


# -- FeatureBuilder --------------------------------------------------------------------------------
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


# -- LabelHistory ----------------------------------------------------------------------------------
def test_history_changes_only_on_update() -> None:
    history = LabelHistory(alpha=0.5, groups=("key", "carrier"))
    ua = history.groups_of("EWR", {"carrier": "UA"})
    assert ua == {"key": "EWR", "carrier": "UA"}
    assert history.features(ua) == {}
    # reading or computing groups, for any number of observations, changes nothing
    for _ in range(3):
        history.groups_of("EWR", {"carrier": "UA"})
        history.features(ua)
    assert history.features(ua) == {}
    history.update(ua, True)
    snapshot = history.features(ua)
    assert snapshot == {"recent_label[key]": 1.0, "recent_label[carrier]": 1.0}
    history.features(history.groups_of("JFK", {"carrier": "UA"}))
    assert history.features(ua) == snapshot


def test_history_is_an_exponential_mean_with_alpha() -> None:
    history = LabelHistory(alpha=0.25, groups=("key",))
    groups = {"key": "k"}
    expected = None
    for y in [1.0, 0.0, 0.0, 4.0, True, False]:
        history.update(groups, y)
        expected = float(y) if expected is None else expected + 0.25 * (float(y) - expected)
        assert history.features(groups)["recent_label[key]"] == pytest.approx(expected)


def test_history_groups_are_separate() -> None:
    history = LabelHistory(alpha=1.0, groups=("key", "carrier"))
    history.update({"key": "EWR", "carrier": "UA"}, True)
    history.update({"key": "JFK", "carrier": "DL"}, False)
    assert history.features({"key": "EWR", "carrier": "DL"}) == {
        "recent_label[key]": 1.0,
        "recent_label[carrier]": 0.0,
    }


def test_history_skips_missing_segments_and_text_labels() -> None:
    history = LabelHistory(alpha=0.5, groups=("key", "carrier", "origin"))
    groups = history.groups_of("k", {"carrier": None, "origin": 7})
    assert groups == {"key": "k", "origin": "7"}
    history.update(groups, "late")
    assert history.features(groups) == {}


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.01, math.nan])
def test_history_alpha_must_be_in_zero_one(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        LabelHistory(alpha=alpha)


# -- build_model -----------------------------------------------------------------------------------
def make_seeded(seed: int) -> base.Classifier:
    return tree.HoeffdingTreeClassifier(grace_period=seed)


def make_plain() -> base.Regressor:
    return preprocessing.StandardScaler() | linear_model.LinearRegression()


def make_not_a_model() -> object:
    return object()


def make_transformer() -> base.Transformer:
    return preprocessing.StandardScaler()


def make_failing() -> base.Classifier:
    raise RuntimeError("no model today")


def make_with_a_required_argument(depth: int) -> base.Classifier:
    return tree.HoeffdingTreeClassifier(max_depth=depth)


NOT_CALLABLE = 3.0


def test_expression_models_and_their_kind() -> None:
    assert model_kind(build_model(DEFAULT_MODEL)) == "classification"
    assert model_kind(build_model("tree.HoeffdingTreeRegressor()")) == "regression"
    model = build_model("preprocessing.StandardScaler() | linear_model.LogisticRegression()")
    assert model_kind(model) == "classification"


def test_the_seed_is_in_scope() -> None:
    assert build_model("forest.ARFClassifier(seed=seed, n_models=2)", seed=11).seed == 11
    assert build_model("forest.ARFClassifier(seed=seed, n_models=2)").seed == 42


def test_each_call_builds_a_fresh_model() -> None:
    a, b = build_model(DEFAULT_MODEL), build_model(DEFAULT_MODEL)
    assert a is not b
    untrained = b.predict_proba_one({"x": 1.0})
    a.learn_one({"x": 1.0}, True)
    assert a.predict_proba_one({"x": 1.0}) != untrained
    assert b.predict_proba_one({"x": 1.0}) == untrained  # b learned nothing


def test_factory_path_with_a_seed_parameter() -> None:
    model = build_model(f"{__name__}:make_seeded", seed=7)
    assert isinstance(model, tree.HoeffdingTreeClassifier) and model.grace_period == 7


def test_factory_path_without_a_seed_parameter() -> None:
    model = build_model(f"{__name__}:make_plain", seed=7)
    assert model_kind(model) == "regression"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("linear_model.LogisticRegresion()", "failed"),  # a typo
        ("linear_model.LogisticRegression(", "failed"),  # a syntax error
        ("open('/etc/passwd')", "failed"),  # no builtins
        ("__import__('os')", "failed"),
        ("int(3)", "not a River estimator"),
        ("preprocessing.StandardScaler()", "neither a classifier nor a regressor"),
        ("anomaly.HalfSpaceTrees()", "neither a classifier nor a regressor"),
        ("cluster.KMeans()", "failed"),  # not in the namespace
        (f"{__name__}:make_not_a_model", "not a River estimator"),
        (f"{__name__}:make_transformer", "neither a classifier nor a regressor"),
        (f"{__name__}:no_such_factory", "cannot be imported"),
        ("math:pi", "pi' is not callable"),
        (f"{__name__}:NOT_CALLABLE", "NOT_CALLABLE' is not callable"),
        (f"{__name__}:make_failing", "failed: no model today"),
        (f"{__name__}:make_with_a_required_argument", "failed"),
        ("no_such_package.models:factory", "cannot be imported"),
    ],
)
def test_bad_specs_raise_config_error(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model(spec)


def test_a_non_callable_factory_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'math:pi' is not callable"):
        build_model("math:pi")


def test_a_failing_factory_keeps_its_cause() -> None:
    with pytest.raises(ConfigError) as caught:
        build_model(f"{__name__}:make_failing")
    assert isinstance(caught.value.__cause__, RuntimeError)


# -- DedupeWindow ----------------------------------------------------------------------------------
def test_dedupe_window_needs_room() -> None:
    with pytest.raises(ValueError):
        DedupeWindow(0)


def test_dedupe_contains_does_not_record() -> None:
    window = DedupeWindow(2)
    assert not window.contains("a")
    assert not window.seen("a")
    assert window.contains("a") and len(window) == 1


def test_dedupe_forgets_the_least_recently_seen() -> None:
    window = DedupeWindow(2)
    assert [window.seen(i) for i in "abac"] == [False, False, True, False]
    # "a" was seen again after "b", so "b" went first
    assert window.contains("a") and not window.contains("b") and window.contains("c")


@given(ids=st.lists(st.sampled_from("abcdefgh"), max_size=60), size=st.integers(1, 5))
def test_dedupe_window_is_bounded_and_exact_within_its_size(ids: list[str], size: int) -> None:
    window = DedupeWindow(size)
    recent: list[str] = []  # a reference LRU
    for event_id in ids:
        assert window.seen(event_id) == (event_id in recent)
        if event_id in recent:
            recent.remove(event_id)
        recent.append(event_id)
        recent = recent[-size:]
        assert len(window) == len(recent) <= size
    assert all(window.contains(i) for i in recent)


# -- PendingStore ----------------------------------------------------------------------------------
def entry(event_id: str, seconds: float) -> PendingEntry:
    return PendingEntry(event_id, "k", T0 + timedelta(seconds=seconds), {"x": 1.0}, True, None, 0)


def test_pending_store_is_bounded_by_max_entries() -> None:
    store = PendingStore(ttl=timedelta(hours=1), max_entries=3)
    for i, t in enumerate([50, 10, 40, 30, 20]):
        store.add(entry(f"e{i}", t))
    gone = store.expire(T0 - timedelta(days=1))  # the watermark is far behind: size decides
    assert [e.event_id for e in gone] == ["e1", "e4"]  # the earliest deadlines
    assert len(store) == 3 and all(store.was_expired(e.event_id) for e in gone)


def test_pending_store_bound_skips_resolved_entries() -> None:
    store = PendingStore(ttl=timedelta(hours=1), max_entries=2)
    for i in range(4):
        store.add(entry(f"e{i}", i))
    store.pop("e0")
    gone = store.expire(T0 - timedelta(days=1))
    assert [e.event_id for e in gone] == ["e1"] and len(store) == 2
    assert not store.was_expired("e0")


@given(times=st.lists(st.integers(0, 100), max_size=40), bound=st.integers(0, 10))
def test_pending_store_never_exceeds_its_bound_after_expire(times: list[int], bound: int) -> None:
    store = PendingStore(ttl=timedelta(seconds=10), max_entries=bound)
    for i, t in enumerate(times):
        store.add(entry(str(i), t))
        store.expire(T0)
        assert len(store) <= bound


def test_pending_expiry_is_inclusive_and_in_deadline_order() -> None:
    store = PendingStore(ttl=timedelta(seconds=60))
    for name, t in [("late", 30), ("early", 0), ("mid", 10)]:
        store.add(entry(name, t))
    assert store.expire(T0 + timedelta(seconds=59)) == []
    gone = store.expire(T0 + timedelta(seconds=70))
    assert [e.event_id for e in gone] == ["early", "mid"]
    assert store.pop("late") is not None and store.pop("late") is None


def test_pending_store_remembers_a_bounded_number_of_expired_ids() -> None:
    store = PendingStore(ttl=timedelta(seconds=1), remember=2)
    for i in range(3):
        store.add(entry(str(i), i))
    store.expire(T0 + timedelta(hours=1))
    assert [store.was_expired(str(i)) for i in range(3)] == [False, True, True]


def test_a_re_added_id_expires_on_its_own_deadline() -> None:
    """A redelivery after the dedupe window forgot the id: the stale deadline is skipped."""
    store = PendingStore(ttl=timedelta(seconds=60))
    store.add(entry("a", 0))
    store.pop("a")  # resolved
    store.add(entry("a", 100))  # the same id again, later
    assert store.expire(T0 + timedelta(seconds=61)) == []
    assert "a" in store and not store.was_expired("a")
    assert store.expire(T0 + timedelta(seconds=159)) == []
    assert [e.event_id for e in store.expire(T0 + timedelta(seconds=160))] == ["a"]
    assert store.was_expired("a") and len(store) == 0


def test_an_id_re_added_after_expiring_expires_on_its_new_deadline() -> None:
    store = PendingStore(ttl=timedelta(seconds=60))
    store.add(entry("a", 0))
    assert [e.event_id for e in store.expire(T0 + timedelta(seconds=60))] == ["a"]
    store.add(entry("a", 100))
    assert store.expire(T0 + timedelta(seconds=100)) == [] and "a" in store
    assert [e.event_id for e in store.expire(T0 + timedelta(seconds=160))] == ["a"]


def test_the_bound_evicts_by_the_current_deadlines_of_re_added_ids() -> None:
    store = PendingStore(ttl=timedelta(seconds=60), max_entries=2)
    store.add(entry("a", 0))
    store.pop("a")
    store.add(entry("a", 100))  # its deadline is now the latest
    store.add(entry("b", 10))
    store.add(entry("c", 20))
    gone = store.expire(T0 - timedelta(days=1))  # the watermark is far behind: size decides
    assert [e.event_id for e in gone] == ["b"]
    assert sorted(store._entries) == ["a", "c"]


# -- EarlyOutcomes ---------------------------------------------------------------------------------
def test_early_outcomes_expire_in_deadline_then_arrival_order() -> None:
    early = EarlyOutcomes(ttl=timedelta(seconds=60))
    early.hold("c", T0 + timedelta(seconds=5), "c")
    early.hold("a", T0, "a")
    early.hold("b", T0, "b")  # same deadline as a, held later
    early.hold("d", T0 + timedelta(seconds=30), "d")
    assert early.expire(T0 + timedelta(seconds=59)) == []
    assert early.expire(T0 + timedelta(seconds=65)) == ["a", "b", "c"]
    assert len(early) == 1 and early.take("d") == "d" and len(early) == 0
    assert early.expire(T0 + timedelta(days=1)) == []


def test_taken_outcomes_do_not_expire() -> None:
    early = EarlyOutcomes(ttl=timedelta(seconds=60))
    early.hold("a", T0, ("outcome", 1))
    assert early.take("a") == ("outcome", 1)
    assert early.expire(T0 + timedelta(hours=1)) == []


def test_an_outcome_held_again_expires_on_its_own_deadline() -> None:
    early = EarlyOutcomes(ttl=timedelta(seconds=60))
    early.hold("a", T0, "first")
    assert early.take("a") == "first"
    early.hold("a", T0 + timedelta(seconds=100), "second")
    assert early.expire(T0 + timedelta(seconds=61)) == []
    assert early.expire(T0 + timedelta(seconds=160)) == ["second"]


def test_early_outcomes_are_bounded() -> None:
    early = EarlyOutcomes(ttl=timedelta(hours=1), max_entries=2)
    for i in range(4):
        early.hold(str(i), T0 + timedelta(seconds=i), i)
    assert early.expire(T0) == [0, 1]  # over the bound: the earliest deadlines go
    assert len(early) == 2
