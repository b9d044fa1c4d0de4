"""One partition's task: decode, validate, dedupe, predict, learn, score. Pure logic.

A task owns its model, pending store, dedupe windows, metrics and watermark, as a Kafka
Streams task does; the worker hands it the records of its partition in offset order and
writes out what it returns. :meth:`PartitionTask.process` touches no service, so the
whole prequential loop runs in a unit test.

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

import math
import pickle
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from river import base, compose

from driftline.core.drift.monitors import (
    Alarm,
    DriftAction,
)
from driftline.core.errors import DecodeError
from driftline.core.events.codec import EventCodec
from driftline.core.events.control import ControlCommand
from driftline.core.events.model import Observation, Outcome
from driftline.core.events.records import InputRecord, Prediction
from driftline.core.events.ticks import WatermarkTick
from driftline.core.learning.contenders import ModelSlot
from driftline.core.learning.costs import positive_class
from driftline.core.learning.features import FeatureBuilder, FeatureConfig
from driftline.core.learning.history import LabelHistory
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.learning.models import build_model, model_kind
from driftline.core.learning.pending import EarlyOutcomes, PendingEntry, PendingStore
from driftline.core.quality.admission import Admission, Refusal
from driftline.core.quality.figures import (
    QualityMetrics,
)
from driftline.core.quality.rules import Verdict
from driftline.core.task.config import DriftConfig, TaskConfig
from driftline.core.task.fingerprint import config_fingerprint
from driftline.core.task.outbox import Outbox, TaskOutput
from driftline.core.task.seal import CheckpointError
from driftline.core.task.state import TaskState
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

#: Finds the models of a kept checkpoint (partition, next offset): the champion's name and
#: each model by name, or ``None`` when that checkpoint is no longer kept.
RollbackSource = Callable[[int, int], "tuple[str, dict[str, Any]] | None"]


class PartitionTask:
    """The state and the prequential step of one partition."""

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
        self.partition = partition
        self.config = config
        #: Everything the task learned from its records (see :mod:`driftline.core.task.state`).
        self.state = state if state is not None else TaskState.fresh(config)
        #: What every prediction carries: which configuration made it.
        self.fingerprint = config_fingerprint(config)
        self.codec = codec or EventCodec()
        first = self.state.slots[config.model_name].model if state is None else None
        first = first if first is not None else build_model(config.model, config.seed)
        self.kind = model_kind(first)
        self._multiclass = _is_multiclass(first)
        #: Whether an event may be used, and what of it.
        self.admission = Admission(
            config,
            self.kind,
            self._multiclass,
            self.state.admission,
            self.state.metrics,
            self.state.quality,
        )
        #: The watermark waits the stream's allowed lateness.
        self._lateness = timedelta(seconds=self.admission.allowed_lateness_s)
        self.features = FeatureBuilder(config.features)
        #: Where a rollback command finds a kept checkpoint's models.
        self.rollback_source = rollback
        #: Where dead letters, quality findings and alerts go.
        self.outbox = Outbox(partition, self.state.metrics, self.state.quality)
        #: The header of the checkpoint this task was restored from (None: fresh), and
        #: its model version.
        self.restored_from = restored_from
        self.parent_version: int | None = (
            restored_from["model_version"] if restored_from is not None else None
        )

    # -- the state's parts, as the task's -------------------------------------------------
    @property
    def slots(self) -> dict[str, ModelSlot]:
        """The task's models by name; the champion's predictions are served."""
        return self.state.slots

    @property
    def champion(self) -> str:
        return self.state.champion

    @property
    def metrics(self) -> TaskMetrics:
        return self.state.metrics

    @property
    def pending(self) -> PendingStore:
        return self.state.pending

    @property
    def early(self) -> EarlyOutcomes:
        return self.state.early

    @property
    def history(self) -> LabelHistory | None:
        return self.state.history

    @property
    def quality(self) -> QualityMetrics:
        return self.state.quality

    @property
    def contract_state(self) -> Any:
        return self.state.admission.contract_state

    @property
    def max_event_time(self) -> datetime | None:
        return self.state.max_event_time

    @property
    def next_offset(self) -> int | None:
        return self.state.next_offset

    @next_offset.setter
    def next_offset(self, offset: int | None) -> None:
        self.state.next_offset = offset

    # -- the champion, as the task's model -----------------------------------------------
    @property
    def champion_slot(self) -> ModelSlot:
        return self.state.slots[self.state.champion]

    @property
    def model(self) -> Any:
        """The champion's River model."""
        return self.champion_slot.model

    @model.setter
    def model(self, model: Any) -> None:
        self.champion_slot.model = model

    @property
    def model_version(self) -> int:
        """The champion's version (changes with each label it learns)."""
        return self.champion_slot.version

    @model_version.setter
    def model_version(self, version: int) -> None:
        self.champion_slot.version = version

    @property
    def guard_scale(self) -> dict[str, float]:
        """The champion's largest magnitude learned per feature beyond ``guard_above``
        (the label's name is ``"\\x00label"``)."""
        return self.champion_slot.guard_scale

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
        out = self.outbox.open()
        counts = self.state.metrics.counts
        for record in records:
            self.state.next_offset = record.offset + 1
            self.outbox.at(record)
            refused = self.config.quality.check_record(record.value, record.timestamp_ms)
            if refused is not None:
                counts["records"] += 1
                self.outbox.dead_letter(record, *refused, None)
                continue
            ingest_time = from_millis(record.timestamp_ms)
            try:
                event = self.codec.decode(record.value)
            except DecodeError as exc:
                counts["records"] += 1
                self.outbox.dead_letter(record, exc.reason, exc.detail, None)
                continue
            if isinstance(event, WatermarkTick):
                counts["watermark_ticks"] += 1
                out.ticks += 1
                self._tick(ingest_time, out)
                continue
            if isinstance(event, ControlCommand):
                counts["controls"] += 1
                out.controls += 1
                self._obey(event, record, out)
                continue
            counts["records"] += 1
            self.outbox.event = (event.event_id, event.kind)
            if isinstance(event, Observation):
                accepted = self._observe(event, record, ingest_time, processed_at, out)
            else:
                accepted = self._resolve(event, record, ingest_time, out)
            if accepted:
                self.state.idle_clock.saw(event.event_time, ingest_time)
                self._advance(event.event_time, out)
        counts["pending"] = len(self.state.pending)
        self.outbox.points(self.state.slots.values())
        return out

    def advance_watermark(self, to: datetime) -> TaskOutput:
        """Move the watermark forward to ``to`` (never back) and expire what it passes.

        The output holds the dead letters of early outcomes that expired on the way.
        """
        out = self.outbox.open()
        self._advance(to + self._lateness, out)
        self.state.metrics.counts["pending"] = len(self.state.pending)
        return out

    def _tick(self, ingest_time: datetime, out: TaskOutput) -> None:
        """A watermark tick: if the partition was idle long enough, event time moves on.

        The frontier is an event time (the last one seen plus the idle time), so it moves
        the highest event time, and the watermark stays the allowed lateness behind it:
        an idle partition expires no sooner than a busy one at the same event time.
        """
        frontier = self.state.idle_clock.tick(ingest_time, self.config.idle_watermark_s)
        if frontier is not None:
            self._advance(frontier, out)

    # -- steps -----------------------------------------------------------------------------
    def _observe(
        self,
        obs: Observation,
        record: InputRecord,
        ingest_time: datetime,
        processed_at: datetime,
        out: TaskOutput,
    ) -> bool:
        counts = self.state.metrics.counts
        admitted = self.admission.observation(obs, record.key, ingest_time)
        if admitted.late is not None:
            self._late_alert(admitted.late, obs.event_time)
        if isinstance(admitted, Refusal):
            if admitted.dropped:
                self.outbox.found(record, admitted.findings or [], "dropped")
            else:
                self._refuse(obs, record, admitted)
            return False
        learn = admitted.learn
        if admitted.findings:
            self.outbox.found(record, admitted.findings, "accepted" if learn else "predicted-only")
        features = admitted.features
        self.state.metrics.lateness.add(admitted.lateness_s)
        if self.state.feature_monitor is not None:
            alarms = self.state.feature_monitor.update(features)
            if alarms:
                self._on_alarms(alarms, obs.event_time, self.config.drift.features_action, out)
        x = self.features.build(obs, ingest_time, features)
        groups = None
        if self.state.history is not None:
            groups = self.state.history.groups_of(obs.key, features)
            # as of the observation's event time: an outcome learned earlier whose event
            # is later (out of order) is not known yet at this point in time
            x.update(self.state.history.features(groups, as_of=obs.event_time))
        champion = self.state.slots[self.state.champion]
        try:
            prediction, probabilities = self._predict(x, champion)
        except Exception as exc:  # a River model refusing this input must not stop the task
            self._unpredictable(out, obs, record, f"the model failed on it: {exc!r}")
            return True
        if not _finite(prediction, probabilities):
            # The model cannot answer this input with numbers: say so, write no NaN.
            detail = f"the model's output is not finite ({prediction!r})"
            self._unpredictable(out, obs, record, detail, "non-finite-prediction")
            return True
        decision = champion.decide(prediction, probabilities)
        by_model = None
        if len(self.state.slots) > 1:
            by_model = {champion.name: (prediction, probabilities, decision)}
            for slot in self.state.slots.values():
                if slot is not champion:
                    by_model[slot.name] = self._challenger_predicts(slot, x)
        entry = PendingEntry(
            obs.event_id,
            obs.key,
            obs.event_time,
            x,
            prediction,
            probabilities,
            champion.version,
            groups,
            decision,
            champion.name,
            by_model,
            learn,
        )
        self.state.pending.add(entry)
        counts["predictions"] += 1
        out.predictions.append(
            Prediction(
                key=obs.key,
                event_id=obs.event_id,
                partition=record.partition,
                offset=record.offset,
                event_time=obs.event_time,
                ingest_time=ingest_time,
                predicted_time=processed_at,
                prediction=prediction,
                probabilities=probabilities,
                model_version=champion.version,
                model=champion.name,
                decision=decision,
                threshold=champion.threshold,
                config=self.fingerprint,
            )
        )
        waiting = self.state.early.take(obs.event_id)
        if waiting is not None:  # its outcome came first: predicted above, now learn
            early_outcome, outcome_record = waiting
            held = self.state.pending.pop(obs.event_id)
            refused = self._learn(held, early_outcome.label, early_outcome.event_time, out)
            if refused is not None:
                self.outbox.dead_letter(
                    outcome_record, *refused, "outcome", event=(obs.event_id, "outcome")
                )
        return True

    def _refuse(self, obs: Observation, record: InputRecord, refusal: Refusal) -> None:
        """A dead-lettered observation, and the outcome that came before it, if any."""
        reason = refusal.reason
        self.outbox.dead_letter(record, reason, refusal.detail, "observation", refusal.findings)
        waiting = self.state.early.take(obs.event_id)
        if waiting is not None:  # its outcome came first and now has nothing to resolve
            _, outcome_record = waiting
            # ... so it may be sent again with the corrected observation
            self.admission.reopen(obs.event_id)
            detail = f"{obs.event_id}: its observation was dead-lettered ({reason})"
            self.outbox.dead_letter(
                outcome_record,
                "unknown-observation",
                detail,
                "outcome",
                event=(obs.event_id, "outcome"),
            )

    def _unpredictable(
        self,
        out: TaskOutput,
        obs: Observation,
        record: InputRecord,
        detail: str,
        reason: str = "model-error",
    ) -> None:
        """An accepted observation the model cannot predict: a dead letter, not pending."""
        self.admission.retract(obs.event_id)
        self.outbox.dead_letter(record, reason, f"{obs.event_id}: {detail}"[:1000], "observation")

    def _challenger_predicts(
        self, slot: ModelSlot, x: dict[str, Any]
    ) -> tuple[Any, dict[Any, float] | None, Any]:
        """A challenger's (prediction, probabilities, decision); nothing if it fails."""
        try:
            prediction, probabilities = self._predict(x, slot)
        except Exception:  # a challenger's failure is its own: it is not scored
            return None, None, None
        if not _finite(prediction, probabilities):
            return None, None, None
        return prediction, probabilities, slot.decide(prediction, probabilities)

    def _predict(
        self, x: dict[str, Any], slot: ModelSlot, model: Any = None
    ) -> tuple[Any, dict[Any, float] | None]:
        model = slot.model if model is None else model
        if self.kind != "classification":
            return model.predict_one(x), None
        probabilities = model.predict_proba_one(x)
        if slot.argmax:
            # River's own Classifier.predict_one is exactly this argmax: skip a second pass.
            prediction = max(probabilities, key=probabilities.get) if probabilities else None
        else:
            prediction = model.predict_one(x)
        return prediction, probabilities

    def _resolve(
        self, outcome: Outcome, record: InputRecord, ingest_time: datetime, out: TaskOutput
    ) -> bool:
        held = outcome.event_id in self.state.early
        refusal = self.admission.outcome(outcome, record.key, ingest_time, held)
        if refusal is not None:
            if refusal.dropped:
                self.outbox.found(record, refusal.findings or [], "dropped")
            else:
                self.outbox.dead_letter(record, refusal.reason, refusal.detail, "outcome")
            return refusal.valid
        counts = self.state.metrics.counts
        entry = self.state.pending.pop(outcome.event_id)
        if entry is not None:
            refused = self._learn(entry, outcome.label, outcome.event_time, out)
            if refused is not None:
                self.outbox.dead_letter(record, *refused, "outcome")
        elif self.state.pending.was_expired(outcome.event_id):
            detail = f"{outcome.event_id}: its observation expired unlabelled"
            self.outbox.dead_letter(record, "expired-observation", detail, "outcome")
        elif self.admission.admitted(outcome.event_id):
            detail = f"{outcome.event_id}: its observation is no longer pending"
            self.outbox.dead_letter(record, "unknown-observation", detail, "outcome")
        else:
            self.state.early.hold(outcome.event_id, outcome.event_time, (outcome, record))
            counts["early_outcomes"] += 1
        return True

    def _learn(
        self, entry: PendingEntry | None, label: Any, at: datetime, out: TaskOutput
    ) -> Verdict:
        """Score every model's stored prediction, then let each learn from the stored vector.

        The served prediction is scored in the task's metrics; with several models each is
        scored in its own too, on the same label (the champion's scores are the served ones
        only until a promotion). Then the decision thresholds and each challenger's losses
        paired with the champion's (``None`` for a model that gave no answer: see
        :class:`~driftline.core.learning.contenders.PairedLosses`) take the label; each model learns
        it (see :meth:`_learn_slot` for the guard) and its drift detector sees its error.
        Returns ``None`` once the champion learned, else the dead letter's reason.
        """
        if entry is None:
            return None
        served = self.state.metrics.score(
            label, entry.prediction, entry.probabilities, entry.decision, at
        )
        if not entry.learn:  # late, predict-only: the served prediction is scored, no more
            self.state.metrics.counts["late_not_learned"] += 1
            return None
        big = self._large(entry.x, label)
        verdict: Verdict = None
        champion = self.state.champion
        predictions: list[tuple[ModelSlot, Any]] = []
        losses: dict[str, float | None] = {}
        for slot in self.state.slots.values():
            if entry.by_model is None:  # one model: the served scores are its own
                prediction, probabilities, loss = entry.prediction, entry.probabilities, served
            else:
                prediction, probabilities, decision = entry.by_model.get(
                    slot.name, (None, None, None)
                )
                loss = slot.metrics.score(label, prediction, probabilities, decision, at)
            self._after_score(slot, label, probabilities, loss)
            predictions.append((slot, prediction))
            losses[slot.name] = loss
        if len(self.state.slots) > 1:  # each challenger's loss beside the champion's, or none
            window = self.config.promotion.window
            for slot in self.state.slots.values():
                if slot.name != champion:
                    slot.contest.add(losses[champion], losses[slot.name], window)
        for slot, prediction in predictions:
            refused = self._learn_slot(slot, entry.x, label, big, slot.name == champion)
            if slot.name == champion:
                verdict = refused
            if slot.monitor is not None and prediction is not None:
                self._watch_errors(slot, label, prediction, at, out)
        if self.state.label_monitor is not None:
            alarms = self.state.label_monitor.update(label)
            if alarms:
                self._on_alarms(alarms, at, self.config.drift.labels_action, out)
        if verdict is not None:
            return verdict
        if self.state.history is not None and entry.groups:
            self.state.history.update(entry.groups, label, event_time=at)
        self.state.metrics.counts["learned"] += 1
        if len(self.state.slots) > 1:
            self._maybe_promote(at, out)
        return None

    def _after_score(
        self, slot: ModelSlot, label: Any, probabilities: dict[Any, float] | None, loss: Any
    ) -> None:
        """What a scored label teaches a model's bookkeeping: its decision threshold and,
        with challengers about, its loss window."""
        if slot.tuner is not None and probabilities:
            labels = positive_class(probabilities)
            if labels is not None:
                slot.tuner.update(probabilities.get(labels[0], 0.0), label == True)  # noqa: E712
        if loss is not None and len(self.state.slots) > 1:
            slot.add_loss(loss, self.config.promotion.window)

    def _learn_slot(
        self,
        slot: ModelSlot,
        x: dict[str, Any],
        label: Any,
        big: list[tuple[str, float]],
        champion: bool,
    ) -> Verdict:
        """One model learns one step, guarded.

        A step with a large number in it (beyond ``config.guard_above``, and more than
        ``GUARD_GROWTH`` times any learned for its feature) is learned on a copy first: if
        the model's answer for that input is no longer finite, the copy is dropped and the
        model stays as it was. A step the model raises on is refused too (a River model may
        have changed part of its state by then: deterministically, so replays agree).
        """
        counts = self.state.metrics.counts if champion else slot.metrics.counts
        try:
            if big and _risky(big, slot.guard_scale):
                # A copy through pickle: the state a deep copy gives, in half the time.
                trial = pickle.loads(pickle.dumps(slot.model, protocol=5))  # noqa: S301 - ours
                trial.learn_one(x, label)
                if not _finite(*self._predict(x, slot, trial)):
                    counts["refused"] += 1
                    return "non-finite-learning", _NON_FINITE
                slot.model = trial
            else:
                slot.model.learn_one(x, label)
        except Exception as exc:  # a River model refusing the step: count it, go on
            counts["refused"] += 1
            return "model-error", f"the model failed to learn it: {exc!r}"[:1000]
        for name, size in big:  # learned: these magnitudes are known now
            if size > slot.guard_scale.get(name, 0.0):
                slot.guard_scale[name] = size
        slot.version += 1
        if slot.background is not None:
            try:
                slot.background.learn_one(x, label)
            except Exception:  # a background model that cannot learn this is dropped
                slot.background = None
        return None

    # -- drift -------------------------------------------------------------------------------
    def _watch_errors(
        self, slot: ModelSlot, label: Any, prediction: Any, at: datetime, out: TaskOutput
    ) -> None:
        """Feed a model's error to its concept-drift detector, and act on an alarm."""
        if self.kind == "classification":
            error: float = 0.0 if prediction == label else 1.0
        else:
            error = abs(float(label) - float(prediction))
        alarm = slot.monitor.update(error)
        if alarm is None:
            if slot.background is not None and not slot.monitor.in_warning:
                # the warning ended with no drift: its background learned the old concept
                slot.background = None
            return
        action = self.config.drift.concept_action
        if alarm.signal == "warning":
            if action == "swap":  # a background model learns from now on
                slot.background = slot.fresh_model()
            self._drift_alert(alarm, at, slot, "none")
            return
        self._drift_alert(alarm, at, slot, action)
        self._replace(slot, action)

    def _on_alarms(
        self, alarms: list[Alarm], at: datetime, action: DriftAction, out: TaskOutput
    ) -> None:
        """Feature and label alarms: an alert each; a drift's action applies to every model."""
        champion = self.state.slots[self.state.champion]
        for alarm in alarms:
            acted = action if alarm.signal == "drift" else "none"
            self._drift_alert(alarm, at, champion, acted)
            if acted != "none":
                for slot in self.state.slots.values():
                    self._replace(slot, acted)

    def _replace(self, slot: ModelSlot, action: str) -> None:
        if action == "none":
            return
        background = slot.background if action == "swap" else None
        slot.replace_model(background if background is not None else slot.fresh_model())
        slot.argmax = _predict_is_argmax(slot.model)
        self.state.metrics.counts["models_replaced"] += 1
        if slot.name == self.state.champion:
            self._new_contest()

    def _new_contest(self) -> None:
        """Another champion, or a new model in its place: the pairs of losses so far
        compared the challengers with what served before."""
        for slot in self.state.slots.values():
            slot.contest.clear()

    def _drift_alert(self, alarm: Alarm, at: datetime, slot: ModelSlot, action: str) -> None:
        self.outbox.alert(
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

    # -- champion and challengers ----------------------------------------------------------
    def _maybe_promote(self, at: datetime | None, out: TaskOutput) -> None:
        """Promote a challenger that beat the champion over the last window of labels; a
        new champion is not challenged before a whole window of its own (no flip-flop)."""
        rule = self.config.promotion
        self.state.since_promotion += 1
        if self.state.since_promotion < rule.window:
            return
        winner = rule.challenger_to_promote(
            [slot for name, slot in self.state.slots.items() if name != self.state.champion]
        )
        if winner is not None:
            champion_loss, challenger_loss = winner.contest.means()
            evidence = {
                "champion_loss": champion_loss,
                "challenger_loss": challenger_loss,
                "labels_compared": winner.contest.both,
                "margin": rule.margin,
            }
            self._promote(winner, "window-loss", evidence, rule.window, at, out)

    def _promote(
        self,
        winner: ModelSlot,
        how: str,
        evidence: dict[str, Any],
        window: int,
        at: datetime | None,
        out: TaskOutput,
    ) -> None:
        former = self.state.champion
        self.state.champion = winner.name
        self.state.since_promotion = 0
        self._new_contest()
        self.state.metrics.counts["promotions"] += 1
        self.outbox.alert(
            "promotion",
            winner.name,
            "promoted",
            how,
            evidence | {"former_champion": former},
            window,
            at,
            winner,
            "promote",
        )

    def _obey(self, command: ControlCommand, record: InputRecord, out: TaskOutput) -> None:
        """A control command, at its offset (see :mod:`driftline.core.events.control`)."""
        at = self.state.max_event_time
        if command.command == "promote":
            slot = self.state.slots.get(command.argument)
            if slot is None:
                known = ", ".join(self.state.slots)
                detail = f"promote {command.argument!r}: no such model (models: {known})"
                self.outbox.dead_letter(record, "unknown-model", detail, None)
            elif slot.name != self.state.champion:
                self._promote(slot, "command", {"issued_by": command.issued_by}, 0, at, out)
            return
        try:
            offset = int(command.argument)
        except ValueError:
            detail = f"rollback {command.argument!r}: not a checkpoint's offset"
            self.outbox.dead_letter(record, "bad-control", detail, None)
            return
        try:
            found = self.rollback_source(self.partition, offset) if self.rollback_source else None
        except CheckpointError as exc:  # forged, or another format: the same on every replay
            detail = f"rollback to partition {self.partition}@{offset}: {exc}"
            self.outbox.dead_letter(record, "rollback-refused", detail[:1000], None)
            return
        if found is None:
            detail = (
                f"rollback to partition {self.partition}'s checkpoint at offset {offset}: "
                "no such checkpoint is kept (see 'driftline model history')"
            )
            self.outbox.dead_letter(record, "rollback-unavailable", detail, None)
            return
        champion, models = found
        for name, model in models.items():
            slot = self.state.slots.get(name)
            if slot is not None:
                slot.replace_model(model)
                slot.argmax = _predict_is_argmax(model)
        if champion in self.state.slots:
            self.state.champion = champion
        self._new_contest()
        self.state.metrics.counts["rollbacks"] += 1
        slot = self.state.slots[self.state.champion]
        statistic = {"checkpoint_offset": offset, "issued_by": command.issued_by}
        self.outbox.alert(
            "rollback", slot.name, "rolled-back", "command", statistic, 0, at, slot, "rollback"
        )

    def _late_alert(self, signal: str, at: datetime) -> None:
        """The late share crossed its bound: learning stopped (``starved``) or resumed."""
        statistic = self.admission.late_statistic()
        window = self.state.admission.late_watch.window
        self.outbox.alert(
            "timeliness",
            "late-inputs",
            signal,
            "late share",
            statistic,
            window,
            at,
            self.champion_slot,
            "none",
        )

    def _large(self, x: dict[str, Any], label: Any) -> list[tuple[str, float]]:
        """The numbers of a step beyond ``config.guard_above`` (the label as ``"\\x00label"``)."""
        limit = self.config.guard_above
        big = [
            (name, abs(v))
            for name, v in x.items()
            if (type(v) is float or _is_number(v)) and abs(v) > limit
        ]
        if _is_number(label) and abs(label) > limit:
            big.append(("\x00label", abs(label)))
        return big

    def _advance(self, event_time: datetime, out: TaskOutput) -> None:
        if self.state.max_event_time is None or event_time > self.state.max_event_time:
            self.state.max_event_time = event_time
        watermark = self.watermark
        if watermark is None:
            return
        expired = self.state.pending.expire(watermark)
        if expired:
            self.state.metrics.counts["expired"] += len(expired)
            out.expired += len(expired)
        for outcome, record in self.state.early.expire(watermark):
            detail = f"{outcome.event_id}: no observation arrived within the pending TTL"
            self.outbox.dead_letter(
                record,
                "unknown-observation",
                detail,
                "outcome",
                event=(outcome.event_id, "outcome"),
            )

    def snapshot(self) -> dict[str, Any]:
        """Metrics snapshot with the task's identity, JSON-ready."""
        snap = self.state.metrics.snapshot()
        snap["counts"]["pending"] = len(self.state.pending)
        snap["counts"]["early_outcomes_waiting"] = len(self.state.early)
        several = len(self.state.slots) > 1
        models = {}
        for name, slot in self.state.slots.items():
            about = slot.describe(name == self.state.champion)
            if several:  # one model: its scores are the task's
                about["scores"] = slot.metrics.snapshot()
            models[name] = about
        snap["quality"] = self.state.quality.snapshot()
        return snap | {
            "partition": self.partition,
            "champion": self.state.champion,
            "models": models,
            "model_version": self.model_version,
            "next_offset": self.state.next_offset,
            "watermark": self.watermark.isoformat() if self.watermark else None,
        }


def _risky(big: list[tuple[str, float]], scale: dict[str, float]) -> bool:
    """Whether a large number is new in kind: over ``GUARD_GROWTH`` times the largest one
    learned for that feature (a feature that is always large, such as the lateness of a
    historical replay, is guarded once, not on every step)."""
    return any(size > GUARD_GROWTH * scale.get(name, 0.0) for name, size in big)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(prediction: Any, probabilities: dict[Any, float] | None) -> bool:
    """Whether a prediction and its probabilities are finite numbers (or not numbers)."""
    if isinstance(prediction, float) and not math.isfinite(prediction):
        return False
    return probabilities is None or all(math.isfinite(p) for p in probabilities.values())


#: A number this many times larger than any learned before for its feature is guarded.
GUARD_GROWTH = 100.0
_NON_FINITE = "learning it would make the model's output not finite; the model is unchanged"


def _is_multiclass(model: Any) -> bool:
    """Whether the classifier takes more than two classes (River's ``_multiclass``)."""
    last = list(model.steps.values())[-1] if isinstance(model, compose.Pipeline) else model
    return bool(getattr(last, "_multiclass", True))


def _predict_is_argmax(model: Any) -> bool:
    """Whether the model's ``predict_one`` is River's default argmax of the probabilities."""
    last = list(model.steps.values())[-1] if isinstance(model, compose.Pipeline) else model
    return type(last).predict_one is base.Classifier.predict_one
