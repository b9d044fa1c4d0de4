"""What a task computes: the model, its features, the quality rules, state bounds
(``DRIFTLINE_MODEL``, ``DRIFTLINE_DRIFT_*``, ...), and the core's configuration it makes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from driftline.adapters.contract_files import find_contract
from driftline.adapters.settings.group import SettingsGroup
from driftline.core.contract.check import Contract
from driftline.core.errors import ConfigError
from driftline.core.learning.contenders import PromotionRule
from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.history import DEFAULT_MAX_LABELS, DEFAULT_MAX_SLOTS
from driftline.core.learning.models import DEFAULT_MODEL
from driftline.core.quality.figures import MAX_FEATURE_NAMES
from driftline.core.quality.rules import QualityRules
from driftline.core.task.config import DriftConfig, TaskConfig

__all__ = ["DEFAULT_MODEL", "ModelSettings"]

#: A model's name: it appears in Redis records, metrics and commands.
_MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_Detector = Literal["ADWIN", "DDM", "EDDM", "PageHinkley", "KSWIN", "off"]
_Action = Literal["none", "reset", "swap"]


class ModelSettings(SettingsGroup):
    """What a task computes: the model, its features, the quality rules, state bounds."""

    env: ClassVar[Mapping[str, str]] = {"spec": "model"}

    spec: str = Field(
        DEFAULT_MODEL,
        description="River expression (River's modules in scope, and seed) or module:factory",
    )
    model_name: str = Field("main", pattern=_MODEL_NAME, description="the first model's name")
    challengers: dict[str, str] = Field(
        default_factory=dict,
        description='JSON: more models to learn the same stream, {"name": "River expression"}',
    )
    promote_auto: bool = Field(True, description="promote a challenger that beats the champion")
    promote_window: int = Field(2000, ge=1, description="labels a promotion compares")
    promote_margin: float = Field(
        0.02, ge=0, lt=1, description="relative loss a challenger must be below the champion's"
    )
    cost_false_negative: float | None = Field(
        None, ge=0, description="cost of a missed positive (binary classifiers; unset: argmax)"
    )
    cost_false_positive: float | None = Field(
        None, ge=0, description="cost of a false alarm (1 when only the other cost is set)"
    )
    tune_threshold: bool = Field(
        True, description="tune the decision threshold on recent scores (else: Bayes')"
    )
    threshold_window: int = Field(5000, ge=10, description="labels the threshold is tuned on")
    threshold_min_labels: int = Field(500, ge=1, description="labels before tuning starts")
    metric_windows_s: tuple[float, ...] = Field(
        (3600, 86400), description="event-time windows of the metrics time series, seconds"
    )
    drift_concept: _Detector = Field("ADWIN", description="detector of each model's errors")
    drift_concept_action: _Action = Field("none", description="on a concept drift")
    drift_features: _Detector | Literal["PSI"] = Field(
        "PSI", description="drift of each numeric feature: PSI of its deciles, or a detector"
    )
    drift_features_action: _Action = Field("none", description="on a feature's drift")
    drift_labels: _Detector | Literal["PSI"] = Field(
        "ADWIN", description="label-share drift: a detector, or PSI of shares per window"
    )
    drift_labels_action: _Action = Field("none", description="on a label-share drift")
    drift_category_window: int = Field(
        1000, ge=10, description="observations per window of category and label shares (PSI)"
    )
    drift_psi_threshold: float = Field(0.25, gt=0, description="PSI that is a drift")
    raw_features: bool = Field(False, description="pass raw features through untouched")
    calendar_features: bool = True
    #: Off by default: the lateness is the broker's ingest time (the wall clock) minus the
    #: event time, so a model fed it depends on when the events were published. Two
    #: publishes of the same events would learn different models, and a model learned on a
    #: replay would meet other delays live (training-serving skew). It stays a metric.
    lateness_feature: bool = False
    history_groups: tuple[str, ...] = Field(
        ("key",), description="segments whose recent label rate is a feature ('key': entity)"
    )
    history_alpha: float = Field(0.2, gt=0, le=1)
    history_max_slots: int = Field(
        DEFAULT_MAX_SLOTS,
        ge=1,
        description="(segment, value) label rates kept per task; the least recently used go",
    )
    history_max_labels: int = Field(
        DEFAULT_MAX_LABELS,
        ge=1,
        description="labels the label rates keep per task; the least recently used rates go",
    )
    pending_ttl_s: float = Field(7 * 24 * 3600.0, gt=0, description="event-time TTL of pending")
    allowed_lateness_s: float = Field(0.0, ge=0)
    idle_watermark_s: float | None = Field(
        60.0, gt=0, description="idle seconds after which a partition's watermark moves on"
    )
    max_future_s: float = Field(300.0, ge=0, description="event time ahead of ingest allowed")
    max_age_s: float | None = Field(None, gt=0, description="event time behind ingest allowed")
    feature_bounds: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description='JSON, e.g. {"distance": [0, 6000]}'
    )
    max_features: int = Field(1000, ge=1, description="features an observation may carry")
    max_feature_abs: float = Field(
        1e15, gt=0, description="largest magnitude of a numeric feature or label"
    )
    max_string_length: int = Field(1024, ge=1, description="longest text feature or label")
    max_record_bytes: int = Field(1 << 20, ge=64, description="largest record value")
    dedupe_size: int = Field(200_000, ge=1)
    conflict_window: int = Field(
        20_000, ge=1, description="outcomes whose label is kept to tell a conflict from a duplicate"
    )
    rolling_window: int = Field(1000, ge=1)
    quality_max_feature_names: int = Field(
        MAX_FEATURE_NAMES,
        ge=0,
        description="feature names outside the contract with quality counters of their own; "
        "later ones count as '(other)'",
    )
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
            if not re.fullmatch(_MODEL_NAME, name):
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
        """What wrong decisions cost (``None``: neither cost set, decide by the argmax)."""
        if self.cost_false_negative is None and self.cost_false_positive is None:
            return None
        fn = 1.0 if self.cost_false_negative is None else self.cost_false_negative
        fp = 1.0 if self.cost_false_positive is None else self.cost_false_positive
        try:
            return CostMatrix(false_negative=fn, false_positive=fp)
        except ValueError as exc:
            raise ConfigError(f"DRIFTLINE_COST_FALSE_NEGATIVE/_POSITIVE: {exc}") from exc

    def task_config(self, seed: int) -> TaskConfig:
        """The core's configuration of a task."""
        return TaskConfig(
            model=self.spec,
            seed=seed,
            model_name=self.model_name,
            challengers=tuple(self.challengers.items()),
            promotion=PromotionRule(
                auto=self.promote_auto, window=self.promote_window, margin=self.promote_margin
            ),
            costs=self.cost_matrix,
            tune_threshold=self.tune_threshold,
            threshold_window=self.threshold_window,
            threshold_min_labels=self.threshold_min_labels,
            windows=tuple(self.metric_windows_s),
            drift=DriftConfig(
                concept=None if self.drift_concept == "off" else self.drift_concept,
                concept_action=self.drift_concept_action,
                features=None if self.drift_features == "off" else self.drift_features,
                features_action=self.drift_features_action,
                labels=None if self.drift_labels == "off" else self.drift_labels,
                labels_action=self.drift_labels_action,
                category_window=self.drift_category_window,
                psi_threshold=self.drift_psi_threshold,
            ),
            features=FeatureConfig(
                raw_only=self.raw_features,
                calendar=self.calendar_features,
                lateness=self.lateness_feature,
                history_groups=tuple(self.history_groups),
                history_alpha=self.history_alpha,
                history_max_slots=self.history_max_slots,
                history_max_labels=self.history_max_labels,
            ),
            quality=QualityRules(
                max_future_s=self.max_future_s,
                max_age_s=self.max_age_s,
                feature_bounds=dict(self.feature_bounds),
                max_features=self.max_features,
                max_abs_value=self.max_feature_abs,
                max_string_length=self.max_string_length,
                max_record_bytes=self.max_record_bytes,
            ),
            pending_ttl_s=self.pending_ttl_s,
            allowed_lateness_s=self.allowed_lateness_s,
            idle_watermark_s=self.idle_watermark_s,
            dedupe_size=self.dedupe_size,
            conflict_window=self.conflict_window,
            quality_max_feature_names=self.quality_max_feature_names,
            rolling_window=self.rolling_window,
            contract=self.data_contract(),
        )

    def data_contract(self) -> Contract | None:
        """The contract ``contract`` names, read and validated (``None``: no contract)."""
        if self.contract is None:
            return None
        contract = find_contract(self.contract)
        scale = self.contract_time_scale
        return contract if scale == 1.0 else contract.scaled(scale)
