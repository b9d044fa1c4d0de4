"""The learning guard: a step that would break a model is refused, the model unchanged."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from river import base, dummy, linear_model, preprocessing

from driftline.core.learning.contenders import ModelSlot
from driftline.core.learning.guard import (
    GUARD_GROWTH,
    answer,
    finite,
    is_multiclass,
    large,
    learn_guarded,
    predict_is_argmax,
    risky,
)
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.task.digest import state_digest


class Fragile(base.Classifier):
    """Its output turns NaN once it learns a value above a billion."""

    def __init__(self) -> None:
        self.broken = False

    def learn_one(self, x: dict[str, Any], y: Any) -> None:
        self.broken = self.broken or any(abs(v) > 1e9 for v in x.values())

    def predict_proba_one(self, x: dict[str, Any]) -> dict[Any, float]:
        p = math.nan if self.broken else 0.5
        return {True: p, False: p}


class Refusing(base.Classifier):
    def learn_one(self, x: dict[str, Any], y: Any) -> None:
        raise ValueError("not this one")

    def predict_proba_one(self, x: dict[str, Any]) -> dict[Any, float]:
        return {True: 0.5, False: 0.5}


def slot_of(model: Any) -> ModelSlot:
    slot = ModelSlot(
        "m", "dummy.NoChangeClassifier()", 42, TaskMetrics("classification"), model=model
    )
    slot.argmax = predict_is_argmax(model)
    return slot


def test_large_numbers_are_those_beyond_the_limit_label_included() -> None:
    x = {"a": 5.0, "b": -2e6, "c": True, "d": "text", "e": 3_000_000}
    assert large(x, 7e6, limit=1e6) == [("b", 2e6), ("e", 3e6), ("\x00label", 7e6)]
    assert large(x, True, limit=1e7) == []


def test_a_number_is_risky_until_one_of_its_size_was_learned() -> None:
    big = [("b", 2e6)]
    assert risky(big, {}) and risky(big, {"b": 2e6 / (GUARD_GROWTH * 2)})
    assert not risky(big, {"b": 2e6 / GUARD_GROWTH})


def test_a_step_that_would_break_the_model_is_refused_and_the_model_kept() -> None:
    slot = slot_of(Fragile())
    counts: Counter[str] = Counter()
    x = {"x": 5e9}
    verdict = learn_guarded(slot, x, True, large(x, True, 1e6), "classification", counts)
    assert verdict is not None and verdict[0] == "non-finite-learning"
    assert not slot.model.broken and slot.version == 0 and counts["refused"] == 1
    assert slot.guard_scale == {}  # not learned: its size is not known


def test_a_step_without_large_numbers_is_learned_in_place() -> None:
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    slot = slot_of(model)
    counts: Counter[str] = Counter()
    assert learn_guarded(slot, {"x": 1.0}, True, [], "classification", counts) is None
    assert slot.model is model and slot.version == 1 and not counts


def test_a_large_step_that_is_safe_is_learned_on_a_copy_and_its_size_remembered() -> None:
    slot = slot_of(linear_model.LinearRegression())
    reference = linear_model.LinearRegression()
    x = {"x": 2e6}
    assert learn_guarded(slot, x, 1.0, large(x, 1.0, 1e6), "regression", Counter()) is None
    reference.learn_one(x, 1.0)
    assert state_digest(slot.model) == state_digest(reference)
    assert slot.guard_scale == {"x": 2e6} and slot.version == 1


def test_a_step_the_model_raises_on_is_refused() -> None:
    slot = slot_of(Refusing())
    counts: Counter[str] = Counter()
    reason, detail = learn_guarded(slot, {"x": 1.0}, True, [], "classification", counts)  # type: ignore[misc]
    assert reason == "model-error" and "not this one" in detail
    assert counts["refused"] == 1 and slot.version == 0


def test_the_background_model_learns_too_or_is_dropped() -> None:
    slot = slot_of(dummy.NoChangeClassifier())
    slot.background = dummy.NoChangeClassifier()
    learn_guarded(slot, {"x": 1.0}, "a", [], "classification", Counter())
    assert slot.background.predict_one({}) == "a"
    slot.background = Refusing()
    learn_guarded(slot, {"x": 1.0}, "b", [], "classification", Counter())
    assert slot.background is None and slot.version == 2


def test_an_answer_skips_a_second_pass_for_river_s_argmax() -> None:
    model = dummy.PriorClassifier()
    model.learn_one({}, "a")
    model.learn_one({}, "a")
    model.learn_one({}, "b")
    assert predict_is_argmax(model)
    prediction, probabilities = answer(model, {}, "classification", argmax=True)
    assert prediction == "a" and probabilities == model.predict_proba_one({})
    assert answer(linear_model.LinearRegression(), {"x": 1.0}, "regression", False) == (0.0, None)


def test_finite_and_multiclass() -> None:
    assert finite(1.0, {True: 0.2, False: 0.8}) and finite("a", None)
    assert not finite(math.inf, None) and not finite(True, {True: math.nan})
    assert is_multiclass(dummy.PriorClassifier())
    assert not is_multiclass(preprocessing.StandardScaler() | linear_model.LogisticRegression())


# -- large numbers, found without abs() per number ----------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_NUMBERS = st.one_of(
    st.floats(), st.integers(-(10**20), 10**20), st.booleans(), st.text(max_size=3), st.none()
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=4), _NUMBERS, max_size=8),
    _NUMBERS,
    st.one_of(st.floats(allow_nan=False), st.integers(-(10**7), 10**7)),
)
def test_large_finds_what_abs_finds(x: dict, label: object, limit: float) -> None:
    def number(v: object) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    expected = [(name, abs(v)) for name, v in x.items() if number(v) and abs(v) > limit]
    if number(label) and abs(label) > limit:  # type: ignore[arg-type]
        expected.append(("\x00label", abs(label)))  # type: ignore[arg-type]
    assert large(x, label, limit) == expected
