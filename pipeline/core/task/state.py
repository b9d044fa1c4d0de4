"""A partition task's state as one value: what a checkpoint pickles and a task is built from.

Everything a task learns from its records is here, and nothing else: what its config
says is rebuilt from the config (a checkpoint is refused by a task of another config).
Each collaborator of the task keeps its part as a small dataclass of its own (the
ensemble's models, admission's windows); the parts all collaborators share (the
metrics, the quality figures, the pending store, the clocks) are fields of their own. A
field added anywhere in it is checkpointed with the rest: there is no list to keep.

>>> from driftline.core.task.config import TaskConfig
>>> state = TaskState.fresh(TaskConfig())
>>> list(state.models.slots), state.models.champion, state.next_offset, len(state.pending)
(['main'], 'main', None, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from driftline.core.drift.monitors import FeatureMonitor, LabelMonitor
from driftline.core.events.ticks import IdleClock
from driftline.core.learning.ensemble import EnsembleState
from driftline.core.learning.history import LabelHistory
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.learning.pending import EarlyOutcomes, PendingStore
from driftline.core.quality.admission import AdmissionState
from driftline.core.quality.figures import QualityMetrics
from driftline.core.task.config import TaskConfig

__all__ = ["TaskState"]


@dataclass
class TaskState:
    """What one partition's task holds: its models, stores, windows, figures and clocks."""

    #: The champion and its challengers (:class:`~driftline.core.learning.ensemble.Ensemble`).
    models: EnsembleState
    #: The served predictions' scores and the task's counters.
    metrics: TaskMetrics
    #: Observations waiting for their outcome, and outcomes that came first.
    pending: PendingStore
    early: EarlyOutcomes
    #: The ids and contents seen, the late share, the contract's figures
    #: (:class:`~driftline.core.quality.admission.Admission`).
    admission: AdmissionState
    #: Findings per dimension, rule, feature and source.
    quality: QualityMetrics
    #: The recent label rate per entity and segment (a feature), if configured.
    history: LabelHistory | None = None
    feature_monitor: FeatureMonitor | None = None
    label_monitor: LabelMonitor | None = None
    max_event_time: datetime | None = None
    #: Where event time stands on the broker's clock, moved on by watermark ticks.
    idle_clock: IdleClock = field(default_factory=IdleClock)
    #: The offset of the next record to read (``None``: none read yet).
    next_offset: int | None = None

    @classmethod
    def fresh(cls, config: TaskConfig) -> TaskState:
        """The state of a task of ``config`` that has read nothing."""
        models, metrics = EnsembleState.fresh(config)
        drift, contract, features = config.drift, config.contract, config.features
        ttl = timedelta(seconds=config.pending_ttl_s)
        return cls(
            models=models,
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
                    models.kind,
                    detector=drift.labels,  # type: ignore[arg-type]
                    category_window=drift.category_window,
                    psi_threshold=drift.psi_threshold,
                    seed=config.seed,
                )
                if drift.labels is not None
                else None
            ),
        )
