"""The task remembers an event id only once the event passed validation: a corrected
resend of a dead-lettered observation or outcome is predicted and learned, and
duplicates of accepted events are still dropped; a task with 0/1 labels reports
River's ROC AUC.

Records are built with the real codec and driven through :meth:`PartitionTask.process`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from river import metrics

from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.quality.rules import QualityRules
from driftline.core.task.checkpoint import restore_task, seal_task
from driftline.core.task.partition import PartitionTask, TaskConfig, TaskOutput
from driftline.core.task.seal import CheckpointCodec
from driftline.core.times import to_millis

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


# -- dedupe records an id only once the event passed validation ---------------------------------
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
