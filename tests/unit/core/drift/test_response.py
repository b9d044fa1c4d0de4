"""DriftResponse: what a model does at a concept drift, and at a feature or label drift."""

from __future__ import annotations

import itertools

import pytest
from river import dummy, linear_model, preprocessing
from river.datasets import synth

from driftline.core.drift.monitors import Alarm, ErrorMonitor
from driftline.core.drift.response import DriftResponse

WARNING = Alarm("concept", "m", "ADWIN", "warning")
DRIFT = Alarm("concept", "m", "ADWIN", "drift")
LABEL_DRIFT = Alarm("label", "label", "ADWIN", "drift")


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match="none, reset or swap"):
        DriftResponse(dummy.NoChangeClassifier(), "retrain")  # type: ignore[arg-type]


def test_fresh_models_come_from_the_factory_when_there_is_one() -> None:
    made: list[int] = []

    def fresh() -> dummy.NoChangeClassifier:
        made.append(1)
        return dummy.NoChangeClassifier()

    response = DriftResponse(dummy.NoChangeClassifier(), "swap", fresh=fresh)
    response.respond(WARNING, in_warning=True)
    assert made == [1] and response.background is not None
    response.respond(DRIFT, in_warning=False)
    assert made == [1]  # the background model was swapped in, none was made
    response.respond(DRIFT, in_warning=False)
    assert made == [1, 1] and response.replaced == 2  # no warning first: a fresh one


def test_only_concept_alarms_count() -> None:
    response = DriftResponse(dummy.NoChangeClassifier(), "reset")
    model = response.model
    assert response.respond(LABEL_DRIFT) is False and response.model is model


def test_replace_applies_another_action_now() -> None:
    response = DriftResponse(dummy.NoChangeClassifier(), "none")
    response.learn_one({}, "old")
    response.replace("none")
    assert response.model.predict_one({}) == "old" and response.replaced == 0
    response.replace("swap")  # no background model: a fresh one
    assert response.model.predict_one({}) is None and response.replaced == 1


def test_a_reset_ignores_the_background_model_and_drops_it() -> None:
    response = DriftResponse(dummy.NoChangeClassifier(), "swap")
    response.respond(WARNING, in_warning=True)
    background = response.background
    response.replace("reset")
    assert response.model is not background and response.background is None


def test_a_warning_that_ends_drops_its_background_model() -> None:
    response = DriftResponse(dummy.NoChangeClassifier(), "swap")
    response.respond(WARNING, in_warning=True)
    assert response.respond(None, in_warning=True) is False and response.background is not None
    assert response.respond(None, in_warning=False) is False and response.background is None


SEGMENT = 2500


def test_reset_and_swap_beat_doing_nothing_on_sea() -> None:
    """DriftResponse on the same stream: a model replaced at ADWIN's drifts does better."""
    accuracy = {}
    for action in ("none", "reset", "swap"):
        response = DriftResponse(
            preprocessing.StandardScaler() | linear_model.LogisticRegression(),
            action,  # type: ignore[arg-type]
        )
        monitor, correct, stream = ErrorMonitor("ADWIN"), 0, []
        for i, variant in enumerate([2, 3, 2, 3, 2]):
            stream += itertools.islice(synth.SEA(variant=variant, seed=1 + i, noise=0.05), SEGMENT)
        for x, y in stream:
            error = int(response.model.predict_one(x) != y)
            correct += 1 - error
            response.respond(monitor.update(error), monitor.in_warning)
            response.learn_one(x, y)
        accuracy[action] = correct / len(stream)
        assert response.replaced == (0 if action == "none" else monitor.drifts)
    assert accuracy["reset"] > accuracy["none"] + 0.005, accuracy
    assert accuracy["swap"] > accuracy["none"] + 0.005, accuracy
