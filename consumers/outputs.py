"""A batch's outputs, written out by one object: predictions and metrics, the time series,
alerts and quality log, the alerts topic, and the dead letters.

Each write waits out an outage (:class:`~driftline.consumers.retry.Retry`): the batch's
tasks stay dirty meanwhile, so nothing is checkpointed or committed past what is written.
Predictions Redis can never hold (a key of another type:
:class:`~driftline.core.errors.WriteRefused`) are not waited for: they become dead letters
with their records, and the rest goes on. The hashes are idempotent; the dead letters and
alerts a replay makes again are left out of the topics when they are already there
(:mod:`~driftline.consumers.replayed`), so a reader of the topics sees each id once; the
Redis stream may repeat a replayed record's predictions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from driftline.consumers.ports import AlertSink, DeadLetterSink, OutputFence, PredictionSink
from driftline.consumers.replayed import ReplayedOutputs
from driftline.consumers.retry import Retry
from driftline.consumers.stats import WorkerStats
from driftline.core.errors import WriteRefused
from driftline.core.events.records import Alert, DeadLetter, InputRecord, Prediction
from driftline.core.quality.figures import QualityFinding
from driftline.core.task.partition import TaskOutput

__all__ = ["BatchOutputs", "BatchWrite", "Outputs"]

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

    ``on_predictions`` is told of each batch's predictions with the time the sink took
    them (the worker times event-to-Redis latency from it), once the batch is written.
    ``replayed`` holds the ids of dead letters and alerts already published, which are
    not published again (``None``: all are published). With ``fence``, a batch's dead
    letters and alerts are published only for the partitions no other worker has claimed
    since this one did (:mod:`~driftline.adapters.redis_fence`).
    """

    def __init__(
        self,
        sink: PredictionSink,
        dead_letters: DeadLetterSink,
        alerts: AlertSink | None,
        retry: Retry,
        stats: WorkerStats,
        on_predictions: Callable[[Sequence[Prediction], datetime], None] = lambda p, at: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        replayed: ReplayedOutputs | None = None,
        fence: OutputFence | None = None,
    ) -> None:
        self.sink = sink
        self.replayed = replayed
        self.fence = fence
        self.dead_letters = dead_letters
        self.alerts = alerts
        self.retry = retry
        self.stats = stats
        self.on_predictions = on_predictions
        self.clock = clock

    def flush(self, batch: BatchOutputs, records: Mapping[int, Sequence[InputRecord]]) -> None:
        """Write ``batch``, made of ``records`` (by partition); returns once every part is
        written (a refused prediction: dead-lettered)."""
        write = self.start(batch, records)
        self.finish(write)

    def start(
        self,
        batch: BatchOutputs,
        records: Mapping[int, Sequence[InputRecord]],
        epochs: Mapping[int, int] | None = None,
    ) -> BatchWrite:
        """The write of ``batch``, not begun: :meth:`BatchWrite.attempt` it in any thread,
        then :meth:`finish` it in the worker's. ``epochs``: the claims its partitions
        were processed under (see ``fence``)."""
        return BatchWrite(self, batch, records, epochs)

    def finish(self, write: BatchWrite) -> None:
        """Write what ``write`` has not written yet (waiting out outages, in this thread:
        the keepalive serves the consumer), then count it and tell ``on_predictions``."""
        write.complete(self.retry)
        batch = write.batch
        assert write.written_at is not None
        self.on_predictions(batch.predictions, write.written_at)
        self.stats.alerts += len(batch.alerts)
        self.stats.points += len(batch.points)
        for alert in batch.alerts:
            if alert.kind == "timeliness":
                _log_timeliness(alert)
        self.stats.predictions += len(batch.predictions)
        self.stats.dead_letters += len(write.letters)
        self.stats.redis_refused += write.refused

    def refused_letters(
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
        log.error(
            "Redis refused %s prediction(s) of this batch (%s): dead-lettered",
            len(letters),
            refused.refused[0][1],
        )
        return letters


class BatchWrite:
    """One batch's writes, in order, and how far they got.

    :meth:`attempt` tries each write once and stops at the first error (kept in
    :attr:`failure`): it may run in a thread of its own. :meth:`complete` writes the rest
    through a :class:`~driftline.consumers.retry.Retry`, the failed write first (its
    first try re-raises the kept error, so the retry counts it as today's first failure).
    """

    def __init__(
        self,
        outputs: Outputs,
        batch: BatchOutputs,
        records: Mapping[int, Sequence[InputRecord]],
        epochs: Mapping[int, int] | None = None,
    ) -> None:
        self.batch = batch
        self.records = records
        self._outputs = outputs
        self.epochs = epochs or {}
        #: Partitions another worker claimed since (their dead letters and alerts are its
        #: to publish; this worker must not checkpoint them).
        self.fenced: set[int] = set()
        self.alerts = list(batch.alerts)
        self.letters = list(batch.dead_letters)
        #: Predictions Redis refused (dead-lettered), and when the sink took the batch.
        self.refused = 0
        self.written_at: datetime | None = None
        self.failure: BaseException | None = None
        # Each step is a function of the write, not a bound method or a closure over it:
        # steps kept on the write that point back at it would make every batch (its
        # records and predictions) a reference cycle, freed only by the cyclic collector,
        # in young collections of tens of milliseconds (docs/performance.md, sixth round).
        self._steps: list[tuple[str, Callable[[BatchWrite], object]]] = [
            ("Redis (predictions)", BatchWrite._predictions)
        ]
        if outputs.fence is not None and self.epochs:
            self._steps.append(("Redis (partition claims)", BatchWrite._fence))
        if batch.points or batch.alerts or batch.findings:
            self._steps.append(("Redis (series, alerts, quality log)", BatchWrite._extras))
        if batch.alerts and outputs.alerts is not None:
            self._steps.append(("Kafka (alerts)", BatchWrite._alerts))
        self._steps.append(("Kafka (dead letters)", BatchWrite._dead_letters))
        self._next = 0

    @property
    def written(self) -> bool:
        """Whether every part of the batch is written."""
        return self._next == len(self._steps)

    def attempt(self) -> None:
        """Each write not made yet, once, in order, until one raises."""
        for _, action in self._steps[self._next :]:
            try:
                action(self)
            except BaseException as exc:  # surfaced in the worker's thread by complete()
                self.failure = exc
                return
            self._next += 1

    def complete(self, retry: Retry) -> None:
        """The writes not made yet, each through ``retry``."""
        for what, action in self._steps[self._next :]:
            failure, self.failure = self.failure, None
            step = partial(action, self)
            retry(what, step if failure is None else _raising_first(failure, step))
            self._next += 1

    def _predictions(self) -> None:
        outputs = self._outputs
        try:
            outputs.sink.write(self.batch.predictions, self.batch.snapshots)
        except WriteRefused as refused:  # the rest is written: these become dead letters
            letters = outputs.refused_letters(refused, self.records)
            self.letters += letters
            self.refused += len(letters)
        self.written_at = outputs.clock()

    def _fence(self) -> None:
        """Leave out the dead letters and alerts of partitions claimed by another worker
        since this batch's were (asked only when the batch has some)."""
        fence = self._outputs.fence
        causes = {alert.partition for alert in self.alerts}
        causes.update(letter.partition for letter in self.letters)
        epochs = {p: epoch for p, epoch in self.epochs.items() if p in causes}
        if fence is None or not epochs:
            return
        taken = fence.taken(epochs)
        if not taken:
            return
        self.fenced = taken
        self.alerts = [alert for alert in self.alerts if alert.partition not in taken]
        self.letters = [letter for letter in self.letters if letter.partition not in taken]
        log.warning(
            "partition(s) %s claimed by another worker since this batch was processed "
            "(or by this one again, after a rebalance): the batch's dead letters and "
            "alerts of them are left to the task restored there, which replays it, and "
            "this state of theirs is never checkpointed",
            sorted(taken),
        )

    def _extras(self) -> None:
        batch = self.batch
        self._outputs.sink.record(batch.points, self.alerts, batch.findings)

    def _alerts(self) -> None:
        alert_sink, replayed = self._outputs.alerts, self._outputs.replayed
        assert alert_sink is not None  # a step only with an alert sink
        alert_sink.publish(
            self.alerts if replayed is None else replayed.unpublished_alerts(self.alerts)
        )

    def _dead_letters(self) -> None:
        replayed = self._outputs.replayed
        if self.letters:
            letters = (
                self.letters if replayed is None else replayed.unpublished_letters(self.letters)
            )
            self._outputs.dead_letters.publish(letters)
        if replayed is not None:  # the last step: the batch's outputs are all published
            replayed.passed({p: held[-1].offset for p, held in self.records.items() if held})


def _raising_first(failure: BaseException, action: Callable[[], object]) -> Callable[[], object]:
    """``action``, whose first call raises ``failure`` instead (a try already made)."""
    pending = [failure]

    def call() -> object:
        if pending:
            raise pending.pop()
        return action()

    return call


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
