"""One partition's task: the prequential skeleton, admit -> predict -> pending -> resolve ->
learn. Pure logic.

A task owns its state (:class:`~driftline.core.task.state.TaskState`: its models, pending
store, dedupe windows, metrics and watermark), as a Kafka Streams task does; the worker
hands it the records of its partition in offset order and writes out what it returns.
Each step is a collaborator's: admission (:mod:`driftline.core.quality.admission`), the
model ensemble (:mod:`driftline.core.learning.ensemble`), the drift watch
(:mod:`driftline.core.drift.watch`) and the outbox (:mod:`driftline.core.task.outbox`).
:meth:`PartitionTask.process` touches no service, so the whole loop runs in a unit test.

>>> from datetime import UTC, datetime
>>> from driftline.core.events.model import Observation, Outcome
>>> from driftline.core.events.codec import EventCodec
>>> codec = EventCodec()
>>> def rec(offset, event):
...     return InputRecord(0, offset, event.key.encode(), codec.encode(event), 1_700_000_000_000)
>>> task = PartitionTask(0, TaskConfig(features=FeatureConfig(raw_only=True)))
>>> obs = Observation(event_id="a", key="k", event_time="2023-11-14T22:13:00Z",
...                   features={"x": 1.0})
>>> out = task.process([rec(0, obs), rec(1, obs), rec(2, Outcome(event_id="a", key="k",
...                     event_time="2023-11-14T22:13:10Z", label=True))],
...                    processed_at=datetime(2023, 11, 14, 22, 14, tzinfo=UTC))
>>> len(out.predictions), task.metrics.counts["duplicates"], task.metrics.counts["learned"]
(1, 1, 1)
>>> task.next_offset, len(task.pending)
(3, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from driftline.core.drift.watch import DriftWatch
from driftline.core.errors import DecodeError
from driftline.core.events.codec import EventCodec
from driftline.core.events.control import ControlCommand
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.events.ticks import WatermarkTick
from driftline.core.learning.contenders import ModelSlot
from driftline.core.learning.ensemble import Ensemble, RollbackSource, Served
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.history import LabelHistory
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.learning.pending import EarlyOutcomes, PendingEntry, PendingStore
from driftline.core.learning.user_features import FeatureFunctionFailed, ModelInput
from driftline.core.quality.admission import Admission, Refusal
from driftline.core.quality.figures import QualityMetrics
from driftline.core.quality.reasons import Rule
from driftline.core.quality.rules import Verdict
from driftline.core.task.config import DriftConfig, TaskConfig
from driftline.core.task.fingerprint import config_fingerprint
from driftline.core.task.outbox import Outbox, TaskOutput
from driftline.core.task.state import StateView, TaskState
from driftline.core.times import from_millis

__all__ = [
    "DriftConfig",
    "FeatureConfig",
    "InputRecord",
    "PartitionTask",
    "RollbackSource",
    "TaskConfig",
    "TaskOutput",
]


class PartitionTask:
    """The prequential step of one partition over its state, with its collaborators:
    admission, the model ensemble, the drift watch and the outbox."""

    def __init__(
        self,
        partition: int,
        config: TaskConfig,
        state: TaskState | None = None,
        *,
        rollback: RollbackSource | None = None,
        codec: EventCodec | None = None,
        restored_from: dict[str, Any] | None = None,
    ) -> None:
        self.partition, self.config = partition, config
        #: Everything the task learned from its records (see :mod:`driftline.core.task.state`).
        self.state = state = state if state is not None else TaskState.fresh(config)
        #: What every prediction carries: which configuration made it.
        self.fingerprint = config_fingerprint(config)
        self.codec = codec or EventCodec()
        #: The model's input: the feature function's output, else the feature steps.
        self.inputs = ModelInput(config.features, config.feature_function)
        models, metrics = state.models, state.metrics
        self.kind = models.kind
        #: Where predictions, dead letters, quality findings and alerts go.
        self.outbox = Outbox(partition, metrics, state.quality)
        #: Whether an event may be used, and what of it.
        self.admission = Admission(
            config, models.kind, models.multiclass, state.admission, metrics, state.quality
        )
        #: The champion and its challengers.
        self.ensemble = Ensemble(config, models, metrics, self.outbox, partition, rollback)
        #: The drift monitors, and what their alarms do to the models.
        self.watch = DriftWatch(config.drift, state.monitors, self.ensemble, self.outbox)
        #: The watermark waits the stream's allowed lateness.
        self._lateness = timedelta(seconds=self.admission.allowed_lateness_s)
        #: The header of the checkpoint this task was restored from (None: fresh), and its
        #: model version.
        self.restored_from = restored_from
        self.parent_version: int | None = (restored_from or {}).get("model_version")

    # -- the state's parts, as the task's own -------------------------------------------
    slots = StateView[dict[str, ModelSlot]]("models", "slots")
    champion = StateView[str]("models", "champion")
    metrics = StateView[TaskMetrics]("metrics")
    pending = StateView[PendingStore]("pending")
    early = StateView[EarlyOutcomes]("early")
    history = StateView[LabelHistory | None]("history")
    quality = StateView[QualityMetrics]("quality")
    contract_state = StateView[Any]("admission", "contract_state")
    max_event_time = StateView[datetime | None]("max_event_time")
    next_offset = StateView[int | None]("next_offset", writable=True)

    @property
    def rollback_source(self) -> RollbackSource | None:
        """Where a rollback command finds a kept checkpoint's models."""
        return self.ensemble.rollback

    @rollback_source.setter
    def rollback_source(self, source: RollbackSource | None) -> None:
        self.ensemble.rollback = source

    @property
    def model(self) -> Any:
        """The champion's River model."""
        return self.ensemble.champion.model

    @property
    def model_version(self) -> int:
        """The champion's version (changes with each label it learns)."""
        return self.ensemble.champion.version

    @property
    def guard_scale(self) -> dict[str, float]:
        """The champion's largest magnitude learned per feature beyond ``guard_above``
        (the label's name is ``"\\x00label"``)."""
        return self.ensemble.champion.guard_scale

    @property
    def watermark(self) -> datetime | None:
        """Highest event time seen minus the allowed lateness."""
        if self.state.max_event_time is None:
            return None
        return self.state.max_event_time - self._lateness

    def process(self, records: Sequence[InputRecord], processed_at: datetime) -> TaskOutput:
        """Handle ``records`` (this partition's, in offset order); never raises for bad data.

        Only events that pass every rule move the watermark: one record with a skewed
        clock must not expire everything that is pending. Watermark ticks
        (:mod:`driftline.core.events.ticks`) move it when the partition has been idle.
        """
        out, outbox, state = self.outbox.open(), self.outbox, self.state
        counts = state.metrics.counts
        for record in records:
            state.next_offset = record.offset + 1
            outbox.at(record)
            refused = self.config.quality.check_record(record.value, record.timestamp_ms)
            if refused is not None:
                counts["records"] += 1
                outbox.dead_letter(record, *refused, None)
                continue
            ingest_time = from_millis(record.timestamp_ms)
            try:
                event = self.codec.decode(record.value)
            except DecodeError as exc:
                counts["records"] += 1
                outbox.dead_letter(record, exc.reason, exc.detail, None)
                continue
            exact = type(event)  # the usual two kinds first: no isinstance chain
            other = exact is not Observation and exact is not Outcome
            if other and _worker_record(self, event, record, ingest_time, out):
                continue
            usable: Event = event  # type: ignore[assignment]  # ticks and commands went on
            counts["records"] += 1
            outbox.event = (usable.event_id, usable.kind)
            # (mypy does not narrow on a stored type: the two ignores below)
            if exact is Observation or (exact is not Outcome and isinstance(usable, Observation)):
                accepted = self._observe(usable, record, ingest_time, processed_at)  # type: ignore[arg-type]
            else:
                accepted = self._resolve(usable, record, ingest_time)  # type: ignore[arg-type]
            if accepted:
                state.idle_clock.saw(usable.event_time, ingest_time)
                self._advance(usable.event_time, out)
        counts["pending"] = len(state.pending)
        outbox.points(self.slots.values())
        return out

    def advance_watermark(self, to: datetime) -> TaskOutput:
        """Move the watermark forward to ``to`` (never back) and expire what it passes.

        The output holds the dead letters of early outcomes that expired on the way.
        """
        out = self.outbox.open()
        self._advance(to + self._lateness, out)
        self.state.metrics.counts["pending"] = len(self.state.pending)
        return out

    def _advance(self, event_time: datetime, out: TaskOutput) -> None:
        """Event time reached ``event_time`` (a frontier moved by an idle tick stays an
        event time, so the watermark stays the allowed lateness behind it): expire what
        the watermark passed."""
        state = self.state
        if state.max_event_time is None or event_time > state.max_event_time:
            state.max_event_time = event_time
        watermark = self.watermark
        if watermark is None:
            return
        expired = state.pending.expire(watermark)
        if expired:
            state.metrics.counts["expired"] += len(expired)
            out.expired += len(expired)
        for outcome, record in state.early.expire(watermark):
            detail = f"{outcome.event_id}: no observation arrived within the pending TTL"
            letter = (record, Rule.UNKNOWN_OBSERVATION, detail, "outcome")
            self.outbox.dead_letter(*letter, event=(outcome.event_id, "outcome"))

    # -- admit, predict, pend; resolve, learn -------------------------------------------------
    def _observe(
        self, obs: Observation, record: InputRecord, ingest_time: datetime, processed_at: datetime
    ) -> bool:
        """Admit an observation, predict it and keep it pending; whether it was valid."""
        admitted = self.admission.observation(obs, record.key, ingest_time)
        if admitted.late is not None:  # the late share crossed a bound: an alert
            self.outbox.late(admitted.late, obs.event_time, self.ensemble.champion)
        if isinstance(admitted, Refusal):
            self._refuse(obs, record, admitted)
            return False
        if admitted.findings:
            action = "accepted" if admitted.learn else "predicted-only"
            self.outbox.found(record, admitted.findings, action)
        self.state.metrics.lateness.add(admitted.lateness_s)
        try:  # the feature function's output, if any, is what is predicted and pending
            features = self.inputs.features(obs, admitted.features)
        except FeatureFunctionFailed as exc:
            return self._unanswered(obs, record, exc.reason, str(exc))
        self.watch.features(features, obs.event_time)
        x, groups = self.inputs.build(obs, ingest_time, features, self.state.history)
        served = self.ensemble.predict_one(x)
        if not isinstance(served, Served):  # the model cannot answer it: a dead letter
            return self._unanswered(obs, record, *served)
        slot = served.slot
        self.state.pending.add(
            PendingEntry(
                obs.event_id,
                obs.key,
                obs.event_time,
                x,
                served.prediction,
                served.probabilities,
                slot.version,
                groups,
                served.decision,
                slot.name,
                served.by_model,
                admitted.learn,
            )
        )
        self.outbox.prediction(record, obs, ingest_time, processed_at, served, self.fingerprint)
        waiting = self.state.early.take(obs.event_id)
        if waiting is not None:  # its outcome came first: predicted above, now learn
            early, outcome_record = waiting
            entry = self.state.pending.pop(obs.event_id)
            refused = self._learn(entry, early.label, early.event_time)
            if refused is not None:
                event = (obs.event_id, "outcome")
                self.outbox.dead_letter(outcome_record, *refused, "outcome", event=event)
        return True

    def _unanswered(self, obs: Observation, record: InputRecord, reason: str, why: str) -> bool:
        """No prediction for a valid observation: a dead letter (its id may come again)."""
        self.admission.retract(obs.event_id)
        detail = f"{obs.event_id}: {why}"[:1000]
        self.outbox.dead_letter(record, reason, detail, "observation")
        return True

    def _refuse(self, obs: Observation, record: InputRecord, refusal: Refusal) -> None:
        """A refused observation: dropped (a duplicate) or dead-lettered, and then so is
        the outcome that came before it, if any (it may come again, once corrected)."""
        if refusal.dropped:
            self.outbox.found(record, refusal.findings or [], "dropped")
            return
        reason = refusal.reason
        self.outbox.dead_letter(record, reason, refusal.detail, "observation", refusal.findings)
        waiting = self.state.early.take(obs.event_id)
        if waiting is not None:
            self.admission.reopen(obs.event_id)
            detail = f"{obs.event_id}: its observation was dead-lettered ({reason})"
            letter = (waiting[1], Rule.UNKNOWN_OBSERVATION, detail, "outcome")
            self.outbox.dead_letter(*letter, event=(obs.event_id, "outcome"))

    def _resolve(self, outcome: Outcome, record: InputRecord, ingest_time: datetime) -> bool:
        """Admit an outcome and learn its pending observation (or hold it for one to come);
        whether it was valid."""
        held = outcome.event_id in self.state.early
        refusal = self.admission.outcome(outcome, record.key, ingest_time, held)
        if refusal is not None:
            if refusal.dropped:
                self.outbox.found(record, refusal.findings or [], "dropped")
            else:
                self.outbox.dead_letter(record, refusal.reason, refusal.detail, "outcome")
            return refusal.valid
        entry = self.state.pending.pop(outcome.event_id)
        if entry is not None:
            refused = self._learn(entry, outcome.label, outcome.event_time)
            if refused is not None:
                self.outbox.dead_letter(record, *refused, "outcome")
        elif self.state.pending.was_expired(outcome.event_id):
            detail = f"{outcome.event_id}: its observation expired unlabelled"
            self.outbox.dead_letter(record, Rule.EXPIRED_OBSERVATION, detail, "outcome")
        elif self.admission.admitted(outcome.event_id):
            detail = f"{outcome.event_id}: its observation is no longer pending"
            self.outbox.dead_letter(record, Rule.UNKNOWN_OBSERVATION, detail, "outcome")
        else:
            self.state.early.hold(outcome.event_id, outcome.event_time, (outcome, record))
            self.state.metrics.counts["early_outcomes"] += 1
        return True

    def _learn(self, entry: PendingEntry | None, label: Any, at: datetime) -> Verdict:
        """Each model scores its stored answer and learns the label (the ensemble), the
        drift watch sees it, and the history once the champion learned it (``None``; else
        the dead letter's reason)."""
        if entry is None:
            return None
        verdict = self.ensemble.learn_one(entry, label, at, self.watch.errors)
        if not entry.learn:  # late, predict-only: scored, not learned
            return None
        self.watch.labels(label, at)
        if verdict is not None:
            return verdict
        if self.state.history is not None and entry.groups:
            self.state.history.update(entry.groups, label, event_time=at)
        self.state.metrics.counts["learned"] += 1
        self.ensemble.promote_if_better(at)
        return None

    def snapshot(self) -> dict[str, Any]:
        """Metrics snapshot with the task's identity, JSON-ready."""
        snap = self.state.metrics.snapshot()
        snap["counts"]["pending"] = len(self.state.pending)
        snap["counts"]["early_outcomes_waiting"] = len(self.state.early)
        models = self.ensemble.describe()
        snap["quality"] = self.state.quality.snapshot()
        return snap | {
            "partition": self.partition,
            "champion": self.champion,
            "models": models,
            "model_version": self.model_version,
            "next_offset": self.state.next_offset,
            "watermark": self.watermark.isoformat() if self.watermark else None,
        }


def _worker_record(
    task: PartitionTask,
    event: Event | WatermarkTick | ControlCommand,
    record: InputRecord,
    ingest_time: datetime,
    out: TaskOutput,
) -> bool:
    """Handle a watermark tick or a control command for ``task``; ``False`` for an event."""
    state = task.state
    counts = state.metrics.counts
    if isinstance(event, WatermarkTick):
        counts["watermark_ticks"] += 1
        out.ticks += 1
        frontier = state.idle_clock.tick(ingest_time, task.config.idle_watermark_s)
        if frontier is not None:  # idle long enough: event time moves on
            task._advance(frontier, out)
        return True
    if isinstance(event, ControlCommand):
        counts["controls"] += 1
        out.controls += 1
        disobeyed = task.ensemble.obey(event, state.max_event_time)
        if disobeyed is not None:
            task.outbox.dead_letter(record, *disobeyed, None)
        return True
    return False
