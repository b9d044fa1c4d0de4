"""A partition task's state as one value: what a checkpoint pickles and a task is built from.

Everything a task learns from its records is here, and nothing else: what its config
says is rebuilt from the config (a checkpoint is refused by a task of another config).
Each collaborator of the task keeps its part as a small dataclass of its own (the
ensemble's models, admission's windows, the drift watch's monitors); the parts they
share (the metrics, the quality figures, the pending store, the clocks) are fields of
their own. A field added anywhere in it is checkpointed with the rest: there is no list
of names to keep up to date.

>>> from driftline.core.task.config import TaskConfig
>>> state = TaskState.fresh(TaskConfig())
>>> list(state.models.slots), state.models.champion, state.next_offset, len(state.pending)
(['main'], 'main', None, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from driftline.core.drift.watch import Monitors
from driftline.core.events.ticks import IdleClock
from driftline.core.learning.ensemble import EnsembleState
from driftline.core.learning.history import LabelHistory
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.learning.pending import EarlyOutcomes, PendingStore
from driftline.core.quality.admission import AdmissionState
from driftline.core.quality.figures import QualityMetrics
from driftline.core.task.config import TaskConfig

__all__ = ["StateView", "TaskState"]

T = TypeVar("T")


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
    #: The task-wide drift monitors (:class:`~driftline.core.drift.watch.DriftWatch`).
    monitors: Monitors = field(default_factory=Monitors)
    history: LabelHistory | None = None
    max_event_time: datetime | None = None
    #: Where event time stands on the broker's clock, moved on by watermark ticks.
    idle_clock: IdleClock = field(default_factory=IdleClock)
    #: The offset of the next record to read (``None``: none read yet).
    next_offset: int | None = None

    @classmethod
    def fresh(cls, config: TaskConfig) -> TaskState:
        """The state of a task of ``config`` that has read nothing."""
        models, metrics = EnsembleState.fresh(config)
        contract, features = config.contract, config.features
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
            monitors=Monitors.fresh(config.drift, models.kind, config.seed),
        )


class StateView(Generic[T]):
    """An attribute of a task that is a part of its state, found by ``path``:
    ``metrics = StateView[TaskMetrics]("metrics")`` in a class whose instances have a
    ``state`` makes ``task.metrics`` be ``task.state.metrics``, wherever the state keeps
    it; only a ``writable`` view can be set (the other parts are shared by reference).

    >>> from driftline.core.task.config import TaskConfig
    >>> class Holder:
    ...     champion = StateView[str]("models", "champion")
    ...     next_offset = StateView["int | None"]("next_offset", writable=True)
    ...     def __init__(self, state):
    ...         self.state = state
    >>> holder = Holder(TaskState.fresh(TaskConfig()))
    >>> holder.next_offset = 7
    >>> holder.champion, holder.state.next_offset
    ('main', 7)
    >>> holder.champion = "other"
    Traceback (most recent call last):
    AttributeError: champion is a part of the task's state: set task.state.models.champion
    """

    def __init__(self, *path: str, writable: bool = False) -> None:
        self.path = path
        self.writable = writable

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, task: Any, owner: type | None = None) -> T:
        if task is None:
            return self  # type: ignore[return-value]  # the class's attribute: the view
        part = task.state
        for step in self.path:
            part = getattr(part, step)
        return part  # type: ignore[no-any-return]

    def __set__(self, task: Any, value: T) -> None:
        if not self.writable:
            where = ".".join(self.path)
            raise AttributeError(
                f"{self.name} is a part of the task's state: set task.state.{where}"
            )
        part = task.state
        for step in self.path[:-1]:
            part = getattr(part, step)
        setattr(part, self.path[-1], value)
