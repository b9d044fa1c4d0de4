"""Admission on its own: each check, what it remembers, what it counts (no task around it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.core.contract.check import Contract
from driftline.core.events.model import Observation, Outcome
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.quality.admission import (
    Admission,
    AdmissionState,
    Admitted,
    Refusal,
    allowed_lateness,
    content_digest,
)
from driftline.core.quality.figures import QualityMetrics
from driftline.core.task.config import TaskConfig

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def contract(**stream: Any) -> Contract:
    return Contract.model_validate(
        {
            "stream": {"allowed_lateness_s": 60.0} | stream,
            "features": {
                "x": {"type": "number", "range": [-100, 100], "missing": "impute"},
                "carrier": {"type": "category", "categories": ["UA", "DL"], "case": "upper"},
            },
        }
    )


def admission(kind: str = "classification", **config: Any) -> Admission:
    task_config = TaskConfig(**config)
    metrics = TaskMetrics(kind)  # type: ignore[arg-type]
    state = AdmissionState.fresh(task_config)
    return Admission(task_config, kind, True, state, metrics, QualityMetrics())  # type: ignore[arg-type]


def obs(event_id: str, late_s: float = 0.0, **features: Any) -> tuple[Observation, datetime]:
    """An observation, and the ingest time ``late_s`` after its event time."""
    event = Observation(event_id=event_id, key="k", event_time=T0, features=features or {"x": 1.0})
    return event, T0 + timedelta(seconds=late_s)


def outcome(event_id: str, label: Any = True) -> Outcome:
    return Outcome(event_id=event_id, key="k", event_time=T0, label=label)


def test_a_new_observation_is_admitted_once() -> None:
    a = admission()
    event, ingest = obs("a", 2.5)
    admitted = a.observation(event, b"k", ingest)
    assert admitted == Admitted({"x": 1.0}, 2.5)
    assert a.admitted("a")
    again = a.observation(event, b"k", ingest)
    assert isinstance(again, Refusal) and again.dropped
    assert again.findings == [("accuracy", "duplicate", None)]
    assert a.metrics.counts == {"observations": 1, "duplicates": 1}


def test_a_refused_observation_is_not_seen_and_its_outcome_is_refused_but_valid() -> None:
    a = admission()
    event, ingest = obs("a")
    refusal = a.observation(event, b"other", ingest)
    assert isinstance(refusal, Refusal) and refusal.reason == "key-mismatch"
    assert not refusal.dropped and not a.admitted("a")
    late = a.outcome(outcome("a"), b"k", ingest, held=False)
    assert late is not None and (late.reason, late.valid) == ("unknown-observation", True)
    # a corrected copy with the same id is admitted, and its outcome then too
    assert isinstance(a.observation(event, b"k", ingest), Admitted)
    assert a.outcome(outcome("a"), b"k", ingest, held=False) is None


def test_the_rules_refuse_an_observation_from_the_future() -> None:
    a = admission()
    event, _ = obs("a")
    refusal = a.observation(event, b"k", T0 - timedelta(hours=1))
    assert isinstance(refusal, Refusal) and refusal.reason == "event-time-in-future"


def test_a_second_outcome_is_a_duplicate_or_a_conflict() -> None:
    a = admission()
    assert a.outcome(outcome("a", True), b"k", T0, held=False) is None
    same = a.outcome(outcome("a", True), b"k", T0, held=False)
    assert same is not None and same.dropped
    other = a.outcome(outcome("a", False), b"k", T0, held=False)
    assert other is not None and other.reason == "conflicting-outcome" and not other.valid
    assert a.metrics.counts == {"outcomes": 2, "duplicates": 1}


def test_an_outcome_held_for_its_observation_counts_as_seen() -> None:
    a = admission()
    refusal = a.outcome(outcome("a", True), b"k", T0, held=True)
    assert refusal is not None and refusal.dropped  # no label remembered: a duplicate


def test_an_outcome_seen_is_forgotten_when_reopened() -> None:
    a = admission()
    assert a.outcome(outcome("a"), b"k", T0, held=False) is None
    a.reopen("a")
    assert a.outcome(outcome("a"), b"k", T0, held=False) is None


def test_labels_are_checked_for_the_model_s_kind() -> None:
    refusal = admission("regression").outcome(outcome("a", "yes"), b"k", T0, held=False)
    assert refusal is not None and refusal.reason == "label-type"


def test_a_retracted_observation_is_as_if_refused() -> None:
    a = admission()
    event, ingest = obs("a")
    a.observation(event, b"k", ingest)
    a.retract("a")
    assert not a.admitted("a")
    refusal = a.outcome(outcome("a"), b"k", ingest, held=False)
    assert refusal is not None and refusal.reason == "unknown-observation"


def test_the_contract_cleans_the_features_and_learns_from_those_admitted() -> None:
    a = admission(contract=contract())
    first, ingest = obs("a", x=4.0, carrier="UA")
    assert a.observation(first, b"k", ingest) == Admitted(
        {"x": 4.0, "carrier": "UA", "x_missing": 0.0}, 0.0
    )
    second, _ = obs("b", carrier="ua")
    admitted = a.observation(second, b"k", ingest)
    assert isinstance(admitted, Admitted)
    assert admitted.features == {"carrier": "UA", "x_missing": 1.0, "x": 4.0}  # the mean
    assert admitted.findings == [
        ("completeness", "missing-imputed", "x"),
        ("consistency", "spelling", "carrier"),
    ]
    assert a.quality.declared == 4 and a.quality.missing == 1


@pytest.mark.parametrize(
    ("policy", "learn", "reason"),
    [
        ("learn", True, None),
        ("predict-only", False, None),
        ("dead-letter", None, "late-observation"),
    ],
)
def test_the_late_policy(policy: str, learn: bool | None, reason: str | None) -> None:
    a = admission(contract=contract(late_policy=policy))
    event, ingest = obs("a", 600.0, x=1.0, carrier="UA")
    result = a.observation(event, b"k", ingest)
    assert result.findings is not None and ("timeliness", "late", None) in result.findings
    if reason is None:
        assert isinstance(result, Admitted) and result.learn is learn
    else:
        assert isinstance(result, Refusal) and result.reason == reason


def test_a_stream_mostly_late_says_it_is_starved_once() -> None:
    a = admission(contract=contract(late_policy="predict-only"))
    signals = []
    for i in range(1000):
        event, ingest = obs(f"e{i}", 600.0, x=1.0, carrier="UA")
        signals.append(a.observation(event, b"k", ingest).late)
    [alarm] = [s for s in signals if s]
    assert signals.index(alarm) == 999 and alarm.signal == "starved"  # once the window is full
    assert alarm.statistic == {
        "late_share": 1.0,
        "alarm_share": 0.2,
        "allowed_lateness_s": 60.0,
        "late_policy": "predict-only",
    }
    assert alarm.window == 1000


def test_the_same_content_under_another_id_is_a_near_duplicate() -> None:
    a = admission(contract=contract())
    first, ingest = obs("a", x=1.0, carrier="UA")
    assert isinstance(a.observation(first, b"k", ingest), Admitted)
    copy, _ = obs("b", x=1.0, carrier="ua")
    refusal = a.observation(copy, b"k", ingest)
    assert isinstance(refusal, Refusal) and refusal.reason == "near-duplicate"
    assert ("accuracy", "near-duplicate", None) in (refusal.findings or [])
    off = admission(contract=contract(near_duplicates=False))
    off.observation(first, b"k", ingest)
    assert isinstance(off.observation(copy, b"k", ingest), Admitted)


def test_the_allowed_lateness_is_the_contract_s_if_it_says() -> None:
    assert allowed_lateness(TaskConfig(allowed_lateness_s=5.0)) == 5.0
    assert allowed_lateness(TaskConfig(allowed_lateness_s=5.0, contract=contract())) == 60.0
    unsaid = contract(allowed_lateness_s=None)
    assert allowed_lateness(TaskConfig(allowed_lateness_s=5.0, contract=unsaid)) == 5.0


def test_the_content_digest_depends_on_content_only() -> None:
    digest = content_digest("k", T0, {"x": 1.0, "c": "UA"})
    assert digest == content_digest("k", T0, {"c": "".join(["U", "A"]), "x": 1.0})
    assert digest != content_digest("k", T0 + timedelta(seconds=1), {"x": 1.0, "c": "UA"})
    assert digest != content_digest("j", T0, {"x": 1.0, "c": "UA"})


# -- a task's digest, with one pickler kept ---------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from driftline.core.quality.admission import ContentDigest  # noqa: E402

_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=6),
            st.integers(0, 10**9),
            st.dictionaries(st.text(min_size=1, max_size=6), _VALUES, max_size=8),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_a_kept_pickler_digests_as_a_new_one(observations: list) -> None:
    digest = ContentDigest()
    for key, seconds, features in observations:
        at = T0 + timedelta(seconds=seconds)
        shared = {name: value for name, value in features.items()}  # the same objects again
        assert digest(key, at, features) == content_digest(key, at, shared)
