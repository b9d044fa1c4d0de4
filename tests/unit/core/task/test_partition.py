"""PartitionTask: the per-partition prequential step, driven with encoded Kafka records.

Every test builds :class:`InputRecord` values from events with the real codec and calls
:meth:`PartitionTask.process` (or :meth:`PartitionTask.advance_watermark`): no service, no
clock, no sleep.
"""

from __future__ import annotations

import copy
import io
import json
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from river import datasets, evaluate, linear_model, metrics, preprocessing

from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome, avro_schema
from driftline.core.events.records import DeadLetter, InputRecord, Prediction
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.models import DEFAULT_MODEL
from driftline.core.quality.rules import QualityRules
from driftline.core.task.fingerprint import config_fingerprint
from driftline.core.task.partition import PartitionTask, TaskConfig, TaskOutput
from driftline.core.times import to_millis
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from driftline.producers.sources import LabelledEvent

CODEC = EventCodec()
T0 = datetime(2024, 1, 1, tzinfo=UTC)
PROCESSED_AT = datetime(2024, 6, 1, tzinfo=UTC)
RAW = FeatureConfig(raw_only=True)
CLASSIFIER = "preprocessing.StandardScaler() | linear_model.LogisticRegression()"
REGRESSOR = "preprocessing.StandardScaler() | linear_model.LinearRegression()"


# -- helpers ---------------------------------------------------------------------------------------
def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ms(seconds: float) -> int:
    """The broker timestamp (ingest time) ``seconds`` after T0."""
    return to_millis(at(seconds))


def obs(event_id: str, t: float, key: str = "k", **features: Any) -> Observation:
    return Observation(
        event_id=event_id, key=key, event_time=at(t), features=features or {"x": 1.0}
    )


def outcome(event_id: str, t: float, label: Any = True, key: str = "k") -> Outcome:
    return Outcome(event_id=event_id, key=key, event_time=at(t), label=label)


def rec(
    offset: int, event: Event, ingest_ms: int, *, key: str | None = None, partition: int = 0
) -> InputRecord:
    """The Kafka record of ``event``; ``key`` overrides the record key."""
    record_key = (event.key if key is None else key).encode()
    return InputRecord(partition, offset, record_key, CODEC.encode(event), ingest_ms)


def on_time(events: Sequence[Event], start: int = 0, partition: int = 0) -> list[InputRecord]:
    """Records of ``events`` at consecutive offsets, each ingested at its own event time."""
    return [
        rec(start + i, e, to_millis(e.event_time), partition=partition)
        for i, e in enumerate(events)
    ]


def make_task(model: str = CLASSIFIER, partition: int = 0, **config: Any) -> PartitionTask:
    config.setdefault("features", RAW)
    return PartitionTask(partition, TaskConfig(model=model, **config))


def run(task: PartitionTask, records: Sequence[InputRecord]) -> TaskOutput:
    return task.process(records, PROCESSED_AT)


def header(schema_id: int, magic: int = 0) -> bytes:
    return struct.pack(">bI", magic, schema_id)


def raw_observation(fields: dict[str, Any]) -> bytes:
    """An observation body written with fastavro directly (no pydantic on the way out)."""
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(avro_schema("observation")), fields)
    return header(1) + body.getvalue()


@dataclass
class Recorder:
    """Wraps a bound method and records its positional arguments (deep-copied)."""

    inner: Callable[..., Any]
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(copy.deepcopy(args))
        return self.inner(*args, **kwargs)


def spy(monkeypatch: pytest.MonkeyPatch, obj: Any, name: str) -> Recorder:
    recorder = Recorder(getattr(obj, name))
    monkeypatch.setattr(obj, name, recorder)
    return recorder


# -- test-then-train -------------------------------------------------------------------------------
def test_learns_from_exactly_the_vector_it_predicted_with(monkeypatch: pytest.MonkeyPatch) -> None:
    """Engineered features (lateness, calendar, label history) are frozen at prediction time."""
    task = make_task(  # the default model: text one-hot encoded, numbers scaled
        model=DEFAULT_MODEL,
        features=FeatureConfig(history_groups=("key", "carrier"), history_alpha=0.5),
    )
    added = spy(monkeypatch, task.pending, "add")
    learned = spy(monkeypatch, task.model, "learn_one")
    scored = spy(monkeypatch, task.metrics, "score")

    # "a" is predicted 10 s late, before any label of its key or carrier is known
    first = run(task, [rec(0, obs("a", 0, carrier="UA", d=3.0, red=True), ms(10))])
    [(entry_a,)] = added.calls
    assert entry_a.x["lateness_s"] == 10.0
    assert "recent_label[key]" not in entry_a.x
    # meanwhile other observations of the same key/carrier are learned: history and model move
    others = [
        rec(1, obs("b", 20, carrier="UA", d=1.0, red=False), ms(20)),
        rec(2, outcome("b", 21, False), ms(21)),
        rec(3, obs("c", 30, carrier="UA", d=5.0, red=True), ms(30)),
        rec(4, outcome("c", 31, True), ms(31)),
    ]
    run(task, others)
    assert task.history is not None
    assert task.history.features({"key": "k", "carrier": "UA"}) == {
        "recent_label[key]": 0.5,
        "recent_label[carrier]": 0.5,
    }
    # a's outcome arrives an hour later: learned from a's stored vector, scored with a's
    # stored prediction, though the model would now say something else for that vector
    run(task, [rec(5, outcome("a", 3600, True), ms(3600))])
    assert learned.calls[-1] == (entry_a.x, True)
    assert learned.calls[-1][0]["lateness_s"] == 10.0
    assert "recent_label[key]" not in learned.calls[-1][0]
    [prediction_a] = first.predictions
    assert scored.calls[-1][:3] == (True, prediction_a.prediction, prediction_a.probabilities)
    assert (entry_a.prediction, entry_a.probabilities) == (
        prediction_a.prediction,
        prediction_a.probabilities,
    )
    assert task.model.predict_proba_one(entry_a.x) != prediction_a.probabilities
    assert task.metrics.counts["learned"] == 3 and len(task.pending) == 0


def test_each_learned_vector_is_the_one_stored_for_that_observation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = make_task(features=FeatureConfig(calendar=True, lateness=True))
    added = spy(monkeypatch, task.pending, "add")
    learned = spy(monkeypatch, task.model, "learn_one")
    events: list[Event] = [obs(str(i), i, x=float(i), flag=i % 2 == 0) for i in range(6)]
    events += [outcome(str(i), 100 + i, i % 3 == 0) for i in reversed(range(6))]
    run(task, [rec(i, e, to_millis(e.event_time) + 1000 * i) for i, e in enumerate(events)])
    stored = {entry.event_id: entry.x for (entry,) in added.calls}
    assert [x for x, _ in learned.calls] == [stored[str(i)] for i in reversed(range(6))]
    assert [y for _, y in learned.calls] == [i % 3 == 0 for i in reversed(range(6))]


def test_an_observation_is_predicted_before_its_own_label_is_learned() -> None:
    task = make_task()
    out = run(task, on_time([obs("a", 0, x=2.0), outcome("a", 0, True)]))
    assert out.predictions[0].probabilities == {False: 0.5, True: 0.5}  # untrained model
    assert out.predictions[0].model_version == 0
    assert task.model_version == 1
    assert task.model.predict_proba_one({"x": 2.0})[True] > 0.5


# -- equivalence with River's progressive validation ---------------------------------------------
def replayed(dataset: Any, delay_s: int) -> list[InputRecord]:
    """Observation i at T0+i s, its outcome at T0+(i+delay) s, in the replay's arrival order."""
    source = [
        LabelledEvent(
            Observation(event_id=str(i), key="k", event_time=at(i), features=x),
            Outcome(event_id=str(i), key="k", event_time=at(i + delay_s), label=y),
        )
        for i, (x, y) in enumerate(dataset)
    ]
    timed = ReplayPlan(delay=ArrivalDelay(0, 0)).schedule(source)
    return [
        InputRecord(0, offset, t.event.key.encode(), CODEC.encode(t.event), to_millis(t.arrival))
        for offset, t in enumerate(timed)
    ]


def river_predictions(dataset: Any, model: Any, metric: Any, delay: int | None) -> list[Any]:
    steps = evaluate.iter_progressive_val_score(
        dataset, model, metric, delay=delay, yield_predictions=True, step=1
    )
    return [step["Prediction"] for step in steps]


CASES = {
    "phishing": (
        datasets.Phishing,
        CLASSIFIER,
        lambda: preprocessing.StandardScaler() | linear_model.LogisticRegression(),
        metrics.Accuracy,
    ),
    "trump": (
        datasets.TrumpApproval,
        REGRESSOR,
        lambda: preprocessing.StandardScaler() | linear_model.LinearRegression(),
        metrics.MAE,
    ),
}


@pytest.mark.parametrize("delay", [0, 1, 5])
@pytest.mark.parametrize("case", sorted(CASES))
def test_raw_mode_equals_river_progressive_validation(case: str, delay: int) -> None:
    """Same predictions, bit for bit, as ``iter_progressive_val_score(delay=d)``.

    Semantics of ``d``: River reveals the answer of question ``j`` before question ``i``
    when ``j + d <= i``, and the replay releases an outcome at ``T0+(j+d)`` before the
    observation at ``T0+i`` for the same condition (arrival ties: what was due first goes
    first). So ``d=0`` and ``d=1`` both mean "learn i-1 before predicting i", which is also
    River's ``delay=None`` (see the next test); ``d=5`` keeps five labels in flight.
    """
    make_dataset, spec, make_model, make_metric = CASES[case]
    task = make_task(model=spec, quality=QualityRules(max_future_s=1e12))
    out = run(task, replayed(make_dataset(), delay))
    expected = river_predictions(make_dataset(), make_model(), make_metric(), delay)
    assert [p.event_id for p in out.predictions] == [str(i) for i in range(len(expected))]
    assert [p.prediction for p in out.predictions] == expected
    assert out.dead_letters == []
    counts = task.metrics.counts
    assert counts["learned"] == counts["predictions"] == len(expected)
    assert counts["early_outcomes"] == 0 and len(task.pending) == 0


@pytest.mark.parametrize("delay", [0, 1, 5])
def test_raw_mode_probabilities_equal_river(delay: int) -> None:
    task = make_task(model=CLASSIFIER, quality=QualityRules(max_future_s=1e12))
    out = run(task, replayed(datasets.Phishing(), delay))
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    # LogLoss needs probabilities, so River calls predict_proba_one, as the task does
    expected = river_predictions(datasets.Phishing(), model, metrics.LogLoss(), delay)
    assert [p.probabilities for p in out.predictions] == expected


def test_river_delay_zero_and_one_are_its_no_delay_mode() -> None:
    """Why d=0 is compared with ``delay=0`` above and needs no special case."""

    def preds(delay: int | None) -> list[Any]:
        model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
        return river_predictions(datasets.Phishing(), model, metrics.Accuracy(), delay)

    no_delay = preds(None)
    assert preds(0) == no_delay
    assert preds(1) == no_delay
    assert preds(5) != no_delay


# -- dead letters ----------------------------------------------------------------------------------
VALID_OBS = CODEC.encode(obs("v", 0))

UNDECODABLE = {
    "bad-magic-byte": b"\x01" + VALID_OBS[1:],
    "truncated": VALID_OBS[:3],
    "unknown-schema": header(99) + VALID_OBS[5:],
    "avro-decode": VALID_OBS[:8],
    "trailing-bytes": VALID_OBS + b"\x00",
    "empty-value": None,
    "schema-violation": raw_observation(
        {"event_id": "n", "key": "k", "event_time": T0, "features": {"x": math.nan}}
    ),
}


@pytest.mark.parametrize(
    ("reason", "value"),
    [
        *UNDECODABLE.items(),
        (
            "schema-violation",
            raw_observation(
                {
                    "event_id": "y",
                    "key": "k",
                    "event_time": datetime(2200, 1, 1, tzinfo=UTC),
                    "features": {"x": 1.0},
                }
            ),
        ),
    ],
)
def test_undecodable_records_become_dead_letters(reason: str, value: bytes | None) -> None:
    task = make_task(partition=3)
    bad = InputRecord(3, 41, b"k", value, ms(0))
    out = run(task, [bad, rec(42, obs("v", 1), ms(1), partition=3)])
    assert out.dead_letters == [
        DeadLetter(reason, out.dead_letters[0].detail, 3, 41, b"k", value, ms(0), None)
    ]
    assert out.dead_letters[0].detail
    assert [(p.event_id, p.partition, p.offset) for p in out.predictions] == [("v", 3, 42)]
    assert task.metrics.dead_letters == {reason: 1}
    assert task.metrics.counts["dead_letters"] == 1
    assert task.metrics.counts["records"] == 2
    assert task.next_offset == 43


@dataclass(frozen=True)
class Scenario:
    """Records that end in one dead letter: its reason, offset and kind."""

    config: dict[str, Any]
    records: list[InputRecord]
    reason: str
    offset: int
    kind: str
    last_t: float


def scenarios() -> dict[str, Scenario]:
    ttl = {"pending_ttl_s": 60.0}
    out_of_range = {"quality": QualityRules(feature_bounds={"x": (0.0, 10.0)})}
    return {
        "key-mismatch": Scenario(
            {}, [rec(7, obs("a", 0), ms(0), key="other")], "key-mismatch", 7, "observation", 0
        ),
        "key-mismatch-none": Scenario(
            {},
            [InputRecord(0, 7, None, CODEC.encode(obs("a", 0)), ms(0))],
            "key-mismatch",
            7,
            "observation",
            0,
        ),
        "event-time-in-future": Scenario(
            {"quality": QualityRules(max_future_s=60.0)},
            [rec(7, obs("a", 61), ms(0))],
            "event-time-in-future",
            7,
            "observation",
            0,
        ),
        "event-time-too-old": Scenario(
            {"quality": QualityRules(max_age_s=3600.0)},
            [rec(7, obs("a", 0), ms(3601))],
            "event-time-too-old",
            7,
            "observation",
            3601,
        ),
        "outcome-too-old": Scenario(
            {"quality": QualityRules(max_age_s=3600.0)},
            [rec(6, obs("a", 0), ms(0)), rec(7, outcome("a", 1), ms(3602))],
            "event-time-too-old",
            7,
            "outcome",
            3602,
        ),
        "out-of-range": Scenario(
            out_of_range, [rec(7, obs("a", 0, x=10.5), ms(0))], "out-of-range", 7, "observation", 0
        ),
        "label-type-classifier": Scenario(
            {},
            [rec(6, obs("a", 0), ms(0)), rec(7, outcome("a", 1, 0.5), ms(1))],
            "label-type",
            7,
            "outcome",
            1,
        ),
        "label-type-regressor-str": Scenario(
            {"model": REGRESSOR},
            [rec(6, obs("a", 0), ms(0)), rec(7, outcome("a", 1, "high"), ms(1))],
            "label-type",
            7,
            "outcome",
            1,
        ),
        "label-type-regressor-bool": Scenario(
            {"model": REGRESSOR},
            [rec(6, obs("a", 0), ms(0)), rec(7, outcome("a", 1, True), ms(1))],
            "label-type",
            7,
            "outcome",
            1,
        ),
        "expired-observation": Scenario(
            ttl,
            [
                rec(5, obs("a", 0), ms(0)),
                rec(6, obs("b", 60), ms(60)),  # watermark reaches a's deadline: expired
                rec(7, outcome("a", 61), ms(61)),
            ],
            "expired-observation",
            7,
            "outcome",
            61,
        ),
        "unknown-observation-dead-lettered": Scenario(
            out_of_range,
            # a dead-lettered observation (offset 6, out-of-range), then its outcome: at once
            [rec(6, obs("a", 0, x=99.0), ms(0)), rec(7, outcome("a", 1), ms(1))],
            "unknown-observation",
            7,
            "outcome",
            1,
        ),
        "unknown-observation-never-came": Scenario(
            ttl,
            [
                rec(7, outcome("z", 0), ms(0)),
                rec(8, obs("b", 59), ms(59)),
                rec(9, obs("c", 60), ms(60)),  # the held outcome's TTL has passed
            ],
            "unknown-observation",
            7,
            "outcome",
            60,
        ),
    }


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_bad_events_become_dead_letters_and_the_task_goes_on(name: str) -> None:
    scenario = scenarios()[name]
    task = make_task(partition=0, **scenario.config)
    out = run(task, scenario.records)
    [letter] = [d for d in out.dead_letters if d.offset == scenario.offset]
    [record] = [r for r in scenario.records if r.offset == scenario.offset]
    assert letter == DeadLetter(
        scenario.reason,
        letter.detail,
        record.partition,
        record.offset,
        record.key,
        record.value,
        record.timestamp_ms,
        scenario.kind,
    )
    assert letter.detail
    assert task.metrics.dead_letters[scenario.reason] == 1
    assert task.metrics.counts["dead_letters"] == len(out.dead_letters)
    assert task.metrics.counts[f"dead_letters_{scenario.kind}"] == 1
    # a valid event after the bad one is still predicted
    last = scenario.last_t
    after = run(task, [rec(100, obs("fresh", last, x=1.0), ms(last))])
    assert [p.event_id for p in after.predictions] == ["fresh"]
    assert after.dead_letters == []


def test_unknown_observation_is_held_until_its_ttl_passes() -> None:
    task = make_task(pending_ttl_s=60.0)
    out = run(task, [rec(0, outcome("z", 0), ms(0)), rec(1, obs("b", 59), ms(59))])
    assert out.dead_letters == [] and task.metrics.counts["early_outcomes"] == 1
    assert task.snapshot()["counts"]["early_outcomes_waiting"] == 1
    out = run(task, [rec(2, obs("c", 60), ms(60))])
    assert [(d.reason, d.offset, d.kind) for d in out.dead_letters] == [
        ("unknown-observation", 0, "outcome")
    ]
    assert task.snapshot()["counts"]["early_outcomes_waiting"] == 0


def test_a_dead_lettered_outcome_leaves_its_observation_pending() -> None:
    task = make_task()
    run(task, on_time([obs("a", 0), outcome("a", 1, 0.5)]))
    assert "a" in task.pending and task.metrics.counts["learned"] == 0


def test_a_future_dated_dead_letter_does_not_move_the_watermark() -> None:
    task = make_task(quality=QualityRules(max_future_s=300.0))  # pending TTL: 7 days
    out = run(
        task,
        [
            rec(0, obs("a", 0), ms(0)),
            rec(1, obs("skewed", 30 * 24 * 3600), ms(1)),  # 30 days ahead of its ingest
            rec(2, outcome("a", 5), ms(5)),
        ],
    )
    assert [d.reason for d in out.dead_letters] == ["event-time-in-future"]
    assert task.metrics.counts["learned"] == 1
    assert task.watermark == at(5)


def refused_at(t: float) -> dict[str, InputRecord]:
    """Records with event time ``t`` (ingested then) that are refused: none is accepted."""
    return {
        "key-mismatch-observation": rec(5, obs("b", t), ms(t), key="other"),
        "key-mismatch-outcome": rec(5, outcome("a", t), ms(t), key="other"),
        "out-of-range": rec(5, obs("b", t, x=99.0), ms(t)),
        "event-time-too-old": rec(5, obs("b", t), ms(t + 7200)),
        "label-type": rec(5, outcome("b", t, 0.5), ms(t)),
        "duplicate-observation": rec(5, obs("a", t), ms(t)),
        "duplicate-outcome": rec(5, outcome("a0", t), ms(t)),
    }


@pytest.mark.parametrize("name", sorted(refused_at(0)))
def test_only_events_that_pass_every_rule_move_the_watermark(name: str) -> None:
    rules = QualityRules(max_age_s=3600.0, feature_bounds={"x": (0.0, 10.0)})
    task = make_task(pending_ttl_s=60.0, quality=rules)
    run(task, on_time([obs("a0", 0), outcome("a0", 0), obs("a", 1)]))
    assert task.watermark == at(1)
    out = run(task, [refused_at(10_000)[name]])  # far past a's deadline, were it accepted
    assert out.predictions == [] and out.expired == 0
    assert task.watermark == at(1) and "a" in task.pending
    assert task.metrics.counts["learned"] == 1 and task.metrics.counts["expired"] == 0
    out = run(task, [rec(6, obs("c", 61), ms(61))])  # an accepted event still moves it
    assert task.watermark == at(61) and out.expired == 1


def test_advance_watermark_surfaces_the_dead_letters_it_makes() -> None:
    task = make_task(pending_ttl_s=60.0)
    held = rec(0, outcome("z", 0), ms(0))
    assert run(task, [held]).dead_letters == []
    result = task.advance_watermark(at(59))
    assert result == TaskOutput() and len(task.early) == 1  # not yet due
    result = task.advance_watermark(at(60))  # the held outcome's deadline: inclusive
    [letter] = result.dead_letters
    assert letter == DeadLetter(
        "unknown-observation",
        letter.detail,
        held.partition,
        held.offset,
        held.key,
        held.value,
        held.timestamp_ms,
        "outcome",
    )
    assert "z" in letter.detail
    assert result.expired == 0 and result.predictions == []
    assert task.metrics.dead_letters == {"unknown-observation": 1}
    assert task.metrics.counts["dead_letters_outcome"] == 1 and len(task.early) == 0
    assert task.advance_watermark(at(600)) == TaskOutput()  # dead-lettered once only


# -- duplicates ------------------------------------------------------------------------------------
def test_duplicate_observation_is_predicted_once() -> None:
    task = make_task()
    out = run(task, on_time([obs("a", 0), obs("a", 0), obs("a", 1, x=5.0)]))
    assert [p.offset for p in out.predictions] == [0]
    counts = task.metrics.counts
    assert (counts["duplicates"], counts["observations"], counts["predictions"]) == (2, 1, 1)
    assert out.dead_letters == []


def test_duplicate_outcome_is_learned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    task = make_task()
    learned = spy(monkeypatch, task.model, "learn_one")
    out = run(
        task, on_time([obs("a", 0), outcome("a", 1), outcome("a", 2), outcome("a", 3, False)])
    )
    assert len(learned.calls) == 1 and learned.calls[0][1] is True
    counts = task.metrics.counts
    # the same label is a duplicate; another label is a conflicting outcome (dead letter)
    assert (counts["duplicates"], counts["outcomes"], counts["learned"]) == (1, 2, 1)
    assert task.metrics.scored == 1
    assert [d.reason for d in out.dead_letters] == ["conflicting-outcome"]


def test_duplicates_across_calls_are_caught() -> None:
    task = make_task()
    run(task, on_time([obs("a", 0), outcome("a", 1)]))
    out = run(task, on_time([obs("a", 0), outcome("a", 1)], start=2))
    assert out.predictions == [] and task.metrics.counts["duplicates"] == 2


# -- early outcomes --------------------------------------------------------------------------------
def test_early_outcome_waits_for_its_observation(monkeypatch: pytest.MonkeyPatch) -> None:
    task = make_task()
    run(task, on_time([obs("w1", 0, x=1.0), outcome("w1", 0, True)]))
    run(task, on_time([obs("w2", 0, x=-1.0), outcome("w2", 0, False)], start=2))
    out = run(task, [rec(4, outcome("a", 10, True), ms(10))])
    assert out.predictions == [] and out.dead_letters == []
    assert task.metrics.counts["early_outcomes"] == 1 and len(task.early) == 1
    assert "a" not in task.pending

    before = task.model.predict_proba_one({"x": 3.0})
    version = task.model_version
    learned = spy(monkeypatch, task.model, "learn_one")
    out = run(task, [rec(5, obs("a", 5, x=3.0), ms(11))])
    [prediction] = out.predictions
    assert prediction.probabilities == before  # predicted with the state before its label
    assert prediction.model_version == version
    assert learned.calls == [({"x": 3.0}, True)]  # then learned
    assert task.model.predict_proba_one({"x": 3.0}) != before
    counts = task.metrics.counts
    assert counts["learned"] == 3 and counts["early_outcomes"] == 1
    assert len(task.early) == 0 and len(task.pending) == 0
    assert task.metrics.scored == 3


REFUSED_OBSERVATIONS = {
    "key-mismatch": rec(1, obs("a", 1), ms(1), key="other"),
    "out-of-range": rec(1, obs("a", 1, x=99.0), ms(1)),
    "event-time-in-future": rec(1, obs("a", 1000), ms(1)),
}


@pytest.mark.parametrize("reason", sorted(REFUSED_OBSERVATIONS))
def test_an_early_outcome_whose_observation_is_dead_lettered_is_dead_lettered_at_once(
    reason: str,
) -> None:
    rules = QualityRules(max_future_s=60.0, feature_bounds={"x": (0.0, 10.0)})
    task = make_task(pending_ttl_s=60.0, quality=rules)
    held = rec(0, outcome("a", 0), ms(0))
    assert run(task, [held]).dead_letters == [] and len(task.early) == 1
    out = run(task, [REFUSED_OBSERVATIONS[reason]])
    assert [(d.reason, d.offset, d.kind) for d in out.dead_letters] == [
        (reason, 1, "observation"),
        ("unknown-observation", 0, "outcome"),  # at once, not when its TTL passes
    ]
    letter = out.dead_letters[1]
    assert letter == DeadLetter(
        "unknown-observation",
        letter.detail,
        held.partition,
        held.offset,
        held.key,
        held.value,
        held.timestamp_ms,
        "outcome",
    )
    assert "a" in letter.detail and reason in letter.detail
    assert out.predictions == [] and len(task.early) == 0 and "a" not in task.pending
    c = task.metrics.counts
    assert (c["observations"], c["outcomes"], c["early_outcomes"]) == (1, 1, 1)
    assert (c["dead_letters_observation"], c["dead_letters_outcome"], c["learned"]) == (1, 1, 0)
    assert c["outcomes"] == c["learned"] + c["dead_letters_outcome"] + len(task.early)
    assert task.snapshot()["counts"]["early_outcomes_waiting"] == 0
    # nothing is left over to be dead-lettered a second time when the TTL passes
    assert task.advance_watermark(at(10**6)).dead_letters == []
    assert task.metrics.dead_letters == {reason: 1, "unknown-observation": 1}


def test_early_outcome_then_late_duplicate_outcome() -> None:
    task = make_task()
    out = run(task, on_time([outcome("a", 5), obs("a", 0), outcome("a", 5)]))
    assert len(out.predictions) == 1
    assert task.metrics.counts["learned"] == 1 and task.metrics.counts["duplicates"] == 1


# -- pending TTL -----------------------------------------------------------------------------------
def test_pending_entries_expire_on_the_event_time_watermark() -> None:
    task = make_task(pending_ttl_s=60.0)
    out = run(task, on_time([obs("a", 0), obs("b", 59.999)]))
    assert out.expired == 0 and len(task.pending) == 2
    out = run(task, on_time([obs("c", 60)], start=2))  # a's deadline is T0+60: inclusive
    assert out.expired == 1 and "a" not in task.pending and "b" in task.pending
    assert task.metrics.counts["expired"] == 1
    assert task.metrics.counts["pending"] == 2


def test_outcomes_move_the_watermark_too() -> None:
    task = make_task(pending_ttl_s=60.0)
    run(task, on_time([obs("a", 0), obs("b", 1)]))
    out = run(task, on_time([outcome("b", 70)], start=2))
    assert out.expired == 1 and task.metrics.counts["learned"] == 1
    assert task.watermark == at(70)


def test_allowed_lateness_delays_expiry() -> None:
    task = make_task(pending_ttl_s=60.0, allowed_lateness_s=30.0)
    run(task, on_time([obs("a", 0), obs("b", 89)]))
    assert task.watermark == at(59) and "a" in task.pending
    out = run(task, on_time([obs("c", 90)], start=2))
    assert out.expired == 1 and "a" not in task.pending


def test_late_observation_beyond_the_watermark_is_predicted_then_expired() -> None:
    task = make_task(pending_ttl_s=60.0)
    run(task, on_time([obs("a", 1000)]))
    out = run(task, [rec(1, obs("old", 0), ms(1000))])
    assert len(out.predictions) == 1 and out.expired == 1
    out = run(task, [rec(2, outcome("old", 1), ms(1001))])
    assert [d.reason for d in out.dead_letters] == ["expired-observation"]


def test_advance_watermark_expires_idle_entries() -> None:
    task = make_task(pending_ttl_s=60.0, allowed_lateness_s=30.0)
    run(task, on_time([obs("a", 0), obs("b", 50)]))
    assert task.advance_watermark(at(59)) == TaskOutput(expired=0)
    assert task.watermark == at(59)
    assert task.advance_watermark(at(60)) == TaskOutput(expired=1)  # no dead letters
    assert task.watermark == at(60) and list(task.pending._entries) == ["b"]
    assert task.metrics.counts["expired"] == 1 and task.metrics.counts["pending"] == 1
    assert task.advance_watermark(at(0)) == TaskOutput(expired=0)  # never backwards
    assert task.watermark == at(60)
    run(task, [rec(2, outcome("a", 61), ms(61))])
    assert task.metrics.dead_letters == {"expired-observation": 1}


def test_advance_watermark_on_a_fresh_task() -> None:
    task = make_task()
    assert task.watermark is None
    assert task.advance_watermark(at(0)) == TaskOutput()
    assert task.watermark == at(0)


# -- counts add up ---------------------------------------------------------------------------------
@st.composite
def streams(draw: st.DrawFn) -> list[tuple[Event, float]]:
    """Observations (some out of range), outcomes (some missing, some float-labelled), dupes;
    shuffled; each with an ingest time at or after its event time."""
    events: list[Event] = []
    for i in range(draw(st.integers(0, 12))):
        t = draw(st.integers(0, 300))
        x = draw(st.sampled_from([1.0, 2.0, 99.0]))  # 99 is out of range
        events.append(obs(f"e{i}", t, x=x))
        if draw(st.booleans()):
            label = draw(st.sampled_from([True, False, 0.5]))  # 0.5: label-type
            events.append(outcome(f"e{i}", t + draw(st.integers(0, 200)), label))
    events += draw(st.lists(st.sampled_from(events), max_size=4)) if events else []
    events = draw(st.permutations(events))
    return [(e, draw(st.integers(0, 30))) for e in events]


def stream_records(stream: list[tuple[Event, float]]) -> list[InputRecord]:
    return [
        rec(i, e, to_millis(e.event_time) + 1000 * int(late)) for i, (e, late) in enumerate(stream)
    ]


def stream_task(lateness: float = 0.0) -> PartitionTask:
    return make_task(
        pending_ttl_s=120.0,
        allowed_lateness_s=lateness,
        quality=QualityRules(feature_bounds={"x": (0.0, 10.0)}),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(), lateness=st.sampled_from([0.0, 45.0]))
def test_counts_add_up(stream: list[tuple[Event, float]], lateness: float) -> None:
    task = stream_task(lateness)
    out = run(task, stream_records(stream))
    c = task.metrics.counts
    waiting = len(task.early)
    assert c["records"] == len(stream)
    assert c["observations"] + c["outcomes"] + c["duplicates"] == len(stream)
    assert c["observations"] == c["predictions"] + c["dead_letters_observation"]
    assert c["learned"] + len(task.pending) + c["expired"] == c["predictions"]
    assert c["outcomes"] == c["learned"] + c["dead_letters_outcome"] + waiting
    assert c["pending"] == len(task.pending)
    assert c["predictions"] == len(out.predictions)
    assert c["dead_letters"] == len(out.dead_letters) == sum(task.metrics.dead_letters.values())
    assert task.metrics.scored == c["learned"] == task.model_version
    assert out.expired == c["expired"]
    # flushing the watermark far ahead empties the pending store and the early outcomes
    task.advance_watermark(at(10**6))
    assert len(task.pending) == 0 and len(task.early) == 0
    assert c["learned"] + c["expired"] == c["predictions"]


def test_key_mismatch_observations_count_as_observations() -> None:
    task = make_task()
    run(task, [rec(0, obs("a", 0), ms(0), key="other"), rec(1, obs("b", 0), ms(0))])
    c = task.metrics.counts
    assert (c["observations"], c["predictions"], c["dead_letters_observation"]) == (2, 1, 1)
    assert c["observations"] == c["predictions"] + c["dead_letters_observation"]


def test_key_mismatch_outcomes_count_as_outcomes() -> None:
    task = make_task()
    run(task, on_time([obs("a", 0), obs("b", 0)]))
    run(task, [rec(2, outcome("a", 1), ms(1), key="other"), rec(3, outcome("b", 1), ms(1))])
    c = task.metrics.counts
    assert (c["outcomes"], c["learned"], c["dead_letters_outcome"]) == (2, 1, 1)
    assert c["outcomes"] == c["learned"] + c["dead_letters_outcome"] + len(task.early)
    assert task.metrics.dead_letters == {"key-mismatch": 1} and "a" in task.pending


# -- determinism -----------------------------------------------------------------------------------
def outcome_of(task: PartitionTask, outputs: list[TaskOutput]) -> dict[str, Any]:
    return {
        "predictions": [p for o in outputs for p in o.predictions],
        "dead_letters": [d for o in outputs for d in o.dead_letters],
        "expired": sum(o.expired for o in outputs),
        "snapshot": task.snapshot(),
        "probe": task.model.predict_proba_one({"x": 1.5}),
        "version": task.model_version,
        "offset": task.next_offset,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(), data=st.data())
def test_batching_does_not_change_anything(stream: list[tuple[Event, float]], data: Any) -> None:
    records = stream_records(stream)
    cuts = sorted(
        data.draw(st.lists(st.integers(0, len(records)), max_size=6), label="split points")
    )
    whole = stream_task()
    expected = outcome_of(whole, [run(whole, records)])
    split = stream_task()
    bounds = [0, *cuts, len(records)]
    outputs = [run(split, records[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    assert outcome_of(split, outputs) == expected


def test_snapshot_is_json_ready() -> None:
    task = make_task()
    run(task, on_time([obs("a", 0), outcome("a", 1), obs("b", 2), outcome("z", 3)]))
    snap = task.snapshot()
    assert json.loads(json.dumps(snap, allow_nan=False)) == snap
    assert snap["counts"]["pending"] == 1 and snap["counts"]["early_outcomes_waiting"] == 1
    assert snap["next_offset"] == 4 and snap["model_version"] == 1
    assert snap["watermark"] == at(3).isoformat()


def test_predictions_carry_their_record_and_times() -> None:
    task = make_task(partition=2)
    out = run(task, [rec(17, obs("a", 0, x=1.0), ms(12), partition=2)])
    assert out.predictions == [
        Prediction(
            key="k",
            event_id="a",
            partition=2,
            offset=17,
            event_time=at(0),
            ingest_time=at(12),
            predicted_time=PROCESSED_AT,
            prediction=False,
            probabilities={False: 0.5, True: 0.5},
            model_version=0,
            model="main",
            decision=False,
            config=config_fingerprint(task.config),
        )
    ]
    assert task.metrics.lateness.count == 1


def test_pending_store_stays_within_max_pending() -> None:
    task = make_task(max_pending=3)
    out = run(task, on_time([obs(str(i), i) for i in range(5)]))
    assert len(task.pending) == 3 and out.expired == 2
    assert sorted(task.pending._entries) == ["2", "3", "4"]
    run(task, on_time([outcome("0", 10)], start=5))
    assert task.metrics.dead_letters == {"expired-observation": 1}
