"""The drift watch: each alarm an alert, each drift's action applied to the models."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from driftline.core.drift.watch import DriftWatch, Monitors
from driftline.core.learning.ensemble import Ensemble, EnsembleState
from driftline.core.quality.figures import QualityMetrics
from driftline.core.task.config import DriftConfig, TaskConfig
from driftline.core.task.outbox import Outbox, TaskOutput

AT = datetime(2024, 1, 1, tzinfo=UTC)
PRIOR = "dummy.PriorClassifier()"


def rig(drift: DriftConfig, **config: Any) -> tuple[DriftWatch, Ensemble, TaskOutput]:
    task_config = TaskConfig(drift=drift, **config)
    models, metrics = EnsembleState.fresh(task_config)
    outbox = Outbox(0, metrics, QualityMetrics())
    out = outbox.open()
    ensemble = Ensemble(task_config, models, metrics, outbox, 0)
    monitors = Monitors.fresh(drift, models.kind, task_config.seed)
    return DriftWatch(drift, monitors, ensemble, outbox), ensemble, out


def errors(
    watch: DriftWatch, out: TaskOutput, rates: list[float], seed: int = 0
) -> list[tuple[int, str, str]]:
    """Feed the champion's errors at ``rates``; the (index, signal, action) of each alert
    (added to ``out``)."""
    rng = random.Random(seed)
    slot = watch.ensemble.champion
    seen = []
    for i, rate in enumerate(rates):
        before = len(out.alerts)
        wrong = rng.random() < rate
        watch.errors(slot, True, not wrong, AT)
        seen += [(i, a.signal, a.action) for a in out.alerts[before:]]
    return seen


def test_the_monitors_are_those_the_config_names() -> None:
    none = Monitors.fresh(DriftConfig(features=None, labels=None), "classification", 1)
    assert none == Monitors()
    both = Monitors.fresh(DriftConfig(), "classification", 1)
    assert both.features is not None and both.labels is not None


def test_a_concept_drift_resets_the_model_it_was_seen_on() -> None:
    drift = DriftConfig(concept="ADWIN", concept_action="reset", features=None, labels=None)
    watch, ensemble, out = rig(drift)
    slot = ensemble.champion
    model = slot.model
    seen = errors(watch, out, [0.05] * 2000 + [0.6] * 500)
    drifts = [(i, action) for i, signal, action in seen if signal == "drift"]
    assert drifts and all(action == "reset" for _, action in drifts)
    assert all(action == "none" for _, signal, action in seen if signal == "warning")
    assert slot.model is not model and slot.version == len(drifts)
    assert ensemble.metrics.counts["models_replaced"] == len(drifts) == slot.drift.replaced
    assert [a.kind for a in out.alerts] == ["concept"] * len(seen)


def test_swap_trains_a_background_model_from_the_warning_and_swaps_it_in() -> None:
    drift = DriftConfig(concept="ADWIN", concept_action="swap", features=None, labels=None)
    watch, ensemble, out = rig(drift)
    slot = ensemble.champion
    rng, background = random.Random(0), None
    for i in range(4000):
        rate = 0.05 if i < 2000 else 0.6
        before = len(out.alerts)
        watch.errors(slot, True, rng.random() >= rate, AT)
        signals = [a.signal for a in out.alerts[before:]]
        if signals == ["warning"]:
            background = slot.background
            assert background is not None
        if signals == ["drift"]:
            assert background is not None and slot.model is background  # swapped in
            assert slot.background is None
            return
    raise AssertionError("no drift")


def test_no_action_leaves_the_model_and_raises_alerts_only() -> None:
    watch, ensemble, out = rig(DriftConfig(concept="ADWIN", features=None, labels=None))
    model = ensemble.champion.model
    seen = errors(watch, out, [0.05] * 2000 + [0.6] * 500)
    assert any(signal == "drift" for _, signal, _ in seen)
    assert ensemble.champion.model is model and ensemble.champion.background is None
    assert "models_replaced" not in ensemble.metrics.counts


def test_a_label_drift_applies_its_action_to_every_model() -> None:
    drift = DriftConfig(concept=None, features=None, labels="ADWIN", labels_action="reset")
    watch, ensemble, out = rig(drift, challengers=(("prior", PRIOR),))
    models = {name: slot.model for name, slot in ensemble.state.slots.items()}
    for i in range(3000):
        watch.labels(i >= 1500, AT)
    [alert] = out.alerts
    assert (alert.kind, alert.subject, alert.signal, alert.action) == (
        "label",
        "label",
        "drift",
        "reset",
    )
    assert alert.model == "main"  # raised in the champion's name
    assert all(slot.model is not models[name] for name, slot in ensemble.state.slots.items())
    assert ensemble.metrics.counts["models_replaced"] == 2


def test_a_feature_drift_is_an_alert_per_feature() -> None:
    drift = DriftConfig(concept=None, features="PSI", labels=None, category_window=200)
    watch, ensemble, out = rig(drift)
    rng = random.Random(2)
    for i in range(2000):
        shift = 0.0 if i < 1000 else 5.0
        watch.features({"x": rng.gauss(shift, 1.0), "y": rng.gauss(0.0, 1.0)}, AT)
    subjects = {a.subject for a in out.alerts if a.signal == "drift"}
    assert subjects == {"x"}
    assert all(a.action == "none" for a in out.alerts)
    assert ensemble.champion.version == 0
