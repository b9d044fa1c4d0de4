"""A setting made from a core field: the core's default, bounds and description unless
the setting gives its own, and the core field it sets kept beside its bounds."""

from __future__ import annotations

from typing import Literal

import pytest
from annotated_types import Ge, Gt, Le
from pydantic import BaseModel, ConfigDict, ValidationError

from driftline.adapters.settings.core_fields import (
    CoreTarget,
    core_field,
    core_targets,
    core_values,
)
from driftline.core.learning.features import FeatureConfig


class Example(BaseModel):
    model_config = ConfigDict(frozen=True)

    alpha: float = core_field("features.history_alpha")
    window: int = core_field("promotion.window", default=10, description="its own")
    concept: Literal["ADWIN", "DDM", "off"] = core_field("drift.concept", off="off")
    bounds: dict[str, tuple[float, float]] = core_field("quality.feature_bounds", to_core=dict)
    pairs: dict[str, str] = core_field(
        "challengers", default_factory=dict, to_core=lambda v: tuple(v.items())
    )
    plain: int = 3


def test_the_core_gives_default_bounds_and_description() -> None:
    alpha = Example.model_fields["alpha"]
    assert (alpha.default, alpha.description) == (0.2, None)
    assert alpha.metadata == [Gt(gt=0), Le(le=1), CoreTarget("features.history_alpha")]


def test_a_setting_may_give_its_own_default_and_description_but_not_bounds() -> None:
    window = Example.model_fields["window"]
    assert (window.default, window.description) == (10, "its own")
    assert window.metadata[0] == Ge(ge=1)
    with pytest.raises(ValidationError):
        Example(window=0)


def test_a_default_factory_is_the_cores_unless_given() -> None:
    assert Example.model_fields["bounds"].default_factory is dict
    assert Example().pairs == {}


def test_the_bounds_are_checked() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Example(alpha=2)


def test_the_targets_are_the_fields_that_set_a_core_field() -> None:
    assert list(core_targets(Example)) == ["alpha", "window", "concept", "bounds", "pairs"]


def test_core_values_turn_the_settings_values_into_the_cores() -> None:
    example = Example(concept="off", bounds={"x": (0, 1)}, pairs={"a": "m()"})
    values = core_values(example)
    assert values == {
        "features.history_alpha": 0.2,
        "promotion.window": 10,
        "drift.concept": None,
        "quality.feature_bounds": {"x": (0.0, 1.0)},
        "challengers": (("a", "m()"),),
    }
    assert values["quality.feature_bounds"] is not example.bounds
    assert core_values(Example(concept="DDM"))["drift.concept"] == "DDM"


def test_off_stands_for_a_core_default_of_none(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = FeatureConfig.__dataclass_fields__["history_alpha"]
    monkeypatch.setattr(spec, "default", None)
    assert core_field("features.history_alpha", off="off").default == "off"
    assert core_field("features.history_alpha").default is None
