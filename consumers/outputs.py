"""A batch's outputs, written out by one object: predictions and metrics, the time series,
alerts and quality log, the alerts topic, and the dead letters.

Each write waits out an outage (:class:`~driftline.consumers.retry.Retry`): the batch's
tasks stay dirty meanwhile, so nothing is checkpointed or committed past what is written.
Predictions Redis can never hold (a key of another type:
:class:`~driftline.core.errors.WriteRefused`) are not waited for: they become dead letters
with their records, and the rest goes on. Outputs are at-least-once: the hashes are
idempotent, the stream and the topics may repeat a replayed record's outputs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from driftline.consumers.ports import AlertSink, DeadLetterSink, PredictionSink
from driftline.consumers.retry import Retry
from driftline.consumers.stats import WorkerStats
from driftline.core.errors import WriteRefused
from driftline.core.events.records import Alert, DeadLetter, InputRecord, Prediction
from driftline.core.quality.figures import QualityFinding
from driftline.core.task.partition import TaskOutput

__all__ = ["BatchOutputs", "Outputs"]

log = logging.getLogger(__name__)


@dataclass
class BatchOutputs:
    """What the tasks made of one batch, with each task's metrics snapshot after it."""

    predictions: list[Prediction] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)
    findings: list[QualityFinding] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)

    def add(self, out: TaskOutput, snapshot: dict[str, Any]) -> None:
        self.predictions += out.predictions
        self.dead_letters += out.dead_letters
        self.alerts += out.alerts
        self.points += out.points
        self.findings += out.findings
        self.snapshots.append(snapshot)


class Outputs:
    """Writes batches to the prediction sink (Redis), the alert sink and the dead-letter
    sink (Kafka), in that order, through ``retry``.

    ``on_predictions`` is told of each batch's predictions as soon as the sink holds them
    (the worker times event-to-Redis latency there).
    """

    def __init__(
        self,
        sink: PredictionSink,
        dead_letters: DeadLetterSink,
        alerts: AlertSink | None,
        retry: Retry,
        stats: WorkerStats,
        on_predictions: Callable[[Sequence[Prediction]], None] = lambda predictions: None,
    ) -> None:
        self.sink = sink
        self.dead_letters = dead_letters
        self.alerts = alerts
        self.retry = retry
        self.stats = stats
        self.on_predictions = on_predictions

    def flush(self, batch: BatchOutputs, records: Mapping[int, Sequence[InputRecord]]) -> None:
        """Write ``batch``, made of ``records`` (by partition); returns once every part is
        written (a refused prediction: dead-lettered)."""
        predictions, alerts, points, findings = (
            batch.predictions,
            batch.alerts,
            batch.points,
            batch.findings,
        )
        letters = list(batch.dead_letters)
        sink = self.sink
        try:
            self.retry("Redis (predictions)", lambda: sink.write(predictions, batch.snapshots))
        except WriteRefused as refused:  # the rest is written: these become dead letters
            letters += self._refused_letters(refused, records)
        self.on_predictions(predictions)
        if points or alerts or findings:
            self.retry(
                "Redis (series, alerts, quality log)",
                lambda: sink.record(points, alerts, findings),
            )
        alert_sink = self.alerts
        if alerts and alert_sink is not None:
            self.retry("Kafka (alerts)", lambda: alert_sink.publish(alerts))
        self.stats.alerts += len(alerts)
        self.stats.points += len(points)
        for alert in alerts:
            if alert.kind == "timeliness":
                _log_timeliness(alert)
        if letters:
            self.retry("Kafka (dead letters)", lambda: self.dead_letters.publish(letters))
        self.stats.predictions += len(predictions)
        self.stats.dead_letters += len(letters)

    def _refused_letters(
        self, refused: WriteRefused, records: Mapping[int, Sequence[InputRecord]]
    ) -> list[DeadLetter]:
        """Dead letters for the predictions Redis can never hold (a key of another type):
        waiting would not help, and the records stay on the dead-letter topic."""
        by_offset = {
            (partition, record.offset): record
            for partition, held in records.items()
            for record in held
        }
        letters = []
        for prediction, why in refused.refused:
            record = by_offset[(prediction.partition, prediction.offset)]
            letters.append(
                DeadLetter(
                    "redis-refused",
                    f"{prediction.event_id}: {why}"[:1000],
                    record.partition,
                    record.offset,
                    record.key,
                    record.value,
                    record.timestamp_ms,
                    "observation",
                )
            )
        self.stats.redis_refused += len(letters)
        log.error(
            "Redis refused %s prediction(s) of this batch (%s): dead-lettered",
            len(letters),
            refused.refused[0][1],
        )
        return letters


def _log_timeliness(alert: Alert) -> None:
    """Learning stopped (or resumed) because too many observations came late."""
    log.warning(
        "partition %s: %s of the last %s observations came later than the allowed lateness "
        "(%s s): learning %s",
        alert.partition,
        f"{alert.statistic['late_share']:.0%}",
        alert.window,
        alert.statistic["allowed_lateness_s"],
        "stalled" if alert.signal == "starved" else "resumed",
    )
