"""state_digest: equal for equal state (a pickled copy, shared or copied objects), different
when a model learns or a value changes, and for models holding a function."""

from __future__ import annotations

import pickle
from typing import Any

from river import compose, linear_model, preprocessing

from driftline.core.learning.models import DEFAULT_MODEL, build_model
from driftline.core.task.checkpoint import model_digest
from driftline.core.task.digest import state_digest
from tests.unit.core.task.checkpoint_stream import run, stream, trained_task


def test_digest_is_equal_for_a_pickled_copy() -> None:
    task = trained_task(200)
    assert state_digest(pickle.loads(pickle.dumps(task.model))) == model_digest(task)
    state = task.state
    for name, value in {
        "pending": state.pending,
        "early": state.early,
        "seen_observations": state.admission.seen_observations,
        "metrics": state.metrics,
        "history": state.history,
    }.items():
        assert state_digest(pickle.loads(pickle.dumps(value))) == state_digest(value), name


def test_digest_changes_when_the_model_learns() -> None:
    model = build_model(DEFAULT_MODEL, 42)
    digests = {state_digest(model)}
    for i, x in enumerate([{"d": 1.0, "c": "UA"}, {"d": 2.0, "c": "DL"}, {"d": 1.0, "c": "UA"}]):
        model.learn_one(x, i % 2 == 0)
        digests.add(state_digest(model))
    assert len(digests) == 4
    task = trained_task(100)
    before = model_digest(task)
    run(task, stream()[100:160])
    assert model_digest(task) != before


def test_digest_ignores_identity_sharing() -> None:
    name = "distance"
    copy_of_name = "".join(["dist", "ance"])
    assert copy_of_name == name and copy_of_name is not name
    shared = {"weights": {name: 1.5}, "counts": {name: 2}}
    separate = {"weights": {name: 1.5}, "counts": {copy_of_name: 2}}
    assert pickle.dumps(shared) != pickle.dumps(separate)  # why pickle bytes are no digest
    assert state_digest(shared) == state_digest(separate)

    row = [1.0, 2.0]
    assert state_digest({"a": row, "b": row}) == state_digest({"a": [1.0, 2.0], "b": [1.0, 2.0]})

    def trained(first: str, second: str) -> Any:
        model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
        model.learn_one({first: 1.0}, True)
        model.learn_one({second: 3.0}, False)
        return model

    assert state_digest(trained(name, name)) == state_digest(trained(name, copy_of_name))


def test_digest_tells_values_apart() -> None:
    pairs = [
        (1, 1.0),
        (True, 1),
        ("1", 1),
        ((1, 2), [1, 2]),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # insertion order is state for a dict
        (0.1 + 0.2, 0.3),
    ]
    for left, right in pairs:
        assert state_digest(left) != state_digest(right), (left, right)
    assert state_digest({3, 1, 2}) == state_digest({2, 3, 1})


def tag_feature(x: dict[str, Any]) -> dict[str, Any]:
    """A module-level (hence picklable) feature function, as River's docs use them."""
    return x | {"tagged": 1.0}


def func_model(seed: int = 42) -> Any:
    """A model factory (``module:factory`` spec) whose pipeline holds a Python function."""
    return compose.FuncTransformer(tag_feature) | linear_model.LogisticRegression()


def test_a_function_holding_model_pickles_fine() -> None:
    model = func_model()
    model.learn_one({"x": 1.0}, True)
    again = pickle.loads(pickle.dumps(model))
    assert again.predict_proba_one({"x": 1.0}) == model.predict_proba_one({"x": 1.0})


def test_digest_of_a_model_holding_a_function() -> None:
    model = func_model()
    model.learn_one({"x": 1.0}, True)
    assert state_digest(model) == state_digest(pickle.loads(pickle.dumps(model)))
