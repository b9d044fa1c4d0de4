"""A task with the user's feature function: its output is what is predicted on, kept
pending and learned; a record it fails on is a dead letter and the task goes on."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.core.errors import ConfigError
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, FeatureValue, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.quality.reasons import DIMENSION_OF, Failure
from driftline.core.task.config import DriftConfig, TaskConfig
from driftline.core.task.fingerprint import config_fingerprint
from driftline.core.task.partition import PartitionTask
from driftline.core.times import to_millis

CODEC = EventCodec()
T0 = datetime(2024, 1, 1, 9, tzinfo=UTC)
PROCESSED_AT = datetime(2024, 6, 1, tzinfo=UTC)
MODEL = "linear_model.LogisticRegression()"


def debt_ratio(obs: Observation) -> dict[str, FeatureValue]:
    """The user's features: a ratio, the hour of the event and whether the key is a VIP."""
    debt, income = obs.features["debt"], obs.features["income"]
    assert isinstance(debt, float | int) and isinstance(income, float | int)
    return {"ratio": debt / income, "hour": obs.event_time.hour, "vip": obs.key == "vip"}


def not_a_dict(obs: Observation) -> Any:
    return [1.0]


def not_finite(obs: Observation) -> dict[str, FeatureValue]:
    return {"ratio": math.inf}


def other_function(obs: Observation) -> dict[str, FeatureValue]:
    return {"ratio": 0.0}


def config(function: Any = debt_ratio) -> TaskConfig:
    return TaskConfig(model=MODEL, feature_function=function, drift=DriftConfig(concept=None))


def obs(event_id: str, t: float, debt: float = 100.0, income: float = 1000.0) -> Observation:
    return Observation(
        event_id=event_id,
        key="vip",
        event_time=T0 + timedelta(seconds=t),
        features={"debt": debt, "income": income},
    )


def outcome(event_id: str, t: float, label: bool = True) -> Outcome:
    return Outcome(event_id=event_id, key="vip", event_time=T0 + timedelta(seconds=t), label=label)


def records(events: list[Event]) -> list[InputRecord]:
    return [
        InputRecord(0, i, e.key.encode(), CODEC.encode(e), to_millis(e.event_time))
        for i, e in enumerate(events)
    ]


def test_the_function_output_is_predicted_on_kept_pending_and_learned() -> None:
    task = PartitionTask(0, config())
    out = task.process(records([obs("a", 0, debt=250)]), PROCESSED_AT)
    assert len(out.predictions) == 1 and not out.dead_letters
    # exactly the function's output: no calendar, lateness or label-rate feature added
    entry = task.pending.pop("a")
    assert entry is not None and entry.x == {"ratio": 0.25, "hour": 9, "vip": True}
    task.pending.add(entry)
    task.process(records([obs("a", 0, debt=250), outcome("a", 10)])[1:], PROCESSED_AT)
    assert task.metrics.counts["learned"] == 1
    assert set(task.model.weights) == {"ratio", "hour", "vip"}


def test_a_raising_function_makes_a_dead_letter_and_the_task_goes_on() -> None:
    task = PartitionTask(0, config())
    out = task.process(records([obs("a", 0, income=0), obs("b", 1)]), PROCESSED_AT)
    [letter] = out.dead_letters
    assert letter.reason == Failure.FEATURE_FUNCTION_FAILED == "feature-function-failed"
    assert letter.detail == "a: debt_ratio raised ZeroDivisionError: float division by zero"
    assert letter.kind == "observation" and letter.offset == 0
    assert [p.event_id for p in out.predictions] == ["b"]
    assert "a" not in task.pending and "b" in task.pending
    assert task.metrics.counts["dead_letters_observation"] == 1
    assert DIMENSION_OF.get(letter.reason) is None  # about the user's code, not the data


@pytest.mark.parametrize(
    ("function", "detail"),
    [
        (not_a_dict, "a: not_a_dict returned a list, not a dict"),
        (not_finite, "a: not_finite returned 'ratio' = inf, not finite"),
    ],
)
def test_an_output_that_is_no_dict_of_finite_values_is_a_dead_letter(
    function: Any, detail: str
) -> None:
    task = PartitionTask(0, config(function))
    [letter] = task.process(records([obs("a", 0)]), PROCESSED_AT).dead_letters
    assert (letter.reason, letter.detail) == ("feature-function-failed", detail)
    assert len(task.pending) == 0


def test_a_lambda_or_a_local_function_is_refused_when_the_config_is_made() -> None:
    def local(obs: Observation) -> dict[str, FeatureValue]:
        return {}

    functions: list[Any] = [lambda obs: {}, local]
    for function in functions:
        with pytest.raises(ConfigError, match="define it with def at the top level"):
            config(function)


def test_the_fingerprint_changes_with_the_function_and_not_without_one() -> None:
    plain = TaskConfig(model=MODEL, drift=DriftConfig(concept=None))
    fingerprints = {config_fingerprint(c) for c in (plain, config(), config(other_function))}
    assert len(fingerprints) == 3
    assert config_fingerprint(config()) == config_fingerprint(config(debt_ratio))
    assert config_fingerprint(TaskConfig()) == "9754fe27d03b6c5a"  # unchanged without one
