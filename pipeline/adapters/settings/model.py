"""What a task computes: the model, its features, the quality rules, state bounds
(``DRIFTLINE_MODEL``, ``DRIFTLINE_DRIFT_*``, ...), and the core's configuration it makes.

A setting that sets a field of the core's :class:`TaskConfig` is declared by that field's
path (:func:`core_field`): its default, bounds and description are the core's, and
:meth:`ModelSettings.task_config` puts each value at its path.

>>> m = ModelSettings(drift_concept="off", challengers={"nb": "naive_bayes.GaussianNB()"})
>>> config = m.task_config(seed=7)
>>> config.drift.concept, config.challengers, config.features.lateness
(None, (('nb', 'naive_bayes.GaussianNB()'),), False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from driftline.adapters.contract_files import find_contract
from driftline.adapters.settings.core_fields import core_field, core_values
from driftline.adapters.settings.group import SettingsGroup
from driftline.core.contract.check import Contract
from driftline.core.drift.monitors import DriftAction
from driftline.core.errors import ConfigError
from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.models import DEFAULT_MODEL
from driftline.core.learning.user_code import import_attr
from driftline.core.learning.user_features import FeatureFunction
from driftline.core.task.config import MODEL_NAME, TaskConfig

__all__ = ["DEFAULT_MODEL", "ModelSettings"]

#: The core's detectors (:data:`driftline.core.drift.detectors.DetectorName`), or none.
_Detector = Literal["ADWIN", "DDM", "EDDM", "PageHinkley", "KSWIN", "off"]


def _feature_function(spec: str | None) -> FeatureFunction | None:
    """The function ``spec`` (``module:function``) names, imported from the working directory."""
    return None if spec is None else import_attr(spec, "--features")  # type: ignore[no-any-return]


def _pairs(challengers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(challengers.items())


class ModelSettings(SettingsGroup):
    """What a task computes: the model, its features, the quality rules, state bounds."""

    env: ClassVar[Mapping[str, str]] = {"spec": "model", "feature_function": "features"}

    spec: str = core_field("model")
    feature_function: str | None = core_field("feature_function", to_core=_feature_function)
    model_name: str = core_field("model_name")
    challengers: dict[str, str] = core_field(
        "challengers",
        default_factory=dict,
        description='JSON: more models to learn the same stream, {"name": "River expression"}',
        to_core=_pairs,
    )
    promote_auto: bool = core_field("promotion.auto")
    promote_window: int = core_field("promotion.window")
    promote_margin: float = core_field("promotion.margin")
    # unset: no cost matrix (see cost_matrix)
    cost_false_negative: float | None = core_field(
        "costs.false_negative",
        default=None,
        description="cost of a missed positive (binary classifiers; unset: argmax)",
    )
    cost_false_positive: float | None = core_field(
        "costs.false_positive",
        default=None,
        description="cost of a false alarm (1 when only the other cost is set)",
    )
    tune_threshold: bool = core_field("tune_threshold")
    threshold_window: int = core_field("threshold_window")
    threshold_min_labels: int = core_field("threshold_min_labels")
    metric_windows_s: tuple[float, ...] = core_field("windows")
    drift_concept: _Detector = core_field("drift.concept", off="off")
    drift_concept_action: DriftAction = core_field("drift.concept_action")
    drift_features: _Detector | Literal["PSI"] = core_field("drift.features", off="off")
    drift_features_action: DriftAction = core_field("drift.features_action")
    drift_labels: _Detector | Literal["PSI"] = core_field("drift.labels", off="off")
    drift_labels_action: DriftAction = core_field("drift.labels_action")
    drift_category_window: int = core_field("drift.category_window")
    drift_psi_threshold: float = core_field("drift.psi_threshold")
    raw_features: bool = core_field("features.raw_only")
    calendar_features: bool = core_field("features.calendar")
    #: Off here, though the core's feature steps default to it: the lateness is the
    #: broker's ingest time (the wall clock) minus the event time, so a model fed it
    #: depends on when the events were published. Two publishes of the same events would
    #: learn different models, and a model learned on a replay would meet other delays live
    #: (training-serving skew). It stays a metric.
    lateness_feature: bool = core_field("features.lateness", default=False)
    history_groups: tuple[str, ...] = core_field("features.history_groups")
    history_alpha: float = core_field("features.history_alpha")
    history_max_slots: int = core_field("features.history_max_slots")
    history_max_labels: int = core_field("features.history_max_labels")
    pending_ttl_s: float = core_field("pending_ttl_s")
    allowed_lateness_s: float = core_field("allowed_lateness_s")
    idle_watermark_s: float | None = core_field("idle_watermark_s")
    max_future_s: float = core_field("quality.max_future_s")
    max_age_s: float | None = core_field("quality.max_age_s")
    feature_bounds: dict[str, tuple[float, float]] = core_field(
        "quality.feature_bounds", description='JSON, e.g. {"distance": [0, 6000]}', to_core=dict
    )
    max_features: int = core_field("quality.max_features")
    max_feature_abs: float = core_field("quality.max_abs_value")
    max_string_length: int = core_field("quality.max_string_length")
    max_record_bytes: int = core_field("quality.max_record_bytes")
    dedupe_size: int = core_field("dedupe_size")
    conflict_window: int = core_field("conflict_window")
    rolling_window: int = core_field("rolling_window")
    quality_max_feature_names: int = core_field("quality_max_feature_names")
    contract: str | None = Field(
        None,
        description="the stream's data contract: a TOML or YAML file, or a built-in name "
        "('flights'); unset: no contract",
    )
    contract_time_scale: float = Field(
        1.0,
        gt=0,
        description="the contract's durations are divided by this (a replay on a warped clock)",
    )

    @field_validator("challengers")
    @classmethod
    def _check_challengers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(MODEL_NAME, name):
                raise ValueError(f"model name {name!r}: use letters, digits, '_' or '-'")
        return value

    @field_validator("metric_windows_s")
    @classmethod
    def _check_windows(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(n < 0.001 for n in value):
            raise ValueError("windows are seconds >= 0.001")
        return tuple(int(n) if float(n).is_integer() else float(n) for n in value)

    @property
    def cost_matrix(self) -> CostMatrix | None:
        """What wrong decisions cost (``None``: neither cost set, decide by the argmax); a
        cost not set is the core's default."""
        given = {
            "false_negative": self.cost_false_negative,
            "false_positive": self.cost_false_positive,
        }
        costs = {name: cost for name, cost in given.items() if cost is not None}
        if not costs:
            return None
        try:
            return CostMatrix(**costs)
        except ValueError as exc:
            raise ConfigError(f"DRIFTLINE_COST_FALSE_NEGATIVE/_POSITIVE: {exc}") from exc

    def task_config(self, seed: int) -> TaskConfig:
        """The core's configuration of a task: each setting at the core field it sets, the
        costs as one matrix (or none), the seed and the data contract."""
        values: dict[str, Any] = {
            path: value
            for path, value in core_values(self).items()
            if not path.startswith("costs.")
        }
        values |= {"seed": seed, "costs": self.cost_matrix, "contract": self.data_contract()}
        return TaskConfig.from_paths(values)

    def data_contract(self) -> Contract | None:
        """The contract ``contract`` names, read and validated (``None``: no contract)."""
        if self.contract is None:
            return None
        contract = find_contract(self.contract)
        scale = self.contract_time_scale
        return contract if scale == 1.0 else contract.scaled(scale)
