"""Regression tests of core defects: dedupe before validation, ROC AUC beyond bool labels,
the shared event base, and one set of epoch helpers.

Task tests build real encoded records and call :meth:`PartitionTask.process`, as
``tests/unit/test_task.py`` does.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from river import metrics

from driftline.core import times
from driftline.core.errors import EventValidationError
from driftline.core.events import model as events
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.metrics import TaskMetrics, merge_snapshots
from driftline.core.quality.dedupe import DedupeWindow
from driftline.core.quality.rules import QualityRules
from driftline.core.task.checkpoint import restore_task, seal_task
from driftline.core.task.partition import PartitionTask, TaskConfig, TaskOutput
from driftline.core.task.seal import CheckpointCodec
from driftline.core.times import from_millis, to_millis

CODEC = EventCodec()
T0 = datetime(2024, 1, 1, tzinfo=UTC)
PROCESSED_AT = datetime(2024, 6, 1, tzinfo=UTC)
CLASSIFIER = "preprocessing.StandardScaler() | linear_model.LogisticRegression()"
RULES = QualityRules(max_future_s=60.0, feature_bounds={"x": (0.0, 10.0)})


# -- helpers ---------------------------------------------------------------------------------------
def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ms(seconds: float) -> int:
    return to_millis(at(seconds))


def obs(event_id: str, t: float, x: float = 1.0, key: str = "k") -> Observation:
    return Observation(event_id=event_id, key=key, event_time=at(t), features={"x": x})


def outcome(event_id: str, t: float, label: Any = True, key: str = "k") -> Outcome:
    return Outcome(event_id=event_id, key=key, event_time=at(t), label=label)


def rec(offset: int, event: Event, ingest_ms: int, *, key: str | None = None) -> InputRecord:
    record_key = (event.key if key is None else key).encode()
    return InputRecord(0, offset, record_key, CODEC.encode(event), ingest_ms)


def make_task(**config: Any) -> PartitionTask:
    config.setdefault("features", FeatureConfig(raw_only=True))
    config.setdefault("quality", RULES)
    return PartitionTask(0, TaskConfig(model=CLASSIFIER, **config))


def run(task: PartitionTask, records: list[InputRecord]) -> TaskOutput:
    return task.process(records, PROCESSED_AT)


def reasons(out: TaskOutput) -> list[tuple[str, int]]:
    return [(d.reason, d.offset) for d in out.dead_letters]


# -- 1. dedupe records an id only once the event passed validation ---------------------------------
REFUSED_OBSERVATIONS = {
    "key-mismatch": lambda offset: rec(offset, obs("a", 1), ms(1), key="other"),
    "out-of-range": lambda offset: rec(offset, obs("a", 1, x=99.0), ms(1)),
    "event-time-in-future": lambda offset: rec(offset, obs("a", 1000), ms(1)),
}


@pytest.mark.parametrize("reason", sorted(REFUSED_OBSERVATIONS))
def test_a_corrected_resend_of_a_dead_lettered_observation_is_predicted_and_learned(
    reason: str,
) -> None:
    task = make_task()
    out = run(task, [REFUSED_OBSERVATIONS[reason](0)])
    assert reasons(out) == [(reason, 0)] and out.predictions == []
    out = run(task, [rec(1, obs("a", 1), ms(1)), rec(2, outcome("a", 2), ms(2))])
    assert [p.event_id for p in out.predictions] == ["a"]
    assert out.dead_letters == []
    c = task.metrics.counts
    assert (c["duplicates"], c["observations"], c["predictions"], c["learned"]) == (0, 2, 1, 1)
    assert c["observations"] == c["predictions"] + c["dead_letters_observation"]
    assert "a" not in task.pending and task.model_version == 1


@pytest.mark.parametrize(
    "refused",
    [
        rec(1, outcome("a", 1, label=0.5), ms(1)),  # label-type
        rec(1, outcome("a", 1), ms(1), key="other"),  # key-mismatch
        rec(1, outcome("a", 1000), ms(1)),  # event-time-in-future
    ],
    ids=["label-type", "key-mismatch", "event-time-in-future"],
)
def test_a_corrected_resend_of_a_dead_lettered_outcome_is_learned(refused: InputRecord) -> None:
    task = make_task()
    out = run(task, [rec(0, obs("a", 0), ms(0)), refused])
    assert len(out.dead_letters) == 1 and "a" in task.pending
    out = run(task, [rec(2, outcome("a", 2), ms(2))])
    assert out.dead_letters == []
    c = task.metrics.counts
    assert (c["duplicates"], c["outcomes"], c["learned"]) == (0, 2, 1)
    assert c["outcomes"] == c["learned"] + c["dead_letters_outcome"] + len(task.early)
    assert "a" not in task.pending


def test_duplicates_of_accepted_events_are_still_dropped() -> None:
    task = make_task()
    out = run(
        task,
        [
            rec(0, obs("a", 0), ms(0)),
            rec(1, obs("a", 0), ms(0)),
            rec(2, outcome("a", 1), ms(1)),
            rec(3, outcome("a", 1), ms(1)),
            rec(4, outcome("a", 1, label=False), ms(1)),
        ],
    )
    # the same label again is a duplicate; another label conflicts (issue 12)
    assert len(out.predictions) == 1
    assert [d.reason for d in out.dead_letters] == ["conflicting-outcome"]
    c = task.metrics.counts
    assert (c["duplicates"], c["learned"]) == (2, 1)


def test_an_outcome_of_a_dead_lettered_observation_is_unknown_until_it_is_corrected() -> None:
    task = make_task()
    out = run(task, [rec(0, obs("a", 1, x=99.0), ms(1)), rec(1, outcome("a", 2), ms(2))])
    assert reasons(out) == [("out-of-range", 0), ("unknown-observation", 1)]
    assert len(task.early) == 0  # dead-lettered at once, not held until its TTL
    # the producer fixes the observation and sends both again, with the same event id
    out = run(task, [rec(2, obs("a", 1), ms(3)), rec(3, outcome("a", 2), ms(3))])
    assert [p.event_id for p in out.predictions] == ["a"] and out.dead_letters == []
    c = task.metrics.counts
    assert (c["duplicates"], c["learned"]) == (0, 1)
    assert c["outcomes"] == c["learned"] + c["dead_letters_outcome"] + len(task.early)


def test_an_early_outcome_dead_lettered_with_its_observation_can_be_sent_again() -> None:
    task = make_task()
    out = run(task, [rec(0, outcome("a", 2), ms(2)), rec(1, obs("a", 1, x=99.0), ms(2))])
    assert reasons(out) == [("out-of-range", 1), ("unknown-observation", 0)]
    out = run(task, [rec(2, obs("a", 1), ms(3)), rec(3, outcome("a", 2), ms(3))])
    assert [p.event_id for p in out.predictions] == ["a"] and out.dead_letters == []
    c = task.metrics.counts
    assert (c["duplicates"], c["learned"]) == (0, 1)


def test_the_rejected_observation_window_is_checkpointed() -> None:
    codec = CheckpointCodec(b"k" * 32)
    task = make_task()
    run(task, [rec(0, obs("a", 1, x=99.0), ms(1))])
    again = restore_task(seal_task(task, codec, "defects"), codec, task.config, 0)
    out = run(again, [rec(1, outcome("a", 2), ms(2))])
    assert reasons(out) == [("unknown-observation", 1)] and len(again.early) == 0


def test_the_rejected_observation_window_is_bounded_by_the_dedupe_size() -> None:
    task = make_task(dedupe_size=2)
    run(task, [rec(i, obs(f"r{i}", 1, x=99.0), ms(1)) for i in range(3)])
    out = run(task, [rec(3, outcome("r0", 2), ms(2)), rec(4, outcome("r2", 2), ms(2))])
    assert reasons(out) == [("unknown-observation", 4)]  # r0 fell out: held as early
    assert len(task.early) == 1


def test_dedupe_window_contains_add_and_discard() -> None:
    window = DedupeWindow(2)
    assert not window.contains("a")
    window.add("a")
    window.add("b")
    window.add("a")  # refreshes "a"
    window.add("c")  # evicts "b", the least recently added
    assert window.contains("a") and not window.contains("b") and window.contains("c")
    window.discard("a")
    window.discard("zz")  # absent: nothing to do
    assert not window.contains("a") and len(window) == 1


# -- 2. ROC AUC for binary bool or 0/1 labels only, else not applicable ----------------------------
def fed(rows: list[tuple[Any, Any, dict[Any, float] | None]]) -> TaskMetrics:
    m = TaskMetrics("classification")
    for y_true, y_pred, proba in rows:
        m.score(y_true, y_pred, proba)
    return m


BINARY_P = [(1, 0.8), (0, 0.3), (1, 0.4), (0, 0.6), (1, 0.9), (0, 0.1), (0, 0.7)]


def int_rows(pairs: list[tuple[int, float]]) -> list[tuple[Any, Any, dict[Any, float]]]:
    return [(y, int(p > 0.5), {1: p, 0: 1.0 - p}) for y, p in pairs]


def test_int_binary_labels_get_river_s_roc_auc() -> None:
    snap = fed(int_rows(BINARY_P)).snapshot()
    river = metrics.ROCAUC(pos_val=1)
    for y, p in BINARY_P:
        river.update(y, {1: p, 0: 1.0 - p})
    assert snap["roc_auc"] == round(float(river.get()), 4) > 0.5
    assert merge_snapshots([snap])["roc_auc"] == snap["roc_auc"]


@given(
    pairs=st.lists(
        st.tuples(st.sampled_from([0, 1]), st.floats(0.0, 1.0, allow_nan=False)), min_size=1
    )
)
def test_int_binary_roc_auc_equals_river_and_the_bool_run(pairs: list[tuple[int, float]]) -> None:
    river = metrics.ROCAUC(pos_val=1)
    for y, p in pairs:
        river.update(y, {1: p, 0: 1.0 - p})
    as_bool = [(bool(y), bool(yp), {True: p[1], False: p[0]}) for y, yp, p in int_rows(pairs)]
    snap = fed(int_rows(pairs)).snapshot()
    assert snap["roc_auc"] == round(float(river.get()), 4) == fed(as_bool).snapshot()["roc_auc"]


STRING_ROWS = [
    ("late", "late", {"late": 0.8, "early": 0.2}),
    ("early", "late", {"late": 0.6, "early": 0.4}),
    ("early", "early", {"late": 0.1, "early": 0.9}),
]
THREE_CLASS_ROWS = [
    (0, 0, {0: 0.7, 1: 0.2, 2: 0.1}),
    (2, 0, {0: 0.5, 1: 0.2, 2: 0.3}),
    (1, 1, {0: 0.1, 1: 0.8, 2: 0.1}),
]
BOOL_ROWS = [
    (True, True, {True: 0.8, False: 0.2}),
    (False, True, {True: 0.6, False: 0.4}),
    (False, False, {True: 0.3, False: 0.7}),
    (True, False, {True: 0.45, False: 0.55}),
]


@pytest.mark.parametrize(
    "rows", [STRING_ROWS, THREE_CLASS_ROWS, BOOL_ROWS + [("x", True, {True: 0.5})]]
)
def test_roc_auc_is_not_applicable_beyond_binary_labels(rows: list[Any]) -> None:
    snap = fed(rows).snapshot()
    assert snap["scored"] == len(rows) and snap["accuracy"] is not None
    assert snap["roc_auc"] is None
    assert merge_snapshots([snap, snap])["roc_auc"] is None


def test_roc_auc_is_none_when_nothing_was_scored_for_it() -> None:
    snap = fed([(True, True, None), (False, True, None)]).snapshot()
    assert snap["scored"] == 2 and snap["roc_auc"] is None


def test_merge_keeps_only_the_binary_task_s_roc_auc() -> None:
    binary = fed(BOOL_ROWS).snapshot()
    multiclass = fed(THREE_CLASS_ROWS).snapshot()
    assert binary["roc_auc"] is not None and multiclass["roc_auc"] is None
    assert merge_snapshots([binary, multiclass])["roc_auc"] == binary["roc_auc"]
    assert merge_snapshots([multiclass, binary])["roc_auc"] == binary["roc_auc"]


def test_a_task_with_int_labels_reports_river_s_roc_auc() -> None:
    task = make_task()
    records, labels = [], {}
    for i in range(300):
        x = float(i % 10)
        labels[f"e{i}"] = int(x > 4)
        records += [rec(2 * i, obs(f"e{i}", i, x=x), ms(i))]
        records += [rec(2 * i + 1, outcome(f"e{i}", i, label=labels[f"e{i}"]), ms(i))]
    out = run(task, records)
    river = metrics.ROCAUC(pos_val=1)
    for p in out.predictions:
        assert p.probabilities is not None
        river.update(labels[p.event_id], p.probabilities)
    snap = task.snapshot()
    assert snap["scored"] == 300 and snap["roc_auc"] == round(float(river.get()), 4) > 0.5


# -- 3. one base model for the fields both events share --------------------------------------------
def test_events_share_one_base_model() -> None:
    EventBase = events.EventBase  # noqa: N806
    assert issubclass(Observation, EventBase) and issubclass(Outcome, EventBase)
    shared = ["event_id", "key", "event_time"]
    assert list(EventBase.model_fields) == shared
    for model in (Observation, Outcome):
        assert list(model.model_fields)[:3] == shared
        assert not set(shared) & set(model.__dict__.get("__annotations__", {})), model
        assert model.model_config["frozen"] and model.model_config["extra"] == "forbid"
    assert list(Observation.model_fields) == [*shared, "features"]
    assert list(Outcome.model_fields) == [*shared, "label"]


def test_shared_validators_apply_to_both_events() -> None:
    for model, extra in ((Observation, {"features": {}}), (Outcome, {"label": True})):
        with pytest.raises(ValueError, match="epoch number"):
            model(event_id="a", key="k", event_time=1_700_000_000, **extra)
        with pytest.raises(ValueError, match="no time zone"):
            model(event_id="a", key="k", event_time="2024-01-01T00:00:00", **extra)
        event = model(event_id="a", key="k", event_time="2024-01-01T01:00:00+01:00", **extra)
        assert event.event_time == T0 and event.event_time.tzinfo is UTC
        assert list(event.model_dump())[:3] == ["event_id", "key", "event_time"]


# -- 4. one set of epoch helpers -------------------------------------------------------------------
def test_from_epoch_seconds_and_milliseconds() -> None:
    from_epoch = times.from_epoch
    assert datetime(1970, 1, 1, tzinfo=UTC) == times.EPOCH
    assert from_epoch(1_700_000_000, "s") == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert from_epoch(1_700_000_000_123, "ms") == datetime(
        2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC
    )
    assert from_epoch(1_700_000_000.5, "s").microsecond == 500_000


@pytest.mark.parametrize(
    ("number", "unit", "match"),
    [
        (math.inf, "s", "not finite"),
        (math.nan, "ms", "not finite"),
        (10**30, "s", "out of range"),
        (1_700_000_000, "ms", "outside"),  # seconds read as milliseconds: January 1970
        (1_700_000_000_000, "s", "out of range|outside"),  # milliseconds read as seconds
    ],
)
def test_from_epoch_refuses_absurd_numbers(number: float, unit: Any, match: str) -> None:
    with pytest.raises(EventValidationError, match=match):
        times.from_epoch(number, unit)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_epoch_micros_is_exact(naive: datetime) -> None:
    value = naive.replace(tzinfo=UTC)
    micros = times.epoch_micros(value)
    EPOCH = times.EPOCH  # noqa: N806
    assert EPOCH + timedelta(microseconds=micros) == value
    assert to_millis(value) == micros // 1000
    if -(2**52) < micros < 2**52:
        assert from_millis(micros // 1000) == EPOCH + timedelta(milliseconds=micros // 1000)


def test_producers_use_the_shared_epoch_helpers() -> None:
    from driftline.producers import tabular
    from driftline.producers.flights import events as flights

    EPOCH, from_epoch = times.EPOCH, times.from_epoch  # noqa: N806
    for module in (tabular, flights):
        assert not hasattr(module, "_EPOCH"), module
        assert not hasattr(module, "_EPOCH_DT"), module
    assert not hasattr(tabular, "_epoch")
    assert tabular.parse_time(1_700_000_000_123, time_unit="ms") == from_epoch(
        1_700_000_000_123, "ms"
    )
    stamps = pd.Series(pd.to_datetime(["2013-01-01 10:15:00", "2013-06-30 23:59:59"], utc=True))
    assert flights._epoch_seconds(stamps) == [
        (t.to_pydatetime() - EPOCH) // timedelta(seconds=1) for t in stamps
    ]
