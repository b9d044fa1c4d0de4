"""The user's feature function, and the model's input of an admitted observation.

A feature function takes the :class:`~driftline.core.events.model.Observation` (its
``features`` as admission and the data contract left them, its ``key`` and
``event_time``) and returns the model's input: a dict of feature values. Its output is
what is predicted on, kept pending and learned, so it is point-in-time by construction;
it replaces the built-in feature steps (calendar, lateness, label rates). A function that
raises, or gives anything but a dict of finite feature values, makes that record a dead
letter (:attr:`~driftline.core.quality.reasons.Failure.FEATURE_FUNCTION_FAILED`).

>>> from datetime import UTC, datetime
>>> def ratio(obs):
...     return {"ratio": obs.features["debt"] / obs.features["income"], "hour": obs.event_time.hour}
>>> obs = Observation(event_id="1", key="c1", event_time="2024-03-04T18:30:00Z",
...                   features={"debt": 500, "income": 2000})
>>> inputs = ModelInput(FeatureConfig(), ratio)
>>> features = inputs.features(obs, obs.features)
>>> inputs.build(obs, datetime(2024, 3, 4, 18, 31, tzinfo=UTC), features, None)
({'ratio': 0.25, 'hour': 18}, None)
>>> try:
...     inputs.features(obs, {"debt": 1, "income": 0})
... except FeatureFunctionFailed as exc:
...     print(exc.reason, "|", exc)
feature-function-failed | ratio raised ZeroDivisionError: division by zero
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeAlias

from driftline.core.errors import DriftlineError
from driftline.core.events.model import FeatureValue, Observation
from driftline.core.learning.features import FeatureBuilder, FeatureConfig
from driftline.core.learning.history import LabelHistory
from driftline.core.quality.reasons import Failure

__all__ = ["FeatureFunction", "FeatureFunctionFailed", "ModelInput"]

#: A feature function: an observation (as admitted) in, the model's input out.
FeatureFunction: TypeAlias = Callable[[Observation], Mapping[str, FeatureValue]]


class FeatureFunctionFailed(DriftlineError):
    """The feature function failed on one observation: it becomes a dead letter."""

    reason = Failure.FEATURE_FUNCTION_FAILED


class ModelInput:
    """What the model sees of an admitted observation: the feature function's output
    (``function``), else the built-in feature steps of ``config`` and the label rates."""

    def __init__(self, config: FeatureConfig, function: FeatureFunction | None = None) -> None:
        self.builder = FeatureBuilder(config)
        self.function = function
        self._name = getattr(function, "__qualname__", repr(function))

    def features(
        self, obs: Observation, admitted: dict[str, FeatureValue]
    ) -> dict[str, FeatureValue]:
        """The features of ``obs`` (``admitted``: its features as admission left them): the
        feature function's output, checked, or ``admitted`` when there is no function.

        Raises :class:`FeatureFunctionFailed` when the function raises or gives anything
        but a dict of feature values (text, booleans, finite numbers, ``None``).
        """
        if self.function is None:
            return admitted
        given = obs if admitted is obs.features else obs.model_copy(update={"features": admitted})
        try:
            output = self.function(given)
        except Exception as exc:
            raise FeatureFunctionFailed(
                f"{self._name} raised {type(exc).__name__}: {exc}"[:1000]
            ) from exc
        return _checked(output, self._name)

    def build(
        self,
        obs: Observation,
        ingest_time: datetime,
        features: dict[str, FeatureValue],
        history: LabelHistory | None,
    ) -> tuple[dict[str, Any], dict[str, str] | None]:
        """The model's input of ``obs`` from its ``features``, and its label-rate groups
        (``None``: none). With a feature function: exactly its output, missing values left
        out."""
        if self.function is not None:
            return {name: value for name, value in features.items() if value is not None}, None
        x = self.builder.build(obs, ingest_time, features)
        groups = None
        if history is not None:
            groups = history.groups_of(obs.key, features)
            # as of the observation's event time: an outcome learned earlier whose event
            # is later (out of order) is not known yet at this point in time
            x.update(history.features(groups, as_of=obs.event_time))
        return x, groups


def _checked(output: Any, name: str) -> dict[str, FeatureValue]:
    """A feature function's output as a fresh dict, or :class:`FeatureFunctionFailed`."""
    if not isinstance(output, Mapping):
        raise FeatureFunctionFailed(f"{name} returned a {type(output).__name__}, not a dict")
    checked: dict[str, FeatureValue] = {}
    for key, value in output.items():
        if not isinstance(key, str) or not key:
            raise FeatureFunctionFailed(f"{name} returned the feature name {key!r}, not a text")
        if value is None or isinstance(value, bool | int | str):
            checked[key] = value
        elif isinstance(value, numbers.Real) and math.isfinite(value):
            checked[key] = float(value)
        elif isinstance(value, numbers.Real):
            raise FeatureFunctionFailed(f"{name} returned {key!r} = {value!r}, not finite")
        else:
            raise FeatureFunctionFailed(
                f"{name} returned {key!r} as a {type(value).__name__}: a feature is a number, "
                "a text, a boolean or None"
            )
    return checked
