"""A model given as an estimator object or a factory, by module:attr or in Python: every
partition and challenger learns a model of its own."""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from river import linear_model, tree

from driftline.core.errors import ConfigError
from driftline.core.learning.ensemble import EnsembleState
from driftline.core.learning.models import ModelSource, build_model
from driftline.core.task.config import DriftConfig, TaskConfig
from driftline.core.task.fingerprint import config_fingerprint

USER_MODULE = """
from river import linear_model, tree

MODEL = linear_model.LogisticRegression(l2=0.5)
CALLS = []

def make():
    CALLS.append(None)
    return tree.HoeffdingTreeClassifier(grace_period=7)

def make_seeded(seed):
    CALLS.append(seed)
    return linear_model.LogisticRegression()

NOT_A_MODEL = [1, 2]
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``u21_models`` in a working directory that is not on ``sys.path``."""
    (tmp_path / "u21_models.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    yield "u21_models"
    sys.modules.pop("u21_models", None)


def test_an_estimator_object_is_cloned_on_every_build(user_module: str) -> None:
    first, second = build_model(f"{user_module}:MODEL"), build_model(f"{user_module}:MODEL")
    assert first is not second and first is not sys.modules[user_module].MODEL
    assert isinstance(first, linear_model.LogisticRegression) and first.l2 == 0.5


def test_a_factory_is_called_on_every_build_with_the_seed_when_it_takes_one(
    user_module: str,
) -> None:
    model = build_model(f"{user_module}:make")
    assert isinstance(model, tree.HoeffdingTreeClassifier) and model.grace_period == 7
    build_model(f"{user_module}:make_seeded", seed=11)
    assert sys.modules[user_module].CALLS == [None, 11]


def test_something_else_is_refused_with_its_spec(user_module: str) -> None:
    with pytest.raises(ConfigError, match=r"'u21_models:NOT_A_MODEL' is a list: neither"):
        build_model(f"{user_module}:NOT_A_MODEL")


def test_partitions_and_challengers_never_share_a_model(user_module: str) -> None:
    spec = f"{user_module}:MODEL"
    config = TaskConfig(model=spec, challengers=(("twin", spec),), drift=DriftConfig(concept=None))
    one, _ = EnsembleState.fresh(config)
    two, _ = EnsembleState.fresh(config)
    models = [state.slots[name].model for state in (one, two) for name in ("main", "twin")]
    assert len({id(model) for model in models}) == 4
    models[0].learn_one({"x": 1.0}, True)
    assert models[1].weights == models[2].weights == {}


def test_an_estimator_given_in_python_is_a_spec_that_builds_clones() -> None:
    prototype = linear_model.LogisticRegression(l2=0.25)
    source = ModelSource(prototype)
    assert isinstance(source, str) and source == repr(prototype)
    built = build_model(source)
    assert built is not prototype and getattr(built, "l2", None) == 0.25
    again = pickle.loads(pickle.dumps(source))
    assert again == source and getattr(build_model(again), "l2", None) == 0.25


def test_a_factory_given_in_python_is_named_and_pickled_by_reference() -> None:
    source = ModelSource(linear_model.LinearRegression)
    assert source == "river.linear_model.lin_reg:LinearRegression"
    assert b"LinearRegression" in pickle.dumps(source)
    rebuilt = build_model(pickle.loads(pickle.dumps(source)))
    assert isinstance(rebuilt, linear_model.LinearRegression)


def test_a_lambda_factory_is_refused_at_once() -> None:
    with pytest.raises(ConfigError, match="define it with def"):
        ModelSource(lambda: linear_model.LogisticRegression())


def test_the_fingerprint_tells_models_given_in_python_apart() -> None:
    a = TaskConfig(model=ModelSource(linear_model.LogisticRegression(l2=0.1)))
    b = TaskConfig(model=ModelSource(linear_model.LogisticRegression(l2=0.2)))
    same = TaskConfig(model=ModelSource(linear_model.LogisticRegression(l2=0.1)))
    assert config_fingerprint(a) != config_fingerprint(b)
    assert config_fingerprint(a) == config_fingerprint(same)
