"""The model factory: a River expression or an import path, with a seed.

>>> model = build_model("preprocessing.StandardScaler() | linear_model.LogisticRegression()")
>>> model_kind(model)
'classification'
>>> model_kind(build_model("linear_model.LinearRegression()"))
'regression'
>>> build_model("forest.ARFClassifier(seed=seed, n_models=3)", seed=7).seed
7
>>> try:
...     build_model("linear_model.LogisticRegresion()")
... except ConfigError as exc:
...     print(exc)  # doctest: +ELLIPSIS
model expression 'linear_model.LogisticRegresion()' failed: ... 'LogisticRegresion'

The spec is code, like an import path: it comes from the operator's configuration, and
the restricted namespace guards against typos, not against a hostile operator.
"""

from __future__ import annotations

import importlib
import inspect
import numbers
from typing import Any, Literal

import river
from river import base

from driftline.core.errors import ConfigError

__all__ = ["DEFAULT_MODEL", "ModelKind", "build_model", "model_kind"]

ModelKind = Literal["classification", "regression"]

#: The default model: numbers scaled, text one-hot encoded, a logistic regression on both.
#: (Scaling one-hot columns would zero them: a column present only as 1 has no variance.)
DEFAULT_MODEL = (
    "(compose.SelectType(float, int) | preprocessing.StandardScaler())"
    " + (compose.SelectType(str) | preprocessing.OneHotEncoder())"
    " | linear_model.LogisticRegression(optimizer=optim.SGD(0.005))"
)


_RIVER_MODULES = (
    "anomaly",
    "bandit",
    "compat",
    "compose",
    "drift",
    "dummy",
    "ensemble",
    "evaluate",
    "facto",
    "feature_extraction",
    "feature_selection",
    "forest",
    "imblearn",
    "linear_model",
    "metrics",
    "misc",
    "model_selection",
    "multiclass",
    "multioutput",
    "naive_bayes",
    "neighbors",
    "neural_net",
    "optim",
    "preprocessing",
    "proba",
    "rules",
    "stats",
    "time_series",
    "tree",
    "utils",
)


def _namespace(seed: int) -> dict[str, Any]:
    names: dict[str, Any] = {
        "seed": seed,
        "river": river,
        "numbers": numbers,
        "str": str,
        "int": int,
        "float": float,
        "bool": bool,
    }
    for module in _RIVER_MODULES:
        try:
            names[module] = importlib.import_module(f"river.{module}")
        except ImportError:  # optional extras (compat needs torch, ...)
            continue
    return names


def build_model(spec: str, seed: int = 42) -> base.Estimator:
    """Build a fresh model from ``spec``.

    ``spec`` is either a River expression over River's modules (``seed`` is in scope,
    e.g. ``forest.ARFClassifier(seed=seed)``), or ``package.module:factory`` naming a
    callable that returns a model; it receives ``seed=`` when it accepts it.
    """
    if ":" in spec and "(" not in spec:
        module_name, _, attr = spec.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"model factory {spec!r} cannot be imported: {exc}") from exc
        if not callable(factory):
            raise ConfigError(f"model factory {spec!r} is not callable")
        try:
            accepts_seed = "seed" in inspect.signature(factory).parameters
        except (TypeError, ValueError):
            accepts_seed = False
        try:
            model = factory(seed=seed) if accepts_seed else factory()
        except Exception as exc:
            raise ConfigError(f"model factory {spec!r} failed: {exc}") from exc
    else:
        try:
            model = eval(spec, {"__builtins__": {}}, _namespace(seed))  # noqa: S307
        except Exception as exc:
            raise ConfigError(f"model expression {spec!r} failed: {exc}") from exc
    if not isinstance(model, base.Estimator):
        raise ConfigError(f"model {spec!r} gave {type(model).__name__}, not a River estimator")
    model_kind(model)
    return model


def model_kind(model: base.Estimator) -> ModelKind:
    """Whether ``model`` classifies or regresses; anything else is refused."""
    if isinstance(model, base.Classifier):  # a Pipeline answers for its last step
        return "classification"
    if isinstance(model, base.Regressor):
        return "regression"
    raise ConfigError(f"{type(model).__name__} is neither a classifier nor a regressor")
