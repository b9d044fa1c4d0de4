"""build_model: River expressions and factory paths, their kind, the seed, clear errors."""

from __future__ import annotations

import pytest
from river import base, linear_model, preprocessing, tree

from driftline.core.errors import ConfigError
from driftline.core.learning.models import DEFAULT_MODEL, build_model, model_kind


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
        (f"{__name__}:no_such_factory", "has no 'no_such_factory'"),
        ("math:pi", "a float: neither a River estimator nor a factory"),
        (f"{__name__}:NOT_CALLABLE", "NOT_CALLABLE' is a .*: neither a River estimator"),
        (f"{__name__}:make_failing", "failed: no model today"),
        (f"{__name__}:make_with_a_required_argument", "failed"),
        ("no_such_package.models:factory", "No module named 'no_such_package'"),
    ],
)
def test_bad_specs_raise_config_error(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model(spec)


def test_a_non_callable_factory_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'math:pi' is a float: neither"):
        build_model("math:pi")


def test_a_failing_factory_keeps_its_cause() -> None:
    with pytest.raises(ConfigError) as caught:
        build_model(f"{__name__}:make_failing")
    assert isinstance(caught.value.__cause__, RuntimeError)
