"""One default per knob: a model setting takes its default, bounds and description from
the core's configuration, and ``task_config`` puts each setting at the core field it sets,
building the same configurations as before the settings read the core."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from driftline.adapters.contract_files import find_contract
from driftline.adapters.settings import ModelSettings, Settings
from driftline.adapters.settings.core_fields import CoreTarget, core_targets
from driftline.core.drift.detectors import DETECTORS
from driftline.core.errors import ConfigError
from driftline.core.learning.contenders import PromotionRule
from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.features import FeatureConfig
from driftline.core.quality.rules import QualityRules
from driftline.core.task.config import DriftConfig, TaskConfig
from driftline.core.task.fingerprint import config_fingerprint

#: Core fields no variable sets: the contract is named by DRIFTLINE_CONTRACT and read by
#: the adapters; the learning guard and the pending bound are not settings.
UNSET_BY_VARIABLES = {"contract", "guard_above", "max_pending"}
#: Settings whose default is their own, and why.
OWN_DEFAULTS = {
    "challengers": "a JSON object by name, the core's (name, spec) pairs",
    "cost_false_negative": "unset: no cost matrix at all",
    "cost_false_positive": "unset: no cost matrix at all",
    "lateness_feature": "off in a deployment, on in the core (see ModelSettings)",
}
#: Settings whose description says how their variable is written (JSON, unset).
OWN_DESCRIPTIONS = {"challengers", "cost_false_negative", "cost_false_positive", "feature_bounds"}

TARGETS = core_targets(ModelSettings)
NO_LATENESS = FeatureConfig(lateness=False)


def bounds(metadata: list[Any]) -> list[Any]:
    return [m for m in metadata if not isinstance(m, CoreTarget)]


# -- one default per knob ----------------------------------------------------------------------
def test_every_core_knob_is_set_by_exactly_one_setting() -> None:
    paths = [target.path for target in TARGETS.values()]
    assert len(paths) == len(set(paths))
    assert "seed" not in paths and "seed" in core_targets(Settings)  # a root setting
    assert set(paths) | {"seed"} | UNSET_BY_VARIABLES == set(TaskConfig.paths())


def test_the_settings_that_set_no_core_field() -> None:
    assert set(ModelSettings.model_fields) - set(TARGETS) == {"contract", "contract_time_scale"}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_setting_takes_its_bounds_default_and_description_from_the_core(name: str) -> None:
    setting = ModelSettings.model_fields[name]
    target = TARGETS[name]
    core = TaskConfig.field_info(target.path)
    assert bounds(setting.metadata) == core.metadata
    if name not in OWN_DEFAULTS:
        assert setting.default_factory is core.default_factory
        expected = target.off if core.default is None and target.off else core.default
        assert setting.default == expected
    if name not in OWN_DESCRIPTIONS:
        assert setting.description == core.description


def test_the_own_defaults_are_few_and_stated() -> None:
    defaults = ModelSettings()
    assert defaults.challengers == {} and TaskConfig().challengers == ()
    assert (defaults.cost_false_negative, defaults.cost_false_positive) == (None, None)
    assert defaults.lateness_feature is False and FeatureConfig().lateness is True
    for name in OWN_DEFAULTS:
        assert TARGETS[name]  # each sets a core field all the same


def test_the_detectors_a_setting_names_are_the_cores() -> None:
    literal = ModelSettings.model_fields["drift_concept"].annotation
    assert set(literal.__args__) == {*DETECTORS, "off"}  # type: ignore[union-attr]


def test_a_change_of_the_core_changes_the_setting() -> None:
    """Another process changes a core field's default, bound and description before the
    settings are imported: the setting, its check and the task's config follow."""
    code = """
import json
from driftline.core.learning.features import FeatureConfig
FeatureConfig.__dataclass_fields__["history_alpha"].default = 0.5
FeatureConfig.__annotations__["history_alpha"] = (
    "Annotated[float, Field(gt=0, le=0.6, description='weight of the newest label')]"
)
from driftline.adapters.settings import ModelSettings, Settings
from pydantic import ValidationError
field = ModelSettings.model_fields["history_alpha"]
try:
    ModelSettings(history_alpha=0.7)
    refused = False
except ValidationError:
    refused = True
config = Settings(_env_file=None).task_config()
print(json.dumps([field.default, field.description, refused, config.features.history_alpha]))
"""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("DRIFTLINE_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(done.stdout) == [0.5, "weight of the newest label", True, 0.5]


def test_a_bound_from_the_core_is_checked_on_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLINE_HISTORY_ALPHA", "1.5")  # the core's le=1
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Settings(_env_file=None)


# -- task_config -------------------------------------------------------------------------------
def task_config(**flat: Any) -> TaskConfig:
    return Settings(_env_file=None, **flat).task_config()


def test_the_default_task_config_is_the_cores_without_the_lateness_feature() -> None:
    config = task_config()
    assert repr(config) == repr(TaskConfig(features=NO_LATENESS))
    # the fingerprint the default settings had before they read the core's fields
    assert config_fingerprint(config) == "fc33c91f5d283755"


@pytest.mark.parametrize(
    ("flat", "expected"),
    [
        (
            {"drift_concept": "off", "drift_labels": "PSI", "drift_features_action": "swap"},
            TaskConfig(
                features=NO_LATENESS,
                drift=DriftConfig(concept=None, labels="PSI", features_action="swap"),
            ),
        ),
        (
            {"drift_features": "KSWIN", "drift_category_window": 10, "drift_psi_threshold": 0.1},
            TaskConfig(
                features=NO_LATENESS,
                drift=DriftConfig(features="KSWIN", category_window=10, psi_threshold=0.1),
            ),
        ),
        (
            {"cost_false_negative": 5},
            TaskConfig(features=NO_LATENESS, costs=CostMatrix(false_negative=5.0)),
        ),
        (
            {"cost_false_positive": 2, "cost_false_negative": 0},
            TaskConfig(features=NO_LATENESS, costs=CostMatrix(0.0, 2.0)),
        ),
        (
            {
                "challengers": {
                    "nb": "naive_bayes.GaussianNB()",
                    "a": "tree.HoeffdingTreeClassifier()",
                },
                "model_name": "lr",
                "promote_auto": False,
                "promote_window": 30,
                "promote_margin": 0.5,
            },
            TaskConfig(
                features=NO_LATENESS,
                model_name="lr",
                challengers=(
                    ("nb", "naive_bayes.GaussianNB()"),
                    ("a", "tree.HoeffdingTreeClassifier()"),
                ),
                promotion=PromotionRule(auto=False, window=30, margin=0.5),
            ),
        ),
        (
            {
                "metric_windows_s": [60, 600.5],
                "history_groups": ["key", "carrier"],
                "feature_bounds": {"d": [0, 5]},
                "max_age_s": 60,
                "idle_watermark_s": None,
            },
            TaskConfig(
                windows=(60, 600.5),
                features=FeatureConfig(lateness=False, history_groups=("key", "carrier")),
                quality=QualityRules(feature_bounds={"d": (0.0, 5.0)}, max_age_s=60.0),
                idle_watermark_s=None,
            ),
        ),
        (
            {
                "raw_features": True,
                "calendar_features": False,
                "lateness_feature": True,
                "history_alpha": 0.5,
                "history_max_slots": 7,
                "history_max_labels": 9,
            },
            TaskConfig(
                features=FeatureConfig(
                    raw_only=True,
                    calendar=False,
                    lateness=True,
                    history_alpha=0.5,
                    history_max_slots=7,
                    history_max_labels=9,
                )
            ),
        ),
        (
            {
                "max_future_s": 1,
                "max_features": 2,
                "max_feature_abs": 3,
                "max_string_length": 4,
                "max_record_bytes": 100,
                "dedupe_size": 5,
                "conflict_window": 6,
                "rolling_window": 7,
                "quality_max_feature_names": 0,
                "pending_ttl_s": 8,
                "allowed_lateness_s": 9,
            },
            TaskConfig(
                features=NO_LATENESS,
                quality=QualityRules(
                    max_future_s=1.0,
                    max_features=2,
                    max_abs_value=3.0,
                    max_string_length=4,
                    max_record_bytes=100,
                ),
                dedupe_size=5,
                conflict_window=6,
                rolling_window=7,
                quality_max_feature_names=0,
                pending_ttl_s=8.0,
                allowed_lateness_s=9.0,
            ),
        ),
        (
            {
                "seed": 7,
                "model": "m:f",
                "tune_threshold": False,
                "threshold_window": 10,
                "threshold_min_labels": 1,
            },
            TaskConfig(
                features=NO_LATENESS,
                seed=7,
                model="m:f",
                tune_threshold=False,
                threshold_window=10,
                threshold_min_labels=1,
            ),
        ),
    ],
)
def test_overridden_variables_land_in_their_core_fields(
    flat: dict[str, Any], expected: TaskConfig
) -> None:
    # repr tells 60 from 60.0: the values keep the types the task has always read
    assert repr(task_config(**flat)) == repr(expected)


def test_variables_from_the_environment_land_in_their_core_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DRIFTLINE_DRIFT_LABELS", "off")
    monkeypatch.setenv("DRIFTLINE_CHALLENGERS", '{"nb": "naive_bayes.GaussianNB()"}')
    monkeypatch.setenv("DRIFTLINE_MAX_FEATURE_ABS", "1e9")
    config = Settings(_env_file=None).task_config()
    assert config.drift.labels is None
    assert config.challengers == (("nb", "naive_bayes.GaussianNB()"),)
    assert config.quality.max_abs_value == 1e9


def test_the_contract_is_read_and_scaled() -> None:
    config = task_config(contract="flights", contract_time_scale=60)
    assert config.contract == find_contract("flights").scaled(60)
    assert task_config(contract="flights").contract == find_contract("flights")


def test_costs_that_make_no_matrix_name_their_variables() -> None:
    with pytest.raises(ConfigError, match=r"^DRIFTLINE_COST_FALSE_NEGATIVE/_POSITIVE: at least"):
        task_config(cost_false_negative=0, cost_false_positive=0)


def test_the_task_config_leaves_the_settings_values_alone() -> None:
    s = Settings(_env_file=None, feature_bounds={"d": (0, 5)})
    config = s.task_config()
    assert config.quality.feature_bounds == s.model.feature_bounds
    assert config.quality.feature_bounds is not s.model.feature_bounds  # a copy
