"""Numbers that cannot poison the model: input limits before the model sees anything, a
guard around learning, and no NaN in what the task writes."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from river import base

from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.models import DEFAULT_MODEL
from driftline.core.quality.rules import QualityRules
from driftline.core.task.checkpoint import model_digest
from driftline.core.task.partition import PartitionTask, TaskConfig

CODEC = EventCodec()
T0 = datetime(2024, 1, 1, tzinfo=UTC)
FEATURES = FeatureConfig(calendar=False, lateness=False, history_groups=())


def record(offset: int, event: Observation | Outcome) -> InputRecord:
    ingest = int((event.event_time - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)
    return InputRecord(0, offset, event.key.encode(), CODEC.encode(event), ingest)


def stream(rows: list[tuple[dict[str, Any], Any]]) -> list[InputRecord]:
    """Each row an observation then its outcome, one second apart."""
    out: list[InputRecord] = []
    for i, (x, label) in enumerate(rows):
        when = T0 + timedelta(seconds=i)
        out.append(
            record(len(out), Observation(event_id=str(i), key="k", event_time=when, features=x))
        )
        out.append(
            record(len(out), Outcome(event_id=str(i), key="k", event_time=when, label=label))
        )
    return out


def ordinary(n: int, start: int = 0) -> list[tuple[dict[str, Any], Any]]:
    return [({"x": float(i % 5), "y": float(i % 3)}, i % 2 == 0) for i in range(start, start + n)]


def all_finite(task: PartitionTask, records: list[InputRecord]) -> list[Any]:
    out = task.process(records, T0)
    for p in out.predictions:
        assert not (isinstance(p.prediction, float) and not math.isfinite(p.prediction))
        assert all(math.isfinite(v) for v in (p.probabilities or {}).values())
    json.dumps(task.snapshot(), allow_nan=False)  # what goes to Redis: never NaN
    return out.dead_letters


def test_one_absurd_value_no_longer_poisons_the_default_model() -> None:
    """The experiment of the issue: a feature of 1e308 once made every later prediction
    NaN. Now it is a dead letter and the model goes on as if it never came."""
    task = PartitionTask(0, TaskConfig(features=FEATURES))
    clean = PartitionTask(0, TaskConfig(features=FEATURES))
    rows = ordinary(30) + [({"x": 1e308, "y": 1.0}, True)] + ordinary(30, 31)
    letters = all_finite(task, stream(rows))
    assert [d.reason for d in letters] == ["value-too-large", "unknown-observation"]
    all_finite(clean, stream(ordinary(30) + ordinary(30, 31)))
    assert model_digest(task) == model_digest(clean)


def test_limits_on_count_length_and_record_size() -> None:
    rules = QualityRules(max_features=3, max_string_length=5, max_record_bytes=120)
    task = PartitionTask(0, TaskConfig(features=FEATURES, quality=rules))
    rows = [
        ({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}, True),
        ({"s": "abcdef"}, True),
        ({"s": "x" * 150}, True),
        ({"s": "abc"}, True),
    ]
    reasons = [d.reason for d in task.process(stream(rows), T0).dead_letters]
    assert reasons[:4] == ["too-many-features", "unknown-observation", "string-too-long"] + [
        "unknown-observation"
    ]
    assert "record-too-large" in reasons
    assert task.metrics.counts["learned"] == 1


def test_a_regression_label_beyond_the_limit_is_refused() -> None:
    task = PartitionTask(0, TaskConfig(model="linear_model.LinearRegression()", features=FEATURES))
    letters = task.process(stream([({"x": 1.0}, 1e300)]), T0).dead_letters
    assert [d.reason for d in letters] == ["value-too-large"]


class Fragile(base.Classifier):
    """Breaks (its output turns NaN) once it learns a value above a billion."""

    def __init__(self) -> None:
        self.broken = False
        self.n = 0

    def learn_one(self, x: dict[str, Any], y: Any) -> None:
        self.n += 1
        if any(abs(v) > 1e9 for v in x.values()):
            self.broken = True

    def predict_proba_one(self, x: dict[str, Any]) -> dict[Any, float]:
        p = math.nan if self.broken else 0.5
        return {True: p, False: p}


def fragile() -> Fragile:
    return Fragile()


def test_the_guard_refuses_a_step_that_would_break_the_model() -> None:
    task = PartitionTask(0, TaskConfig(model=f"{__name__}:fragile", features=FEATURES))
    rows = ordinary(5) + [({"x": 5e9, "y": 1.0}, True)] + ordinary(5, 6)
    letters = all_finite(task, stream(rows))
    assert [d.reason for d in letters] == ["non-finite-learning"]
    assert task.metrics.counts["refused"] == 1 and task.metrics.counts["learned"] == 10
    assert task.model.n == 10 and not task.model.broken  # type: ignore[attr-defined]


def test_a_non_finite_prediction_is_a_dead_letter_not_a_nan_in_redis() -> None:
    task = PartitionTask(0, TaskConfig(model=f"{__name__}:fragile", features=FEATURES))
    task.model.broken = True  # type: ignore[attr-defined] # poisoned before the guard existed
    out = task.process(stream(ordinary(2)), T0)
    assert out.predictions == []
    assert [d.reason for d in out.dead_letters] == [
        "non-finite-prediction",
        "unknown-observation",
    ] * 2


MODELS = [
    (DEFAULT_MODEL, "classification"),
    ("linear_model.LogisticRegression()", "classification"),
    ("tree.HoeffdingTreeClassifier()", "classification"),
    ("naive_bayes.GaussianNB()", "classification"),
    ("linear_model.LinearRegression()", "regression"),
    ("preprocessing.StandardScaler() | linear_model.LinearRegression()", "regression"),
    ("tree.HoeffdingTreeRegressor()", "regression"),
]
EXTREME = st.one_of(
    st.floats(min_value=-1e15, max_value=1e15, allow_nan=False),
    st.floats(allow_nan=False, allow_infinity=False),  # beyond the limit too
    st.sampled_from([0.0, 1e-300, -1e-300, 1e15, -1e15, 1e308, -1e308, 5e-324]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(MODELS),
    rows=st.lists(
        st.tuples(st.dictionaries(st.sampled_from(["x", "y", "z"]), EXTREME, max_size=3), EXTREME),
        min_size=1,
        max_size=25,
    ),
)
def test_extreme_finite_values_never_make_a_prediction_non_finite(
    model: tuple[str, str], rows: list[tuple[dict[str, Any], Any]]
) -> None:
    spec, kind = model
    task = PartitionTask(0, TaskConfig(model=spec, features=FEATURES))
    labelled = [(x, (abs(y) % 2 < 1) if kind == "classification" else y) for x, y in rows]
    # Ordinary events before and after: the model must still answer them with numbers.
    all_finite(task, stream(ordinary(10) + labelled + ordinary(10, 10 + len(labelled))))
    counts = task.metrics.counts
    assert (
        counts["learned"] + counts["refused"] + len(task.pending) + counts["expired"]
        == (counts["predictions"])
    )


def test_a_feature_that_is_always_large_is_guarded_once_a_jump_again(monkeypatch) -> None:
    """The guard's copy costs more than a learning step: a feature that is always large
    (the lateness of a historical replay, ~4e8 s) is tried on a copy the first time only;
    a value far beyond what was learned (GUARD_GROWTH times) is tried again."""
    import driftline.core.learning.guard as guard_module

    copies = 0
    real_dumps = guard_module.pickle.dumps

    def counting_dumps(*args: Any, **kwargs: Any) -> bytes:
        nonlocal copies
        copies += 1
        return real_dumps(*args, **kwargs)

    monkeypatch.setattr(guard_module.pickle, "dumps", counting_dumps)
    task = PartitionTask(0, TaskConfig(features=FEATURES))
    jump = 4e8 * guard_module.GUARD_GROWTH * 2
    rows = [({"lateness": 4e8 + i, "y": 1.0}, i % 2 == 0) for i in range(20)]
    rows += [({"lateness": jump, "y": 1.0}, True)] + rows[:5]
    all_finite(task, stream(rows))
    assert copies == 2 and task.metrics.counts["learned"] == 26
    assert task.guard_scale == {"lateness": jump}
