"""A partition task's state as one value: what a checkpoint pickles and a task is built from.

Everything a task learns from its records is here, and nothing else: what its config
says is rebuilt from the config (a checkpoint is refused by a task of another config).
A field added here is checkpointed with the rest, with no list to keep up to date.

>>> from driftline.core.task.config import TaskConfig
>>> state = TaskState.fresh(TaskConfig())
>>> list(state.slots), state.champion, state.next_offset, len(state.pending)
(['main'], 'main', None, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from river import base, compose

from driftline.core.drift.monitors import ErrorMonitor, FeatureMonitor, LabelMonitor
from driftline.core.errors import ConfigError
from driftline.core.events.ticks import IdleClock
from driftline.core.learning.contenders import ModelSlot
from driftline.core.learning.costs import CostMatrix, ThresholdTuner
from driftline.core.learning.history import LabelHistory
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.learning.models import build_model, model_kind
from driftline.core.learning.pending import EarlyOutcomes, PendingStore
from driftline.core.quality.admission import AdmissionState
from driftline.core.quality.figures import QualityMetrics
from driftline.core.task.config import TaskConfig

__all__ = ["TaskState"]


@dataclass
class TaskState:
    """What one partition's task holds: its models, stores, windows, figures and clocks."""

    #: The task's models by name; the champion's predictions are served.
    slots: dict[str, ModelSlot]
    champion: str
    #: The served predictions' scores and the task's counters.
    metrics: TaskMetrics
    pending: PendingStore
    early: EarlyOutcomes
    #: The ids and contents seen, the late share, the contract's figures.
    admission: AdmissionState
    #: Findings per dimension, rule, feature and source.
    quality: QualityMetrics
    history: LabelHistory | None = None
    feature_monitor: FeatureMonitor | None = None
    label_monitor: LabelMonitor | None = None
    #: Labels since the last promotion: a new champion holds for a whole window.
    since_promotion: int = 0
    max_event_time: datetime | None = None
    #: Where event time stands on the broker's clock, moved on by watermark ticks.
    idle_clock: IdleClock = field(default_factory=IdleClock)
    #: The offset of the next record to read (``None``: none read yet).
    next_offset: int | None = None

    @classmethod
    def fresh(cls, config: TaskConfig) -> TaskState:
        """The state of a task of ``config`` that has read nothing."""
        specs = [(config.model_name, config.model), *config.challengers]
        names = [name for name, _ in specs]
        if len(set(names)) != len(names):
            raise ConfigError(f"model names must differ: {names}")
        first = build_model(config.model, config.seed)
        kind = model_kind(first)
        costs = config.costs if kind == "classification" else None
        single = len(specs) == 1
        metrics = TaskMetrics(kind, config.rolling_window, costs, config.windows if single else ())
        slots: dict[str, ModelSlot] = {}
        for name, spec in specs:
            slot = ModelSlot(
                name,
                spec,
                config.seed,
                metrics
                if single
                else TaskMetrics(kind, config.rolling_window, costs, config.windows),
                _tuner(config, costs),
                model=first if name == config.model_name else None,
            )
            if model_kind(slot.model) != kind:
                raise ConfigError(
                    f"model {name!r} is a {model_kind(slot.model)} model, "
                    f"{config.model_name!r} a {kind} one: they cannot compete"
                )
            slot.argmax = _predict_is_argmax(slot.model)
            if config.drift.concept is not None:
                slot.monitor = ErrorMonitor(
                    config.drift.concept,  # type: ignore[arg-type]
                    kind=kind,
                    subject=name,
                    seed=config.seed,
                )
            slots[name] = slot
        drift = config.drift
        contract = config.contract
        features = config.features
        ttl = timedelta(seconds=config.pending_ttl_s)
        return cls(
            slots=slots,
            champion=config.model_name,
            metrics=metrics,
            pending=PendingStore(ttl, max_entries=config.max_pending),
            early=EarlyOutcomes(ttl),
            admission=AdmissionState.fresh(config),
            quality=QualityMetrics(
                config.quality_max_feature_names,
                contract.features if contract is not None else (),
            ),
            history=(
                LabelHistory(
                    features.history_alpha,
                    features.history_groups,
                    max_slots=features.history_max_slots,
                    max_labels=features.history_max_labels,
                )
                if features.history_groups and not features.raw_only
                else None
            ),
            feature_monitor=(
                FeatureMonitor(
                    drift.features,  # type: ignore[arg-type]
                    category_window=drift.category_window,
                    psi_threshold=drift.psi_threshold,
                    seed=config.seed,
                )
                if drift.features is not None
                else None
            ),
            label_monitor=(
                LabelMonitor(
                    kind,
                    detector=drift.labels,  # type: ignore[arg-type]
                    category_window=drift.category_window,
                    psi_threshold=drift.psi_threshold,
                    seed=config.seed,
                )
                if drift.labels is not None
                else None
            ),
        )


def _tuner(config: TaskConfig, costs: CostMatrix | None) -> ThresholdTuner | None:
    if costs is None:
        return None
    return ThresholdTuner(
        costs,
        window=config.threshold_window,
        min_labels=config.threshold_min_labels if config.tune_threshold else 2**62,
    )


def _predict_is_argmax(model: Any) -> bool:
    """Whether the model's ``predict_one`` is River's default argmax of the probabilities."""
    last = list(model.steps.values())[-1] if isinstance(model, compose.Pipeline) else model
    return type(last).predict_one is base.Classifier.predict_one
