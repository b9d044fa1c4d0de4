"""The model ensemble on its own: champion and challengers, learning, promotion, rollback."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from river import base

from driftline.core.errors import ConfigError
from driftline.core.events.control import ControlCommand
from driftline.core.learning.contenders import ModelSlot, PromotionRule
from driftline.core.learning.ensemble import Ensemble, EnsembleState, Served
from driftline.core.learning.pending import PendingEntry
from driftline.core.task.config import DriftConfig, TaskConfig
from driftline.core.task.seal import CheckpointError

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LR = "preprocessing.StandardScaler() | linear_model.LogisticRegression()"
PRIOR = "dummy.PriorClassifier()"
QUIET = DriftConfig(concept=None, features=None, labels=None)


class Alerts:
    """An alert sink that keeps what it is given."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def alert(self, kind: str, subject: str, signal: str, *rest: Any) -> None:
        self.seen.append((kind, subject, signal, *rest))


class Raising(base.Classifier):
    def learn_one(self, x: dict[str, Any], y: Any) -> None:
        raise ValueError("no")

    def predict_proba_one(self, x: dict[str, Any]) -> dict[Any, float]:
        raise ValueError("no")


class NotFinite(base.Classifier):
    def learn_one(self, x: dict[str, Any], y: Any) -> None:
        pass

    def predict_proba_one(self, x: dict[str, Any]) -> dict[Any, float]:
        return {True: math.nan, False: math.nan}


def raising() -> Raising:
    return Raising()


def not_finite() -> NotFinite:
    return NotFinite()


def ensemble(**changes: Any) -> tuple[Ensemble, Alerts]:
    config = TaskConfig(**({"model": LR, "drift": QUIET, "windows": ()} | changes))
    state, metrics = EnsembleState.fresh(config)
    alerts = Alerts()
    return Ensemble(config, state, metrics, alerts, partition=3), alerts


def entry_for(
    e: Ensemble, x: dict[str, Any], event_id: str = "e", learn: bool = True
) -> PendingEntry:
    served = e.predict_one(x)
    assert isinstance(served, Served)
    return PendingEntry(
        event_id,
        "k",
        T0,
        x,
        served.prediction,
        served.probabilities,
        served.slot.version,
        decision=served.decision,
        model=served.slot.name,
        by_model=served.by_model,
        learn=learn,
    )


def teach(e: Ensemble, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    for i in range(n):
        x = {"x": rng.gauss(0, 1)}
        e.learn_one(entry_for(e, x, f"e{i}"), x["x"] > 0.5, T0 + timedelta(seconds=i))
        e.promote_if_better(T0)


# -- built from the config -----------------------------------------------------------------------
def test_one_model_is_scored_in_the_task_s_metrics() -> None:
    config = TaskConfig(model=LR)
    state, metrics = EnsembleState.fresh(config)
    assert list(state.slots) == ["main"] and state.champion == "main"
    assert state.slots["main"].metrics is metrics
    assert state.kind == "classification" and state.multiclass is False
    assert state.slots["main"].monitor is not None  # concept drift is watched by default


def test_challengers_keep_scores_of_their_own() -> None:
    state, metrics = EnsembleState.fresh(TaskConfig(challengers=(("prior", PRIOR),)))
    assert list(state.slots) == ["main", "prior"]
    assert all(slot.metrics is not metrics for slot in state.slots.values())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"challengers": (("main", PRIOR),)}, "model names must differ"),
        ({"challengers": (("lr", "linear_model.LinearRegression()"),)}, "cannot compete"),
    ],
)
def test_models_that_cannot_compete_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EnsembleState.fresh(TaskConfig(**changes))


# -- predict -----------------------------------------------------------------------------------
def test_the_champion_answers_and_each_challenger_s_answer_is_kept() -> None:
    e, _ = ensemble(challengers=(("prior", PRIOR),))
    served = e.predict_one({"x": 1.0})
    assert isinstance(served, Served) and served.slot.name == "main"
    assert served.by_model is not None and set(served.by_model) == {"main", "prior"}
    assert served.by_model["main"] == (served.prediction, served.probabilities, served.decision)
    alone, _ = ensemble()
    only = alone.predict_one({"x": 1.0})
    assert isinstance(only, Served) and only.by_model is None


def test_a_model_that_cannot_answer_gives_the_reason() -> None:
    e, _ = ensemble(model=f"{__name__}:raising")
    reason, detail = e.predict_one({"x": 1.0})  # type: ignore[misc]
    assert reason == "model-error" and "ValueError('no')" in detail
    e, _ = ensemble(model=f"{__name__}:not_finite")
    assert e.predict_one({"x": 1.0})[0] == "non-finite-prediction"  # type: ignore[index]


def test_a_challenger_that_cannot_answer_has_no_answer() -> None:
    e, _ = ensemble(challengers=(("bad", f"{__name__}:raising"), ("nan", f"{__name__}:not_finite")))
    served = e.predict_one({"x": 1.0})
    assert isinstance(served, Served) and served.by_model is not None
    assert served.by_model["bad"] == served.by_model["nan"] == (None, None, None)


# -- learn -------------------------------------------------------------------------------------
def test_each_model_learns_the_label_and_the_watch_sees_each_answer() -> None:
    e, _ = ensemble(challengers=(("prior", PRIOR),))
    seen: list[tuple[str, Any, Any]] = []

    def watch(slot: ModelSlot, label: Any, answer: Any, at: datetime) -> None:
        seen.append((slot.name, label, answer))

    assert e.learn_one(entry_for(e, {"x": 1.0}, "a"), True, T0, watch) is None
    assert [slot.version for slot in e.state.slots.values()] == [1, 1]
    assert [name for name, _, _ in seen] == ["main"]  # the prior had no answer yet
    assert e.learn_one(entry_for(e, {"x": 1.0}, "b"), True, T0, watch) is None
    assert seen[1:] == [("main", True, seen[1][2]), ("prior", True, True)]
    prior = e.state.slots["prior"]
    assert e.metrics.scored == 2  # the served answers, in the task's metrics
    assert prior.metrics.scored == 1 and prior.metrics.counts["unscored"] == 1  # its own
    assert len(prior.contest) == 2  # each label's losses paired with the champion's


def test_an_entry_not_to_be_learned_is_scored_only() -> None:
    e, _ = ensemble()
    assert e.learn_one(entry_for(e, {"x": 1.0}, learn=False), True, T0) is None
    assert e.metrics.scored == 1 and e.metrics.counts["late_not_learned"] == 1
    assert e.champion.version == 0


def test_the_champion_s_refusal_is_the_verdict_and_counted_in_the_task_s_metrics() -> None:
    e, _ = ensemble(model="linear_model.LinearRegression()", guard_above=10.0)
    x = {"x": 1.0}
    served = e.predict_one(x)
    assert isinstance(served, Served)
    entry = PendingEntry("e", "k", T0, x, served.prediction, None, 0)
    assert e.learn_one(entry, 1.0, T0) is None
    huge = PendingEntry("f", "k", T0, {"x": 1e300}, served.prediction, None, 0)
    verdict = e.learn_one(huge, 1e300, T0)
    assert verdict is not None and verdict[0] == "non-finite-learning"
    assert e.metrics.counts["refused"] == 1 and e.champion.version == 1


# -- promotion -----------------------------------------------------------------------------------
def test_a_challenger_that_beats_the_champion_is_promoted_once() -> None:
    e, alerts = ensemble(
        model=PRIOR,
        model_name="prior",
        challengers=(("lr", LR),),
        promotion=PromotionRule(window=200, margin=0.05),
    )
    teach(e, 800)
    assert e.state.champion == "lr" and e.metrics.counts["promotions"] == 1
    [(kind, subject, signal, how, statistic, window, *_)] = alerts.seen
    assert (kind, subject, signal, how, window) == (
        "promotion",
        "lr",
        "promoted",
        "window-loss",
        200,
    )
    assert statistic["former_champion"] == "prior"
    assert e.state.since_promotion <= 800 - 200  # promoted after a whole window


def test_one_model_is_never_promoted_nor_counts_labels() -> None:
    e, alerts = ensemble(promotion=PromotionRule(window=5))
    teach(e, 20)
    assert e.state.since_promotion == 0 and alerts.seen == []


# -- commands ----------------------------------------------------------------------------------
def command(name: str, argument: str) -> ControlCommand:
    return ControlCommand(command=name, argument=argument, issued_by="test")  # type: ignore[arg-type]


def test_a_promote_command_names_a_model_it_has() -> None:
    e, alerts = ensemble(challengers=(("prior", PRIOR),))
    reason, detail = e.obey(command("promote", "nope"), T0)  # type: ignore[misc]
    assert reason == "unknown-model" and "models: main, prior" in detail
    assert e.obey(command("promote", "prior"), T0) is None
    assert e.state.champion == "prior" and alerts.seen[0][:4] == (
        "promotion",
        "prior",
        "promoted",
        "command",
    )
    assert e.obey(command("promote", "prior"), T0) is None and len(alerts.seen) == 1  # already


def test_a_rollback_takes_the_models_a_kept_checkpoint_holds() -> None:
    e, alerts = ensemble(challengers=(("prior", PRIOR),))
    teach(e, 50)
    kept = {name: slot.model.clone() for name, slot in e.state.slots.items()}
    versions = {name: slot.version for name, slot in e.state.slots.items()}
    asked: list[tuple[int, int]] = []

    def source(partition: int, offset: int) -> tuple[str, dict[str, Any]] | None:
        asked.append((partition, offset))
        return ("prior", kept) if offset == 40 else None

    e.rollback = source
    assert e.obey(command("rollback", "40"), T0) is None
    assert asked == [(3, 40)] and e.state.champion == "prior"
    assert all(e.state.slots[name].model is kept[name] for name in kept)
    assert all(e.state.slots[name].version == versions[name] + 1 for name in kept)
    assert alerts.seen[-1][:3] == ("rollback", "prior", "rolled-back")
    assert e.metrics.counts["rollbacks"] == 1
    assert e.obey(command("rollback", "41"), T0)[0] == "rollback-unavailable"  # type: ignore[index]
    assert e.obey(command("rollback", "later"), T0)[0] == "bad-control"  # type: ignore[index]


def test_a_rollback_to_a_checkpoint_it_cannot_trust_is_refused() -> None:
    def forged(partition: int, offset: int) -> None:
        raise CheckpointError("the seal does not match")

    e, _ = ensemble()
    e.rollback = forged
    reason, detail = e.obey(command("rollback", "7"), T0)  # type: ignore[misc]
    assert reason == "rollback-refused" and "seal does not match" in detail
    e.rollback = None
    assert e.obey(command("rollback", "7"), T0)[0] == "rollback-unavailable"  # type: ignore[index]


# -- drift actions -----------------------------------------------------------------------------
def test_a_reset_gives_a_fresh_model_a_new_version_and_a_new_contest() -> None:
    e, _ = ensemble(challengers=(("prior", PRIOR),))
    teach(e, 30)
    slot: ModelSlot = e.champion
    before, version = slot.model, slot.version
    e.replace(slot, "reset")
    assert slot.model is not before and slot.version == version + 1
    assert e.metrics.counts["models_replaced"] == 1
    assert all(len(s.contest) == 0 for s in e.state.slots.values())
    e.replace(slot, "none")
    assert e.metrics.counts["models_replaced"] == 1


def test_describe_says_which_model_serves() -> None:
    e, _ = ensemble(challengers=(("prior", PRIOR),))
    about = e.describe()
    assert about["main"]["champion"] and not about["prior"]["champion"]
    assert "scores" in about["prior"]
