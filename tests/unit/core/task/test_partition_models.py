"""The task's models end to end: cost-aware decisions and the tuned threshold,
champion and challengers scored on the same labels, promotion and rollback by
command, drift alerts and their actions, event-time window points, and all of it
through a checkpoint."""

from __future__ import annotations

import math
import pickle
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from river import base

from driftline.core.events.codec import EventCodec
from driftline.core.events.control import ControlCommand
from driftline.core.events.model import Observation, Outcome
from driftline.core.learning.contenders import PromotionRule
from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.metrics import merge_models, merge_snapshots
from driftline.core.task.checkpoint import models_of, restore_task, seal_task
from driftline.core.task.partition import (
    DriftConfig,
    FeatureConfig,
    InputRecord,
    PartitionTask,
    TaskConfig,
)
from driftline.core.task.seal import CheckpointCodec

CODEC = EventCodec()
T0 = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2024, 6, 1, tzinfo=UTC)
LR = "preprocessing.StandardScaler() | linear_model.LogisticRegression()"
#: A challenger that learns nothing useful: always the prior.
PRIOR = "dummy.PriorClassifier()"
QUIET = DriftConfig(concept=None, features=None, labels=None)


def stream(n: int, seed: int = 1, flip_at: int | None = None) -> list[InputRecord]:
    """Observations with one informative feature and their outcomes right after."""
    rng = random.Random(seed)
    records: list[InputRecord] = []
    for i in range(n):
        x = rng.gauss(0, 1)
        positive = x > 0.8 if flip_at is None or i < flip_at else x < -0.8
        if rng.random() < 0.05:
            positive = not positive
        at = T0 + timedelta(minutes=10 * i)
        obs = Observation(event_id=f"e{i}", key=f"k{i % 7}", event_time=at, features={"x": x})
        out = Outcome(event_id=f"e{i}", key=f"k{i % 7}", event_time=at, label=positive)
        for event in (obs, out):
            ms = int(at.timestamp() * 1000) + 1000
            records.append(InputRecord(0, len(records), b"k%d" % (i % 7), CODEC.encode(event), ms))
    # the keys above must match the events' keys
    return [
        InputRecord(
            r.partition, r.offset, CODEC.decode(r.value).key.encode(), r.value, r.timestamp_ms
        )
        for r in records
    ]


def control(offset: int, command: str, argument: str) -> InputRecord:
    value = CODEC.encode_control(ControlCommand(command=command, argument=argument))  # type: ignore[arg-type]
    return InputRecord(0, offset, None, value, int(NOW.timestamp() * 1000))


def config(**changes: Any) -> TaskConfig:
    base: dict[str, Any] = {
        "model": LR,
        "features": FeatureConfig(raw_only=True),
        "drift": QUIET,
        "windows": (),
    }
    return TaskConfig(**(base | changes))


def run(task: PartitionTask, records: list[InputRecord], batch: int = 97) -> list[Any]:
    outs = []
    for start in range(0, len(records), batch):
        outs.append(task.process(records[start : start + batch], NOW))
    return outs


def test_cost_aware_decisions_are_cheaper_than_the_argmax() -> None:
    task = PartitionTask(0, config(costs=CostMatrix(5, 1), threshold_min_labels=100))
    run(task, stream(3000))
    snap = task.snapshot()
    cost = snap["cost_per_1000"]
    assert cost["decision"] < cost["argmax"] and cost["decision"] < cost["majority"]
    assert snap["models"]["main"]["threshold"] < 0.5
    merged = merge_snapshots([snap, snap])
    assert merged["cost_per_1000"] == cost


def test_predictions_carry_the_decision_and_its_threshold() -> None:
    task = PartitionTask(0, config(costs=CostMatrix(5, 1)))
    [out] = run(task, stream(50), batch=1000)
    assert all(p.threshold == pytest.approx(1 / 6) for p in out.predictions)
    for p in out.predictions:
        assert p.decision == (p.probabilities[True] >= 1 / 6)
        assert p.model == "main"


# -- champion and challengers ---------------------------------------------------------------
def test_every_model_is_scored_on_the_same_labels_and_the_better_one_promoted() -> None:
    """The prior starts as champion; the logistic regression beats it and takes over."""
    task = PartitionTask(
        0,
        config(
            model=PRIOR,
            model_name="prior",
            challengers=(("lr", LR),),
            promotion=PromotionRule(window=200, margin=0.05),
        ),
    )
    outs = run(task, stream(1500))
    alerts = [a for out in outs for a in out.alerts]
    assert task.champion == "lr"
    [promotion] = [a for a in alerts if a.kind == "promotion"]
    assert promotion.subject == "lr" and promotion.statistic["former_champion"] == "prior"
    assert promotion.statistic["challenger_loss"] < promotion.statistic["champion_loss"] * 0.95
    served = [p.model for out in outs for p in out.predictions]
    assert served[0] == "prior" and served[-1] == "lr"
    snap = task.snapshot()
    models = merge_models([snap])
    assert models["lr"]["scores"]["scored"] == 1500
    # the prior had nothing to say before its first label: that one is not scored
    assert models["prior"]["scores"]["counts"]["unscored"] == 1
    assert models["lr"]["scores"]["log_loss"] < models["prior"]["scores"]["log_loss"]
    assert models["lr"]["champion_in"] == [0]


class Oracle(base.Classifier):
    """Reads the label off the features (``y``) and gives it probability ``easy``, or
    ``hard`` on a hard input; ``hard=None``: no answer to those, as ``abstain`` says
    (``"empty"``: no probabilities, ``"raise"``: an exception, ``"nan"``: not finite)."""

    def __init__(self, easy: float, hard: float | None, abstain: str = "empty") -> None:
        self.easy = easy
        self.hard = hard
        self.abstain = abstain

    def learn_one(self, x: dict[str, Any], y: Any) -> None:
        return None

    def predict_proba_one(self, x: dict[str, Any]) -> dict[Any, float]:
        sure = self.hard if x["hard"] else self.easy
        if sure is None:
            if self.abstain == "raise":
                raise ValueError("no answer to a hard input")
            return {True: math.nan, False: math.nan} if self.abstain == "nan" else {}
        p = sure if x["y"] else 1 - sure
        return {True: p, False: 1 - p}


def steady_champion() -> Oracle:
    return Oracle(easy=0.9, hard=0.6)


def abstains_with_no_probabilities() -> Oracle:
    return Oracle(easy=0.85, hard=None, abstain="empty")


def abstains_by_raising() -> Oracle:
    return Oracle(easy=0.85, hard=None, abstain="raise")


def abstains_with_nan() -> Oracle:
    return Oracle(easy=0.85, hard=None, abstain="nan")


def better_everywhere() -> Oracle:
    return Oracle(easy=0.95, hard=0.7)


def easy_and_hard(n: int, seed: int = 2) -> list[InputRecord]:
    """Observations whose features hold their label; every other one is hard."""
    rng = random.Random(seed)
    records: list[InputRecord] = []
    for i in range(n):
        label = rng.random() < 0.3
        at = T0 + timedelta(minutes=i)
        key = f"k{i % 7}"
        features = {"y": float(label), "hard": float(i % 2)}
        obs = Observation(event_id=f"e{i}", key=key, event_time=at, features=features)
        out = Outcome(event_id=f"e{i}", key=key, event_time=at, label=label)
        for event in (obs, out):
            ms = int(at.timestamp() * 1000) + 1000
            records.append(InputRecord(0, len(records), key.encode(), CODEC.encode(event), ms))
    return records


@pytest.mark.parametrize(
    "abstainer", ["abstains_with_no_probabilities", "abstains_by_raising", "abstains_with_nan"]
)
def test_a_challenger_that_abstains_on_the_hard_half_is_not_promoted(abstainer: str) -> None:
    """Issue 19, defect 7: worse than the champion on every label it answered, the
    challenger gave no answer to the hard half, where the champion's losses are; scored on
    the easy half only, its mean loss looked better than the champion's, it was promoted,
    and then served no answer to half the traffic."""
    here = "tests.unit.core.task.test_partition_models"
    task = PartitionTask(
        0,
        config(
            model=f"{here}:steady_champion",
            challengers=(("abstainer", f"{here}:{abstainer}"),),
            promotion=PromotionRule(window=200, margin=0.02),
        ),
    )
    outs = run(task, easy_and_hard(2000))
    assert task.champion == "main"
    assert not [a for out in outs for a in out.alerts if a.kind == "promotion"]
    served = [p for out in outs for p in out.predictions]
    assert len(served) == 2000 and all(p.prediction is not None for p in served)
    abstainer_scores = task.slots["abstainer"].metrics
    assert abstainer_scores.counts["unscored"] == 1000 and abstainer_scores.scored == 1000
    contest = task.slots["abstainer"].contest
    assert (len(contest), contest.both, contest.abstained) == (200, 100, 100)
    champion_loss, challenger_loss = contest.means()
    assert challenger_loss > champion_loss  # on the labels both answered: it is worse


def test_a_challenger_better_on_the_same_labels_is_still_promoted() -> None:
    here = "tests.unit.core.task.test_partition_models"
    task = PartitionTask(
        0,
        config(
            model=f"{here}:steady_champion",
            challengers=(("better", f"{here}:better_everywhere"),),
            promotion=PromotionRule(window=200, margin=0.02),
        ),
    )
    outs = run(task, easy_and_hard(1000))
    [promotion] = [a for out in outs for a in out.alerts if a.kind == "promotion"]
    assert task.champion == "better" and promotion.statistic["labels_compared"] == 200
    # promoted at the end of the first whole window, on its 200 labels
    assert promotion.offset == 2 * 199 + 1
    assert promotion.statistic["challenger_loss"] < promotion.statistic["champion_loss"]
    # a new contest started at the promotion: the former champion against the new one
    assert len(task.slots["main"].contest) == 200 and not task.slots["better"].contest
    assert task.slots["main"].contest.means()[0] < task.slots["main"].contest.means()[1]


def test_a_checkpoint_made_before_paired_losses_restores_with_a_new_contest() -> None:
    sealer = CheckpointCodec(b"k" * 32)
    cfg = config(challengers=(("prior", PRIOR),), promotion=PromotionRule(window=50))
    task = PartitionTask(0, cfg)
    records = stream(400)
    run(task, records[:300])
    for slot in task.slots.values():
        del slot.__dict__["contest"]  # the shape of such a checkpoint
    again = restore_task(seal_task(task, sealer, "t"), sealer, cfg, 0)
    assert all(len(slot.contest) == 0 for slot in again.slots.values())
    run(again, records[300:])
    assert len(again.slots["prior"].contest) == 50


def test_no_promotion_without_the_margin_or_when_off() -> None:
    for rule in (PromotionRule(auto=False, window=100), PromotionRule(window=100, margin=0.99)):
        task = PartitionTask(
            0, config(model=PRIOR, model_name="prior", challengers=(("lr", LR),), promotion=rule)
        )
        run(task, stream(800))
        assert task.champion == "prior"


def test_a_promote_command_is_obeyed_at_its_offset() -> None:
    records = stream(100)
    task = PartitionTask(
        0, config(challengers=(("prior", PRIOR),), promotion=PromotionRule(auto=False))
    )
    records.insert(100, control(100, "promote", "prior"))
    records = [InputRecord(0, i, r.key, r.value, r.timestamp_ms) for i, r in enumerate(records)]
    outs = run(task, records, batch=1000)
    served = [p.model for p in outs[0].predictions]
    assert served[:50] == ["main"] * 50 and set(served[50:]) == {"prior"}
    assert task.champion == "prior" and task.metrics.counts["controls"] == 1
    unknown = task.process([control(len(records), "promote", "nope")], NOW)
    assert [d.reason for d in unknown.dead_letters] == ["unknown-model"]


def test_rollback_puts_back_a_kept_checkpoint_s_models() -> None:
    sealer = CheckpointCodec(b"k" * 32)
    cfg = config(challengers=(("prior", PRIOR),), promotion=PromotionRule(auto=False))
    task = PartitionTask(0, cfg)
    records = stream(400)
    run(task, records[:300])
    kept = {task.next_offset: seal_task(task, sealer, "t")}
    probe = {"x": 1.0}
    before = task.model.predict_proba_one(probe)
    run(task, records[300:])
    assert task.model.predict_proba_one(probe) != before
    task.rollback_source = lambda p, offset: (
        models_of(kept[offset], sealer, p) if offset in kept else None
    )
    out = task.process([control(800, "rollback", "300")], NOW)
    assert task.model.predict_proba_one(probe) == before
    assert [a.kind for a in out.alerts] == ["rollback"] and task.next_offset == 801
    missing = task.process([control(801, "rollback", "7")], NOW)
    assert [d.reason for d in missing.dead_letters] == ["rollback-unavailable"]


def test_several_models_survive_a_checkpoint_exactly() -> None:
    sealer = CheckpointCodec(b"k" * 32)
    cfg = config(
        challengers=(("prior", PRIOR),),
        costs=CostMatrix(5, 1),
        threshold_min_labels=50,
        promotion=PromotionRule(window=50, margin=0.0),
        drift=DriftConfig(concept_action="swap"),
        windows=(3600,),
    )
    records = stream(1200, flip_at=600)
    whole = PartitionTask(0, cfg)
    run(whole, records)
    split = PartitionTask(0, cfg)
    run(split, records[:777])
    again = restore_task(seal_task(split, sealer, "t"), sealer, cfg, 0)
    run(again, records[777:])
    assert pickle.dumps(again.snapshot()) == pickle.dumps(whole.snapshot())
    assert again.champion == whole.champion
    for name in whole.slots:
        assert again.slots[name].version == whole.slots[name].version
        assert again.slots[name].model.predict_proba_one({"x": 0.3}) == (
            whole.slots[name].model.predict_proba_one({"x": 0.3})
        )


# -- drift -------------------------------------------------------------------------------
@pytest.mark.parametrize("action", ["none", "reset", "swap"])
def test_concept_drift_is_an_alert_and_the_action_is_applied(action: str) -> None:
    task = PartitionTask(
        0,
        config(
            drift=DriftConfig(concept="ADWIN", concept_action=action, features=None, labels=None)
        ),
    )  # type: ignore[arg-type]
    outs = run(task, stream(4000, flip_at=2000))
    drifts = [a for out in outs for a in out.alerts if a.kind == "concept" and a.signal == "drift"]
    assert drifts, "the flip at 2,000 went unseen"
    first = min(a.offset for a in drifts)
    assert 4000 < first < 4000 + 2 * 600  # the flip is at record 4,000 (two per event)
    assert all(a.action == action for a in drifts)
    assert task.metrics.counts["models_replaced"] == (0 if action == "none" else len(drifts))


def bumped_labels(n: int = 10_000, seed: int = 0) -> list[InputRecord]:
    """Labels positive 10% of the time, 20% for 300 labels from 3,000 (a bump that
    passes), 40% from 9,300 (a real drift); observations with nothing to learn from."""
    rng = random.Random(seed)
    records: list[InputRecord] = []
    for i in range(n):
        rate = 0.2 if 3000 <= i < 3300 else 0.4 if i >= 9300 else 0.1
        at = T0 + timedelta(minutes=i)
        key = f"k{i % 7}"
        obs = Observation(event_id=f"e{i}", key=key, event_time=at, features={"x": 1.0})
        out = Outcome(event_id=f"e{i}", key=key, event_time=at, label=rng.random() < rate)
        for event in (obs, out):
            value = CODEC.encode(event)
            ms = int(at.timestamp() * 1000) + 1000
            records.append(InputRecord(0, len(records), key.encode(), value, ms))
    return records


def test_a_warning_with_no_drift_ends_and_the_swap_learned_only_the_new_concept() -> None:
    """Issue 19, defect 10: the majority-class model errs on every positive label, so
    its error rate is the positive share. The bump's warning must end (before, it lasted
    until the drift 6,000 labels later, which then came with no warning of its own), and
    the model swapped in at the drift must have learned from the drift's warning only."""
    task = PartitionTask(
        0,
        config(
            model=PRIOR,
            drift=DriftConfig(concept="ADWIN", concept_action="swap", features=None, labels=None),
        ),
    )
    records = bumped_labels()
    slot = task.slots["main"]
    alerts = [a for out in run(task, records[:9000], batch=500) for a in out.alerts]
    assert not slot.monitor.in_warning and slot.background is None  # the bump's is over
    alerts += [a for out in run(task, records[9000:], batch=500) for a in out.alerts]
    label = {a.offset: (a.offset - 1) // 2 for a in alerts}  # outcomes are at odd offsets
    seen = [(label[a.offset], a.signal, a.action) for a in alerts if a.kind == "concept"]
    bump, warning, drift = seen  # nothing else: one warning each, one drift
    assert 3000 <= bump[0] < 3300 + 100 and bump[1:] == ("warning", "none")
    assert 9300 <= warning[0] < drift[0] < 9500 and warning[1] == "warning"
    assert drift[1:] == ("drift", "swap")
    # the swapped-in prior counted the labels since the drift's own warning, no more
    learned_since_swap = 10_000 - 1 - drift[0]
    assert sum(slot.model.counts.values()) == (drift[0] - warning[0]) + learned_since_swap


def test_feature_and_label_drift_alerts() -> None:
    rng = random.Random(5)
    records = []
    for i in range(3000):
        at = T0 + timedelta(minutes=i)
        shifted = i >= 1500
        features = {
            "x": rng.gauss(3.0 if shifted else 0.0, 1),
            "c": rng.choice("ab" if shifted else "cd"),
        }
        obs = Observation(event_id=f"e{i}", key="k", event_time=at, features=features)
        out = Outcome(
            event_id=f"e{i}", key="k", event_time=at, label=rng.random() < (0.8 if shifted else 0.2)
        )
        for event in (obs, out):
            records.append(
                InputRecord(0, len(records), b"k", CODEC.encode(event), int(at.timestamp() * 1000))
            )
    task = PartitionTask(0, config(drift=DriftConfig(concept=None, category_window=200)))
    alerts = [a for out in run(task, records) for a in out.alerts]
    kinds = {(a.kind, a.subject) for a in alerts}
    assert {("feature", "x"), ("category", "c"), ("label", "label")} <= kinds
    assert all(a.offset >= 3000 for a in alerts if a.kind in ("feature", "category"))
    assert len({a.alert_id for a in alerts}) == len(alerts)


def test_the_task_emits_one_point_per_closed_window_and_model() -> None:
    task = PartitionTask(0, config(challengers=(("prior", PRIOR),), windows=(3600, 86400)))
    outs = run(task, stream(300))  # 300 events 10 minutes apart: 50 hours
    points = [p for out in outs for p in out.points]
    hourly = [p for p in points if p["window_s"] == 3600 and p["model"] == "main"]
    assert len(hourly) == 49 and all(p["n"] == 6 for p in hourly)
    assert {p["model"] for p in points} == {"main", "prior"}
    assert len([p for p in points if p["window_s"] == 86400 and p["model"] == "prior"]) == 2
    assert sum(p["n"] for p in hourly) + task.slots["main"].metrics.windows.open[3600]["n"] == 300
