"""ModelInput: the feature function sees the admitted features and its output is checked;
without one, the built-in feature steps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from driftline.core.events.model import FeatureValue, Observation
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.user_features import FeatureFunctionFailed, ModelInput

OBS = Observation(
    event_id="1", key="c1", event_time="2024-03-04T18:30:00Z", features={"amount": "12 EUR"}
)
INGEST = datetime(2024, 3, 4, 18, 31, tzinfo=UTC)


def echo(obs: Observation) -> dict[str, FeatureValue]:
    return dict(obs.features) | {"key": obs.key}


def test_the_function_sees_the_features_as_admission_left_them() -> None:
    inputs = ModelInput(FeatureConfig(), echo)
    assert inputs.features(OBS, {"amount": 12.0}) == {"amount": 12.0, "key": "c1"}
    assert inputs.features(OBS, OBS.features) == {"amount": "12 EUR", "key": "c1"}


def test_without_a_function_the_built_in_steps_run() -> None:
    inputs = ModelInput(FeatureConfig(calendar=False, lateness=True))
    features = inputs.features(OBS, {"amount": 12})
    assert inputs.build(OBS, INGEST, features, None) == ({"amount": 12.0, "lateness_s": 60.0}, None)


def test_with_a_function_the_input_is_its_output_without_missing_values() -> None:
    inputs = ModelInput(FeatureConfig(calendar=True, lateness=True), echo)
    assert inputs.build(OBS, INGEST, {"a": None, "b": True}, None) == ({"b": True}, None)


def numpy_numbers(obs: Observation) -> Any:
    return {"f": np.float64(0.5), "i": 3, "flag": False, "none": None}


def test_numbers_of_other_types_become_floats() -> None:
    features = ModelInput(FeatureConfig(), numpy_numbers).features(OBS, OBS.features)
    assert features == {"f": 0.5, "i": 3, "flag": False, "none": None}
    assert type(features["f"]) is float


def returns(value: Any) -> Any:
    def function(obs: Observation) -> Any:
        return value

    return function


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (None, "returned a NoneType, not a dict"),
        ({1: 1.0}, "returned the feature name 1, not a text"),
        ({"": 1.0}, "returned the feature name '', not a text"),
        ({"x": float("nan")}, "returned 'x' = nan, not finite"),
        ({"x": [1, 2]}, "returned 'x' as a list: a feature is a number"),
    ],
)
def test_an_output_that_is_no_dict_of_feature_values_fails(output: Any, message: str) -> None:
    with pytest.raises(FeatureFunctionFailed, match=message) as caught:
        ModelInput(FeatureConfig(), returns(output)).features(OBS, OBS.features)
    assert caught.value.reason == "feature-function-failed"


def test_the_output_is_a_copy_the_function_cannot_change_later() -> None:
    kept: dict[str, FeatureValue] = {"x": 1.0}
    features = ModelInput(FeatureConfig(), returns(kept)).features(OBS, OBS.features)
    kept["x"] = 2.0
    assert features == {"x": 1.0}
