"""The model ensemble: a task's champion and challengers, as one model around them.

As River's ``model_selection.GreedyRegressor`` wraps several models and serves the best
one, :class:`Ensemble` wraps a task's :class:`~driftline.core.learning.contenders.ModelSlot`
models: :meth:`~Ensemble.predict_one` answers with the champion (keeping each
challenger's answer to score it later); :meth:`~Ensemble.learn_one` scores each stored
answer, moves the decision thresholds and paired losses, and lets each model learn,
guarded (:mod:`~driftline.core.learning.guard`); a challenger that beat the champion is
promoted. A control command promotes a model or rolls the models back to a kept
checkpoint's. Its state (:class:`EnsembleState`) is a part of the task's.

>>> from driftline.core.task.config import TaskConfig
>>> config = TaskConfig(challengers=(("prior", "dummy.PriorClassifier()"),))
>>> state, metrics = EnsembleState.fresh(config)
>>> served = Ensemble(config, state, metrics, alerts=None, partition=0).predict_one({"x": 1.0})
>>> served.slot.name, sorted(served.by_model), served.by_model["prior"]  # nothing learned
('main', ['main', 'prior'], (None, {}, None))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from driftline.core.drift.monitors import Alarm, DriftAction, ErrorMonitor
from driftline.core.errors import ConfigError
from driftline.core.events.control import ControlCommand
from driftline.core.learning.contenders import ModelSlot
from driftline.core.learning.costs import ThresholdTuner, positive_class
from driftline.core.learning.guard import (
    answer,
    finite,
    is_multiclass,
    large,
    learn_guarded,
    predict_is_argmax,
)
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.learning.models import ModelKind, build_model, model_kind
from driftline.core.learning.pending import PendingEntry
from driftline.core.quality.rules import Verdict
from driftline.core.task.config import TaskConfig
from driftline.core.task.seal import CheckpointError

__all__ = [
    "AlertSink",
    "Ensemble",
    "EnsembleState",
    "ErrorWatch",
    "RollbackSource",
    "Served",
]

#: Finds the models of a kept checkpoint (partition, next offset): the champion's name and
#: each model by name, or ``None`` when that checkpoint is no longer kept.
RollbackSource = Callable[[int, int], "tuple[str, dict[str, Any]] | None"]
#: Sees each model's answer to a label once it learned it: (model, label, answer, time).
ErrorWatch = Callable[[ModelSlot, Any, Any, datetime], None]


class AlertSink(Protocol):
    """Where alerts about the models go (a task's outbox)."""

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
    ) -> None: ...


@dataclass
class EnsembleState:
    """The models of a task by name, which one serves, and what kind they are."""

    #: The task's models by name; the champion's predictions are served.
    slots: dict[str, ModelSlot]
    champion: str
    kind: ModelKind
    #: Whether the first model takes more than two classes (its labels are checked so).
    multiclass: bool
    #: Labels since the last promotion: a new champion holds for a whole window.
    since_promotion: int = 0

    @classmethod
    def fresh(cls, config: TaskConfig) -> tuple[EnsembleState, TaskMetrics]:
        """The models ``config`` names, none trained, and the metrics the served
        predictions are scored in (with one model, that model's own)."""
        specs = [(config.model_name, config.model), *config.challengers]
        names = [name for name, _ in specs]
        if len(set(names)) != len(names):
            raise ConfigError(f"model names must differ: {names}")
        first = build_model(config.model, config.seed)
        kind = model_kind(first)
        costs = config.costs if kind == "classification" else None
        single = len(specs) == 1
        window = config.rolling_window
        metrics = TaskMetrics(kind, window, costs, config.windows if single else ())
        slots: dict[str, ModelSlot] = {}
        for name, spec in specs:
            own = metrics if single else TaskMetrics(kind, window, costs, config.windows)
            model = first if name == config.model_name else None
            tuner = None
            if costs is not None:
                labels = config.threshold_min_labels if config.tune_threshold else 2**62
                tuner = ThresholdTuner(costs, window=config.threshold_window, min_labels=labels)
            action = config.drift.concept_action
            slot = ModelSlot(name, spec, config.seed, own, tuner, model=model, action=action)
            if model_kind(slot.model) != kind:
                raise ConfigError(
                    f"model {name!r} is a {model_kind(slot.model)} model, "
                    f"{config.model_name!r} a {kind} one: they cannot compete"
                )
            slot.argmax = predict_is_argmax(slot.model)
            if config.drift.concept is not None:
                slot.monitor = ErrorMonitor(
                    config.drift.concept,  # type: ignore[arg-type]
                    kind=kind,
                    subject=name,
                    seed=config.seed,
                )
            slots[name] = slot
        return cls(slots, config.model_name, kind, is_multiclass(first)), metrics


@dataclass(slots=True)
class Served:
    """The champion's answer to one feature vector, and every model's when there are
    several: (prediction, probabilities, decision) by name.

    One per observation: not frozen, as a frozen dataclass sets each field through
    ``object.__setattr__`` (five times the time to build). Nothing changes one.
    """

    slot: ModelSlot
    prediction: Any
    probabilities: dict[Any, float] | None
    decision: Any
    by_model: dict[str, tuple[Any, dict[Any, float] | None, Any]] | None


class Ensemble:
    """A task's models around one feature vector: the champion serves, all learn."""

    def __init__(
        self,
        config: TaskConfig,
        state: EnsembleState,
        metrics: TaskMetrics,
        alerts: AlertSink,
        partition: int,
        rollback: RollbackSource | None = None,
    ) -> None:
        self.config = config
        self.state = state
        #: The task's metrics: the served predictions' scores and the task's counters.
        self.metrics = metrics
        self.alerts = alerts
        self.partition = partition
        #: Where a rollback command finds a kept checkpoint's models.
        self.rollback = rollback

    @property
    def champion(self) -> ModelSlot:
        return self.state.slots[self.state.champion]

    def predict_one(self, x: dict[str, Any]) -> Served | tuple[str, str]:
        """The champion's answer to ``x`` (each challenger's too), or why there is none."""
        champion = self.champion
        try:
            prediction, probabilities = answer(champion.model, x, self.state.kind, champion.argmax)
        except Exception as exc:  # a River model refusing this input must not stop the task
            return "model-error", f"the model failed on it: {exc!r}"
        if not finite(prediction, probabilities):
            # The model cannot answer this input with numbers: say so, write no NaN.
            return "non-finite-prediction", f"the model's output is not finite ({prediction!r})"
        decision = champion.decide(prediction, probabilities)
        by_model = None
        if len(self.state.slots) > 1:
            by_model = {champion.name: (prediction, probabilities, decision)}
            for slot in self.state.slots.values():
                if slot is not champion:
                    by_model[slot.name] = self._challenger_predicts(slot, x)
        return Served(champion, prediction, probabilities, decision, by_model)

    def _challenger_predicts(
        self, slot: ModelSlot, x: dict[str, Any]
    ) -> tuple[Any, dict[Any, float] | None, Any]:
        """A challenger's (prediction, probabilities, decision); nothing if it fails."""
        try:
            prediction, probabilities = answer(slot.model, x, self.state.kind, slot.argmax)
        except Exception:  # a challenger's failure is its own: it is not scored
            return None, None, None
        if not finite(prediction, probabilities):
            return None, None, None
        return prediction, probabilities, slot.decide(prediction, probabilities)

    def learn_one(
        self, entry: PendingEntry, label: Any, at: datetime, watch: ErrorWatch | None = None
    ) -> Verdict:
        """Score every model's stored answer, then let each learn from the stored vector.

        The served prediction is scored in the task's metrics; with several models each is
        scored in its own too, on the same label (the champion's scores are the served ones
        only until a promotion). Then the decision thresholds and each challenger's losses
        paired with the champion's (``None`` for a model that gave no answer: see
        :class:`~driftline.core.learning.contenders.PairedLosses`) take the label; each
        model learns it, guarded (:func:`~driftline.core.learning.guard.learn_guarded`),
        and ``watch`` sees its answer. An entry not to be learned (late, predict-only) is
        scored only. Returns ``None`` once the champion learned, else the dead letter's
        reason.
        """
        served = self.metrics.score(
            label, entry.prediction, entry.probabilities, entry.decision, at
        )
        if not entry.learn:  # late, predict-only: the served prediction is scored, no more
            self.metrics.counts["late_not_learned"] += 1
            return None
        big = large(entry.x, label, self.config.guard_above)
        verdict: Verdict = None
        slots, champion = self.state.slots, self.state.champion
        predictions: list[tuple[ModelSlot, Any]] = []
        losses: dict[str, float | None] = {}
        for slot in slots.values():
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
        if len(slots) > 1:  # each challenger's loss beside the champion's, or none
            window = self.config.promotion.window
            for slot in slots.values():
                if slot.name != champion:
                    slot.contest.add(losses[champion], losses[slot.name], window)
        for slot, prediction in predictions:
            counts = self.metrics.counts if slot.name == champion else slot.metrics.counts
            refused = learn_guarded(slot, entry.x, label, big, self.state.kind, counts)
            if slot.name == champion:
                verdict = refused
            if watch is not None and prediction is not None:
                watch(slot, label, prediction, at)
        return verdict

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

    # -- new models, new champions ---------------------------------------------------------
    def respond(self, slot: ModelSlot, alarm: Alarm | None, in_warning: bool) -> None:
        """One model's concept-drift verdict (an alarm, or none) to its drift response
        (:class:`~driftline.core.drift.response.DriftResponse`), which may replace it."""
        if slot.drift.respond(alarm, in_warning):
            self._renewed(slot)

    def replace(self, slot: ModelSlot, action: DriftAction) -> None:
        """A feature or label drift's action on one model: a fresh one (``reset``), or the
        background model that learned since a warning (``swap``; a fresh one if none)."""
        if action != "none":
            slot.drift.replace(action)
            self._renewed(slot)

    def _renewed(self, slot: ModelSlot) -> None:
        slot.renew()
        slot.argmax = predict_is_argmax(slot.model)
        self.metrics.counts["models_replaced"] += 1
        if slot.name == self.state.champion:
            self._new_contest()

    def _new_contest(self) -> None:
        """Another champion, or a new model in its place: the pairs of losses so far
        compared the challengers with what served before."""
        for slot in self.state.slots.values():
            slot.contest.clear()

    def promote_if_better(self, at: datetime | None) -> None:
        """One more label learned: promote a challenger that beat the champion over the
        last window of labels; a new champion is not challenged before a whole window of
        its own (no flip-flop)."""
        state, rule = self.state, self.config.promotion
        if len(state.slots) < 2:
            return
        state.since_promotion += 1
        if state.since_promotion < rule.window:
            return
        winner = rule.challenger_to_promote(
            [slot for name, slot in state.slots.items() if name != state.champion]
        )
        if winner is not None:
            champion_loss, challenger_loss = winner.contest.means()
            evidence = {
                "champion_loss": champion_loss,
                "challenger_loss": challenger_loss,
                "labels_compared": winner.contest.both,
                "margin": rule.margin,
            }
            self._promote(winner, "window-loss", evidence, rule.window, at)

    def _promote(
        self,
        winner: ModelSlot,
        how: str,
        evidence: dict[str, Any],
        window: int,
        at: datetime | None,
    ) -> None:
        former = self.state.champion
        self.state.champion = winner.name
        self.state.since_promotion = 0
        self._new_contest()
        self.metrics.counts["promotions"] += 1
        statistic = evidence | {"former_champion": former}
        self.alerts.alert(
            "promotion", winner.name, "promoted", how, statistic, window, at, winner, "promote"
        )

    def obey(self, command: ControlCommand, at: datetime | None) -> Verdict:
        """A control command (see :mod:`driftline.core.events.control`): ``None`` once
        obeyed, else the dead letter's reason and detail."""
        slots = self.state.slots
        if command.command == "promote":
            slot = slots.get(command.argument)
            if slot is None:
                known = ", ".join(slots)
                return (
                    "unknown-model",
                    f"promote {command.argument!r}: no such model (models: {known})",
                )
            if slot.name != self.state.champion:
                self._promote(slot, "command", {"issued_by": command.issued_by}, 0, at)
            return None
        try:
            offset = int(command.argument)
        except ValueError:
            return "bad-control", f"rollback {command.argument!r}: not a checkpoint's offset"
        try:
            found = self.rollback(self.partition, offset) if self.rollback else None
        except CheckpointError as exc:  # forged, or another format: the same on every replay
            detail = f"rollback to partition {self.partition}@{offset}: {exc}"
            return "rollback-refused", detail[:1000]
        if found is None:
            return "rollback-unavailable", (
                f"rollback to partition {self.partition}'s checkpoint at offset {offset}: "
                "no such checkpoint is kept (see 'driftline model history')"
            )
        champion, models = found
        for name, model in models.items():
            slot = slots.get(name)
            if slot is not None:
                slot.replace_model(model)
                slot.argmax = predict_is_argmax(model)
        if champion in slots:
            self.state.champion = champion
        self._new_contest()
        self.metrics.counts["rollbacks"] += 1
        statistic = {"checkpoint_offset": offset, "issued_by": command.issued_by}
        slot = self.champion
        self.alerts.alert(
            "rollback", slot.name, "rolled-back", "command", statistic, 0, at, slot, "rollback"
        )
        return None

    def describe(self) -> dict[str, dict[str, Any]]:
        """What a snapshot says of each model (with several, its own scores too)."""
        several = len(self.state.slots) > 1
        models = {}
        for name, slot in self.state.slots.items():
            about = slot.describe(name == self.state.champion)
            if several:  # one model: its scores are the task's
                about["scores"] = slot.metrics.snapshot()
            models[name] = about
        return models
