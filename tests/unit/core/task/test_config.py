"""The task's configuration declares each field once: its default, its bounds and what it
means; the fields are found by their dotted paths, and a config is built from them."""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys

import pytest
from annotated_types import Ge, Gt, Le, Lt

from driftline.core.learning.contenders import PromotionRule
from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.features import FeatureConfig
from driftline.core.quality.rules import QualityRules
from driftline.core.task.config import MODEL_NAME, DriftConfig, TaskConfig
from driftline.core.task.fingerprint import config_fingerprint

#: Every path, in the order of the fields (a part's fields in place of the part).
PATHS = [
    "model",
    "seed",
    "model_name",
    "challengers",
    "promotion.auto",
    "promotion.window",
    "promotion.margin",
    "costs.false_negative",
    "costs.false_positive",
    "tune_threshold",
    "threshold_window",
    "threshold_min_labels",
    "windows",
    "drift.concept",
    "drift.concept_action",
    "drift.features",
    "drift.features_action",
    "drift.labels",
    "drift.labels_action",
    "drift.category_window",
    "drift.psi_threshold",
    "features.raw_only",
    "features.calendar",
    "features.lateness",
    "features.history_groups",
    "features.history_alpha",
    "features.history_max_slots",
    "features.history_max_labels",
    "quality.max_future_s",
    "quality.max_age_s",
    "quality.feature_bounds",
    "quality.max_features",
    "quality.max_abs_value",
    "quality.max_string_length",
    "quality.max_record_bytes",
    "contract",
    "pending_ttl_s",
    "allowed_lateness_s",
    "idle_watermark_s",
    "guard_above",
    "dedupe_size",
    "conflict_window",
    "quality_max_feature_names",
    "max_pending",
    "rolling_window",
    "feature_function",
]


def test_paths_name_every_field_of_the_config_and_its_parts() -> None:
    assert TaskConfig.paths() == PATHS
    assert set(TaskConfig.parts) == {"promotion", "costs", "drift", "features", "quality"}


@pytest.mark.parametrize(
    ("path", "default", "bounds", "description"),
    [
        ("promotion.window", 2000, [Ge(ge=1)], "labels a promotion compares"),
        (
            "promotion.margin",
            0.02,
            [Ge(ge=0), Lt(lt=1)],
            "relative loss a challenger must be below the champion's",
        ),
        ("costs.false_negative", 1.0, [Ge(ge=0)], "cost of a missed positive"),
        ("threshold_window", 5000, [Ge(ge=10)], "labels the threshold is tuned on"),
        ("drift.concept", "ADWIN", [], "detector of each model's errors"),
        ("drift.psi_threshold", 0.25, [Gt(gt=0)], "PSI that is a drift"),
        ("features.history_alpha", 0.2, [Gt(gt=0), Le(le=1)], None),
        ("features.lateness", True, [], None),
        ("quality.max_age_s", None, [Gt(gt=0)], "event time behind ingest allowed"),
        ("quality.max_record_bytes", 1 << 20, [Ge(ge=64)], "largest record value"),
        ("dedupe_size", 200_000, [Ge(ge=1)], None),
        ("seed", 42, [], None),
    ],
)
def test_a_field_says_its_default_bounds_and_meaning(
    path: str, default: object, bounds: list[object], description: str | None
) -> None:
    info = TaskConfig.field_info(path)
    assert info.default == default
    assert info.metadata == bounds
    assert info.description == description


def test_a_pattern_is_a_bound_too() -> None:
    (pattern,) = TaskConfig.field_info("model_name").metadata
    assert getattr(pattern, "pattern", None) == MODEL_NAME


def test_a_default_made_by_a_factory_keeps_its_factory() -> None:
    info = TaskConfig.field_info("quality.feature_bounds")
    assert info.default_factory is dict
    assert TaskConfig.field_info("features").default_factory is FeatureConfig


@pytest.mark.parametrize("path", PATHS)
def test_every_field_default_is_the_dataclass_default(path: str) -> None:
    info = TaskConfig.field_info(path)
    part, _, name = path.rpartition(".")
    made = getattr(TaskConfig(), part) if part else TaskConfig()
    expected = getattr(made, name) if made is not None else None
    if info.default_factory is not None:
        assert info.default_factory() == expected  # type: ignore[call-arg]
    elif part == "costs":  # no matrix by default: the matrix's own defaults
        assert info.default == getattr(CostMatrix(), name)
    else:
        assert info.default == expected


def test_the_field_is_read_from_the_dataclass_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = FeatureConfig.__dataclass_fields__["history_alpha"]
    monkeypatch.setattr(spec, "default", 0.5)
    assert TaskConfig.field_info("features.history_alpha").default == 0.5


def test_an_unknown_path_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        TaskConfig.field_info("features.nope")
    with pytest.raises(KeyError):
        TaskConfig.field_info("nope.window")


def test_from_paths_builds_the_parts_and_keeps_the_other_defaults() -> None:
    config = TaskConfig.from_paths(
        {
            "seed": 7,
            "windows": (60,),
            "promotion.window": 30,
            "drift.concept": None,
            "features.raw_only": True,
            "quality.max_age_s": 60.0,
            "costs": CostMatrix(false_negative=5.0),
        }
    )
    assert config == TaskConfig(
        seed=7,
        windows=(60,),
        promotion=PromotionRule(window=30),
        drift=DriftConfig(concept=None),
        features=FeatureConfig(raw_only=True),
        quality=QualityRules(max_age_s=60.0),
        costs=CostMatrix(false_negative=5.0, false_positive=1.0),
    )
    assert TaskConfig.from_paths({}) == TaskConfig()


def test_from_paths_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError):
        TaskConfig.from_paths({"features.nope": 1})


def test_the_declarations_leave_the_dataclasses_as_they_were() -> None:
    """Values are kept as given (no validation, no conversion), and a config is still
    a frozen dataclass that pickles and compares by value."""
    config = TaskConfig(
        windows=(60, 600),
        features=FeatureConfig(raw_only=True, history_alpha=5.0),
        quality=QualityRules(feature_bounds={"x": (0, 10)}),
    )
    assert type(config.windows[0]) is int
    assert config.features.history_alpha == 5.0
    assert config.quality.feature_bounds == {"x": (0, 10)}
    assert pickle.loads(pickle.dumps(config)) == config
    assert dataclasses.replace(config, seed=1).seed == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]
    assert hash(PromotionRule()) == hash(PromotionRule())


def test_the_default_fingerprint_is_unchanged_and_the_same_in_another_process() -> None:
    # the value before the fields declared their bounds: equal configs keep their
    # fingerprint, and a checkpoint of the default config is still recognised
    assert config_fingerprint(TaskConfig()) == "9754fe27d03b6c5a"
    code = (
        "from driftline.core.task.config import TaskConfig\n"
        "from driftline.core.task.fingerprint import config_fingerprint\n"
        "print(config_fingerprint(TaskConfig(seed=3)))"
    )
    env = os.environ | {"PYTHONHASHSEED": "123"}
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert other.stdout.strip() == config_fingerprint(TaskConfig(seed=3))
    assert config_fingerprint(TaskConfig(seed=3)) != config_fingerprint(TaskConfig())
