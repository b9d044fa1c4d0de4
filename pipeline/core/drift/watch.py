"""The drift watch: a task's three kinds of monitors, and what each alarm does.

- Each model's errors (its :class:`~driftline.core.drift.monitors.ErrorMonitor`, on its
  slot): a concept drift's action (``DriftConfig.concept_action``) applies to that model
  through its :class:`~driftline.core.drift.response.DriftResponse` (a fresh model, or
  the background model that learned since the warning).
- The observations' features (:class:`~driftline.core.drift.monitors.FeatureMonitor`)
  and the labels (:class:`~driftline.core.drift.monitors.LabelMonitor`): a drift's action
  (``features_action``, ``labels_action``) applies to every model.

Every alarm, a warning too, is an alert (a warning's action is ``none``). The task-wide
monitors are the watch's state (:class:`Monitors`, a part of the task's); each model's
error monitor is its slot's.

>>> from datetime import UTC, datetime
>>> from driftline.core.learning.ensemble import Ensemble, EnsembleState
>>> from driftline.core.quality.figures import QualityMetrics
>>> from driftline.core.task.config import DriftConfig, TaskConfig
>>> from driftline.core.task.outbox import Outbox
>>> config = TaskConfig(drift=DriftConfig(concept=None, labels="ADWIN", labels_action="reset"))
>>> models, metrics = EnsembleState.fresh(config)
>>> outbox = Outbox(0, metrics, QualityMetrics())
>>> out = outbox.open()
>>> ensemble = Ensemble(config, models, metrics, outbox, 0)
>>> watch = DriftWatch(config.drift, Monitors.fresh(config.drift, "classification", 42),
...                    ensemble, outbox)
>>> at = datetime(2024, 1, 1, tzinfo=UTC)
>>> for i in range(3000):
...     watch.labels(i >= 1500, at)  # the labels turn from all false to all true
>>> [(a.kind, a.signal, a.action) for a in out.alerts], models.slots["main"].version
([('label', 'drift', 'reset')], 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from driftline.core.drift.monitors import Alarm, DriftAction, FeatureMonitor, LabelMonitor
from driftline.core.learning.contenders import ModelSlot
from driftline.core.learning.ensemble import AlertSink, Ensemble
from driftline.core.learning.models import ModelKind
from driftline.core.task.config import DriftConfig

__all__ = ["DriftWatch", "Monitors"]


@dataclass
class Monitors:
    """The task-wide drift monitors (``None``: not watched)."""

    features: FeatureMonitor | None = None
    labels: LabelMonitor | None = None

    @classmethod
    def fresh(cls, drift: DriftConfig, kind: ModelKind, seed: int) -> Monitors:
        """The monitors ``drift`` names, having seen nothing."""
        features = labels = None
        if drift.features is not None:
            features = FeatureMonitor(
                drift.features,  # type: ignore[arg-type]
                category_window=drift.category_window,
                psi_threshold=drift.psi_threshold,
                seed=seed,
            )
        if drift.labels is not None:
            labels = LabelMonitor(
                kind,
                detector=drift.labels,  # type: ignore[arg-type]
                category_window=drift.category_window,
                psi_threshold=drift.psi_threshold,
                seed=seed,
            )
        return cls(features, labels)


class DriftWatch:
    """Feeds the monitors and acts on their alarms: an alert each, and the action."""

    def __init__(
        self, config: DriftConfig, state: Monitors, ensemble: Ensemble, alerts: AlertSink
    ) -> None:
        self.config = config
        self.state = state
        self.ensemble = ensemble
        self.alerts = alerts

    def errors(self, slot: ModelSlot, label: Any, prediction: Any, at: datetime) -> None:
        """A model's answer to a label: its error to its monitor, the alarm to its drift
        response (a warning ends when the monitor says so, and its background model goes)."""
        monitor = slot.monitor
        if monitor is None:
            return
        if self.ensemble.state.kind == "classification":
            error: float = 0.0 if prediction == label else 1.0
        else:
            error = abs(float(label) - float(prediction))
        alarm = monitor.update(error)
        if alarm is not None:
            acted = self.config.concept_action if alarm.signal == "drift" else "none"
            self._alert(alarm, at, slot, acted)
        self.ensemble.respond(slot, alarm, monitor.in_warning)

    def features(self, features: dict[str, Any], at: datetime) -> None:
        """An admitted observation's features."""
        if self.state.features is not None:
            alarms = self.state.features.update(features)
            if alarms:
                self._on_alarms(alarms, at, self.config.features_action)

    def labels(self, label: Any, at: datetime) -> None:
        """A label learned."""
        if self.state.labels is not None:
            alarms = self.state.labels.update(label)
            if alarms:
                self._on_alarms(alarms, at, self.config.labels_action)

    def _on_alarms(self, alarms: list[Alarm], at: datetime, action: DriftAction) -> None:
        """Feature and label alarms: an alert each; a drift's action applies to every model."""
        champion = self.ensemble.champion
        for alarm in alarms:
            acted: DriftAction = action if alarm.signal == "drift" else "none"
            self._alert(alarm, at, champion, acted)
            if acted != "none":
                for slot in self.ensemble.state.slots.values():
                    self.ensemble.replace(slot, acted)

    def _alert(self, alarm: Alarm, at: datetime, slot: ModelSlot, action: str) -> None:
        self.alerts.alert(
            alarm.kind,
            alarm.subject,
            alarm.signal,
            alarm.detector,
            dict(alarm.statistic),
            alarm.window,
            at,
            slot,
            action,
        )
