"""The model factory: a River expression, an import path or a model given in Python.

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
import pickle
from typing import Any, Literal

import river
from river import base

from driftline.core.errors import ConfigError
from driftline.core.learning.user_code import import_attr, qualified_name

__all__ = ["DEFAULT_MODEL", "ModelKind", "ModelSource", "build_model", "model_kind"]

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


class ModelSource(str):
    """A model given in Python: a River estimator (a prototype: each task and challenger
    learns its own :meth:`~river.base.Estimator.clone`, its parameters and not its learned
    state) or a factory (a module-level callable returning an estimator; it receives
    ``seed=`` when it accepts it).

    It *is* a spec (a ``str``: the factory's ``module:qualname``, or the estimator's repr),
    so a configuration, a checkpoint's header and the fingerprint hold it as they hold a
    River expression; it pickles as what it was given, by reference for a factory.

    >>> from river import linear_model
    >>> source = ModelSource(linear_model.LogisticRegression())
    >>> source.startswith("LogisticRegression"), build_model(source) is source.given
    (True, False)
    >>> factory = ModelSource(linear_model.LinearRegression)  # a class is a factory too
    >>> factory, build_model(factory).__class__.__name__
    ('river.linear_model.lin_reg:LinearRegression', 'LinearRegression')
    """

    given: Any

    def __new__(cls, given: Any) -> ModelSource:
        if isinstance(given, base.Estimator):
            try:
                pickle.dumps(given, protocol=5)
            except Exception as exc:
                raise ConfigError(
                    f"model {given!r} cannot be pickled, so no checkpoint could hold it: {exc}"
                ) from exc
            text = repr(given)
        else:
            text = qualified_name(given, "model")
        source = super().__new__(cls, text)
        source.given = given
        return source

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        return ModelSource, (self.given,)


def build_model(spec: str, seed: int = 42) -> base.Estimator:
    """Build a fresh model from ``spec``.

    ``spec`` is a River expression over River's modules (``seed`` is in scope, e.g.
    ``forest.ARFClassifier(seed=seed)``); or ``module:attr``, imported from the working
    directory first (:func:`~driftline.core.learning.user_code.import_attr`), naming a River
    estimator (each call clones it) or a factory (called; it receives ``seed=`` when it
    accepts it); or a :class:`ModelSource` (the same, given in Python).
    """
    if isinstance(spec, ModelSource):
        model = _instantiate(spec.given, spec, seed)
    elif ":" in spec and "(" not in spec:
        model = _instantiate(import_attr(spec, "--model"), spec, seed)
    else:
        try:
            model = eval(spec, {"__builtins__": {}}, _namespace(seed))  # noqa: S307
        except Exception as exc:
            raise ConfigError(f"model expression {spec!r} failed: {exc}") from exc
    if not isinstance(model, base.Estimator):
        raise ConfigError(f"model {spec!r} gave {type(model).__name__}, not a River estimator")
    model_kind(model)
    return model


def _instantiate(given: Any, spec: str, seed: int) -> Any:
    """A fresh model of an estimator (its clone) or a factory (its result)."""
    if isinstance(given, base.Estimator):
        return given.clone()
    if not callable(given):
        raise ConfigError(
            f"model {spec!r} is a {type(given).__name__}: neither a River estimator nor a "
            "factory returning one"
        )
    try:
        accepts_seed = "seed" in inspect.signature(given).parameters
    except (TypeError, ValueError):
        accepts_seed = False
    try:
        return given(seed=seed) if accepts_seed else given()
    except Exception as exc:
        raise ConfigError(f"model factory {spec!r} failed: {exc}") from exc


def model_kind(model: base.Estimator) -> ModelKind:
    """Whether ``model`` classifies or regresses; anything else is refused."""
    if isinstance(model, base.Classifier):  # a Pipeline answers for its last step
        return "classification"
    if isinstance(model, base.Regressor):
        return "regression"
    raise ConfigError(f"{type(model).__name__} is neither a classifier nor a regressor")
