"""Where a task's outputs go: predictions, dead letters, findings, alerts, counted on the way.

A task hands every prediction it serves, every record it cannot use, every quality
finding and every alert to its :class:`Outbox`, which adds it to the :class:`TaskOutput`
of the call in progress and moves the counters and quality figures that go with it. The
record in hand (its offset, event id and kind) names the alerts and findings, so a
replay repeats them under the same ids.

>>> from driftline.core.learning.contenders import ModelSlot
>>> from driftline.core.learning.metrics import TaskMetrics
>>> from driftline.core.quality.figures import QualityMetrics
>>> metrics = TaskMetrics("classification")
>>> outbox = Outbox(3, metrics, QualityMetrics())
>>> out = outbox.open()
>>> record = InputRecord(3, 17, b"k", b"...", 1_700_000_000_000)
>>> outbox.at(record, ("e1", "outcome"))
>>> outbox.dead_letter(record, "conflicting-outcome", "e1: another label", "outcome")
>>> [(d.reason, d.offset, d.kind) for d in out.dead_letters]
[('conflicting-outcome', 17, 'outcome')]
>>> [(f.event_id, f.dimension, f.rule, f.action) for f in out.findings]
[('e1', <Dimension.ACCURACY: 'accuracy'>, 'conflicting-outcome', 'dead-letter')]
>>> slot = ModelSlot("main", "dummy.NoChangeClassifier()", 42, metrics)
>>> outbox.alert("promotion", "main", "promoted", "command", {}, 0, None, slot, "promote")
>>> out.alerts[0].alert_id, metrics.counts["dead_letters_outcome"], metrics.counts["alerts"]
('3-17-promotion-main-promoted', 1, 1)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from driftline.core.events.model import Observation
from driftline.core.events.records import Alert, DeadLetter, InputRecord, Prediction
from driftline.core.learning.contenders import ModelSlot
from driftline.core.learning.ensemble import Served
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.quality.admission import LateAlarm
from driftline.core.quality.figures import DIMENSION_OF, QualityFinding, QualityMetrics

__all__ = ["NO_EVENT", "Finding", "Outbox", "TaskOutput"]

#: One quality finding about a record: (dimension, rule, feature or ``None``).
Finding = tuple[str, str, str | None]
#: The event id and kind of a record that holds no event (yet).
NO_EVENT: tuple[str | None, str | None] = (None, None)


@dataclass
class TaskOutput:
    """What one call to :meth:`~driftline.core.task.partition.PartitionTask.process` produced."""

    predictions: list[Prediction] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    expired: int = 0
    #: Watermark ticks and control commands read (records, but not events).
    ticks: int = 0
    controls: int = 0
    #: Drift alarms, promotions, rollbacks (see :class:`~driftline.core.events.records.Alert`).
    alerts: list[Alert] = field(default_factory=list)
    #: Closed event-time windows, one point per window, model and this partition.
    points: list[dict[str, Any]] = field(default_factory=list)
    #: What the quality rules found, record by record (the quality log).
    findings: list[QualityFinding] = field(default_factory=list)


class Outbox:
    """A task's dead letters, findings and alerts, into the output of the call in progress.

    ``metrics`` and ``quality`` are the task's (parts of its state): a dead letter counts
    in the first, a finding in the second, an alert in the first.
    """

    def __init__(self, partition: int, metrics: TaskMetrics, quality: QualityMetrics) -> None:
        self.partition = partition
        self.metrics = metrics
        self.quality = quality
        self.out = TaskOutput()
        #: The record in hand: its offset (alert ids), its event's id and kind (findings).
        self.offset = -1
        self.event = NO_EVENT

    def open(self) -> TaskOutput:
        """A new output: what follows goes there."""
        self.out = TaskOutput()
        return self.out

    def late(self, alarm: LateAlarm, at: datetime, slot: ModelSlot) -> None:
        """The late share crossed a bound: learning stopped (``starved``) or resumed."""
        statistic, window = alarm.statistic, alarm.window
        self.alert(
            "timeliness",
            "late-inputs",
            alarm.signal,
            "late share",
            statistic,
            window,
            at,
            slot,
            "none",
        )

    def prediction(
        self,
        record: InputRecord,
        obs: Observation,
        ingest_time: datetime,
        predicted_time: datetime,
        served: Served,
        config: str,
    ) -> None:
        """The prediction served for ``obs`` (``config``: the fingerprint of the task's)."""
        self.metrics.counts["predictions"] += 1
        slot = served.slot
        self.out.predictions.append(
            Prediction(
                key=obs.key,
                event_id=obs.event_id,
                partition=record.partition,
                offset=record.offset,
                event_time=obs.event_time,
                ingest_time=ingest_time,
                predicted_time=predicted_time,
                prediction=served.prediction,
                probabilities=served.probabilities,
                model_version=slot.version,
                model=slot.name,
                decision=served.decision,
                threshold=slot.threshold,
                config=config,
            )
        )

    def points(self, slots: Iterable[ModelSlot]) -> None:
        """The points of the event-time windows each model closed since last asked."""
        for slot in slots:
            if slot.metrics.closed:
                self.out.points += [
                    point | {"model": slot.name, "partition": self.partition}
                    for point in slot.metrics.closed
                ]
                slot.metrics.closed = []

    def at(self, record: InputRecord, event: tuple[str | None, str | None] = NO_EVENT) -> None:
        """``record`` is in hand (``event``: its event's id and kind, once decoded)."""
        self.offset = record.offset
        self.event = event

    def dead_letter(
        self,
        record: InputRecord,
        reason: str,
        detail: str,
        kind: str | None,
        findings: list[Finding] | None = None,
        event: tuple[str | None, str | None] | None = None,
    ) -> None:
        """Route a record to the dead letters; its findings (and its reason's, when the
        reason is a data-quality rule) go to the quality figures and log."""
        found = list(findings or ())
        dimension = DIMENSION_OF.get(reason)
        if dimension is not None and all(rule != reason for _, rule, _ in found):
            found.append((dimension, reason, None))
        if found:
            self.found(record, found, "dead-letter", event)
        metrics = self.metrics
        metrics.dead_letters[reason] += 1
        metrics.counts["dead_letters"] += 1
        if kind is not None:
            metrics.counts[f"dead_letters_{kind}"] += 1
        self.out.dead_letters.append(
            DeadLetter(
                reason,
                detail,
                record.partition,
                record.offset,
                record.key,
                record.value,
                record.timestamp_ms,
                kind,
            )
        )

    def found(
        self,
        record: InputRecord,
        findings: list[Finding],
        action: str,
        event: tuple[str | None, str | None] | None = None,
    ) -> None:
        """Count a record's findings and add them to the quality log (``action``: what
        became of the record; ``event``: its event's id and kind, if not the one in hand)."""
        self.quality.note(findings)
        event_id, kind = self.event if event is None else event
        self.out.findings += [
            QualityFinding(
                record.partition, record.offset, event_id, kind, dimension, rule, feature, action
            )
            for dimension, rule, feature in findings
        ]

    def alert(
        self,
        kind: str,
        subject: str,
        signal: str,
        detector: str,
        statistic: dict[str, Any],
        window: int,
        at: datetime | None,
        slot: ModelSlot,
        action: str,
    ) -> None:
        """An alert about ``slot``'s model as it is now, named after the record in hand."""
        self.metrics.counts["alerts"] += 1
        if signal == "drift":  # a detector's drift (not a warning, promotion or rollback)
            self.metrics.counts["drift_alarms"] += 1
        self.out.alerts.append(
            Alert(
                alert_id=f"{self.partition}-{self.offset}-{kind}-{subject}-{signal}",
                partition=self.partition,
                offset=self.offset,
                kind=kind,
                subject=subject,
                signal=signal,
                detector=detector,
                statistic=statistic,
                window=window,
                event_time=at,
                model=slot.name,
                model_version=slot.version,
                action=action,
            )
        )
