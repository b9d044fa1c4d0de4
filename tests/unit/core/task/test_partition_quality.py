"""The task's data-quality rules end to end: what each finds, what becomes of the
record, what the figures and the quality log say, the late-inputs alert raised when
most observations come later than the allowed lateness, and that it all survives a
checkpoint.

Records are built with the real codec and driven through :meth:`PartitionTask.process`:
no service, no clock, no sleep."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.core.contract.check import Contract
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.metrics import merge_snapshots
from driftline.core.task.checkpoint import restore_task, seal_task
from driftline.core.task.partition import PartitionTask, TaskConfig, TaskOutput
from driftline.core.task.seal import CheckpointCodec
from driftline.core.times import to_millis

CODEC = EventCodec()
T0 = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2024, 6, 1, tzinfo=UTC)
RAW = FeatureConfig(raw_only=True)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def obs(event_id: str, t: float, key: str = "k", **features: Any) -> Observation:
    return Observation(
        event_id=event_id, key=key, event_time=at(t), features=features or {"x": 1.0}
    )


def outcome(event_id: str, t: float, label: Any = True, key: str = "k") -> Outcome:
    return Outcome(event_id=event_id, key=key, event_time=at(t), label=label)


def records(events: Sequence[Event | tuple[Event, float]], start: int = 0) -> list[InputRecord]:
    """Records at consecutive offsets; an event alone arrives at its event time, a pair
    ``(event, lateness_s)`` that many seconds after it."""
    out = []
    for i, item in enumerate(events):
        event, late = item if isinstance(item, tuple) else (item, 0.0)
        ingest = to_millis(event.event_time + timedelta(seconds=late))
        out.append(InputRecord(0, start + i, event.key.encode(), CODEC.encode(event), ingest))
    return out


def contract(**stream: Any) -> Contract:
    return Contract.model_validate(
        {
            "stream": {"allowed_lateness_s": 60.0} | stream,
            "features": {
                "x": {"type": "number", "range": [-100, 100], "missing": "impute"},
                "distance": {
                    "type": "number",
                    "unit": "mi",
                    "unit_field": "distance_unit",
                    "range": [1, 6000],
                    "missing": "allow",
                },
                "carrier": {
                    "type": "category",
                    "categories": ["UA", "DL"],
                    "case": "upper",
                    "aliases": {"United": "UA"},
                    "missing": "allow",
                },
            },
        }
    )


def task(**config: Any) -> PartitionTask:
    return PartitionTask(0, TaskConfig(features=RAW, **config))


def rules_of(out: TaskOutput) -> list[tuple[str | None, str]]:
    return [(f.event_id, f.rule) for f in out.findings]


# -- accuracy: duplicates and conflicting outcomes (with or without a contract) -------------------
def test_a_second_outcome_with_another_label_is_a_conflict_and_the_first_is_learned() -> None:
    t = task()
    out = t.process(
        records(
            [obs("a", 0), outcome("a", 1, True), outcome("a", 2, False), outcome("a", 3, True)]
        ),
        NOW,
    )
    assert t.metrics.counts["learned"] == 1
    assert t.metrics.counts["duplicates"] == 1  # the third outcome repeats the first label
    assert [d.reason for d in out.dead_letters] == ["conflicting-outcome"]
    assert out.dead_letters[0].offset == 2
    assert rules_of(out) == [("a", "conflicting-outcome"), ("a", "duplicate")]
    assert t.snapshot()["quality"]["rules"]["accuracy"] == {
        "conflicting-outcome": 1,
        "duplicate": 1,
    }
    # scored once, against the first label
    assert t.metrics.scored == 1
    assert {truth for truth, _, _ in t.metrics.snapshot()["confusion"]} == {True}


def test_labels_of_different_types_conflict_and_equal_ones_do_not() -> None:
    t = task()
    out = t.process(
        records([obs("a", 0), outcome("a", 1, 1), outcome("a", 2, True), outcome("a", 3, 1)]),
        NOW,
    )
    assert [d.reason for d in out.dead_letters] == ["conflicting-outcome"]
    assert t.metrics.counts["duplicates"] == 1


def test_an_early_outcome_then_a_conflicting_one_before_the_observation() -> None:
    t = task()
    out = t.process(records([outcome("a", 1, True), outcome("a", 2, False), obs("a", 0)]), NOW)
    assert [d.reason for d in out.dead_letters] == ["conflicting-outcome"]
    assert t.metrics.counts["learned"] == 1


def test_a_conflict_older_than_the_conflict_window_is_a_duplicate() -> None:
    t = task(conflict_window=2)
    events: list[Event] = [obs(f"o{i}", i) for i in range(3)]
    events += [outcome(f"o{i}", 10 + i, True) for i in range(3)]
    events += [outcome("o0", 20, False), outcome("o2", 21, False)]
    out = t.process(records(events), NOW)
    # o0's label is no longer remembered: its second outcome is a duplicate; o2's conflicts
    assert [(d.reason, d.offset) for d in out.dead_letters] == [("conflicting-outcome", 7)]
    assert t.metrics.counts["duplicates"] == 1


def test_exact_duplicates_are_dropped_and_logged_without_a_contract() -> None:
    t = task()
    out = t.process(records([obs("a", 0), obs("a", 0)]), NOW)
    assert len(out.predictions) == 1
    assert [(f.offset, f.rule, f.action) for f in out.findings] == [(1, "duplicate", "dropped")]


def test_dead_letter_reasons_count_in_their_dimension() -> None:
    t = task()
    future = obs("f", 0)
    out = t.process(records([(future, -3600.0)]), NOW)  # event time an hour after ingest
    assert [d.reason for d in out.dead_letters] == ["event-time-in-future"]
    assert out.findings[0].dimension == "timeliness"
    assert out.findings[0].event_id == "f"
    assert t.snapshot()["quality"]["events"] == {"timeliness": 1}


# -- with a contract ------------------------------------------------------------------------------
def test_the_contract_corrects_what_the_model_sees_and_logs_it() -> None:
    t = task(contract=contract())
    out = t.process(
        records(
            [
                obs("a", 0, x=1.0, distance=100.0, carrier="UA"),
                obs("b", 1, x=2.0, distance=160.9344, distance_unit="km", carrier=" united "),
            ]
        ),
        NOW,
    )
    assert len(out.predictions) == 2
    entry = t.pending._entries["b"]
    assert entry.x["carrier"] == "UA"
    assert entry.x["distance"] == pytest.approx(100.0)
    assert "distance_unit" not in entry.x
    assert sorted(rules_of(out)) == [("b", "spelling"), ("b", "unit-converted")]
    assert {f.action for f in out.findings} == {"accepted"}
    quality = t.snapshot()["quality"]
    assert quality["rules"] == {"consistency": {"spelling": 1, "unit-converted": 1}}
    assert quality["features"]["distance"] == {"unit-converted": 1}


def test_a_missing_value_is_imputed_from_what_came_before_with_an_indicator() -> None:
    t = task(contract=contract())
    t.process(records([obs("a", 0, x=2.0), obs("b", 1, x=4.0)]), NOW)
    out = t.process(records([obs("c", 2, carrier="DL")], start=2), NOW)
    entry = t.pending._entries["c"]
    assert entry.x["x"] == pytest.approx(3.0)
    assert entry.x["x_missing"] == 1.0
    assert t.pending._entries["a"].x["x_missing"] == 0.0
    assert rules_of(out) == [("c", "missing-imputed")]
    quality = merge_snapshots([t.snapshot()])["quality"]
    # 3 observations x 3 declared features; distance was missing in all, carrier in two
    assert quality["declared"] == 9
    assert quality["missing"] == 6
    assert quality["dimensions"]["completeness"]["score"] == pytest.approx(1 / 3, abs=1e-6)
    assert quality["features"]["x"] == {"missing": 1, "missing-imputed": 1}


def test_a_value_out_of_range_or_an_unknown_unit_is_a_dead_letter_with_its_dimension() -> None:
    t = task(contract=contract())
    out = t.process(
        records([obs("a", 0, x=1000.0), obs("b", 1, x=1.0, distance=5.0, distance_unit="parsecs")]),
        NOW,
    )
    assert [d.reason for d in out.dead_letters] == ["out-of-range", "unknown-unit"]
    assert [(f.dimension, f.action) for f in out.findings] == [
        ("accuracy", "dead-letter"),
        ("consistency", "dead-letter"),
    ]
    assert not out.predictions


def test_a_near_duplicate_is_a_dead_letter_and_the_original_stands() -> None:
    t = task(contract=contract())
    first = obs("a", 0, x=1.0, carrier="UA")
    copy = Observation(
        event_id="a-again",
        key="k",
        event_time=first.event_time,
        features={"carrier": "ua", "x": 1.0},
    )
    other_time = obs("a-later", 5, x=1.0, carrier="UA")
    out = t.process(records([first, copy, other_time]), NOW)
    assert [p.event_id for p in out.predictions] == ["a", "a-later"]
    assert [d.reason for d in out.dead_letters] == ["near-duplicate"]
    assert ("a-again", "near-duplicate") in rules_of(out)


def test_near_duplicates_can_be_turned_off() -> None:
    t = task(contract=contract(near_duplicates=False))
    out = t.process(records([obs("a", 0, x=1.0), obs("b", 0, x=1.0)]), NOW)
    assert len(out.predictions) == 2


@pytest.mark.parametrize(
    ("policy", "predicted", "learned", "reason"),
    [
        ("learn", 2, 2, None),
        ("predict-only", 2, 1, None),
        ("dead-letter", 1, 1, "late-observation"),
    ],
)
def test_the_late_policy_beyond_the_allowed_lateness(
    policy: str, predicted: int, learned: int, reason: str | None
) -> None:
    t = task(contract=contract(late_policy=policy))
    out = t.process(
        records(
            [
                (obs("a", 0, x=1.0), 30.0),  # within the 60 s allowed
                (obs("b", 1, x=2.0), 600.0),  # ten minutes late
                (outcome("a", 700, True), 0.0),
                (outcome("b", 701, False), 0.0),
            ]
        ),
        NOW,
    )
    assert len(out.predictions) == predicted
    assert t.metrics.counts["learned"] == learned
    late = [f for f in out.findings if f.rule == "late"]
    assert [(f.event_id, f.dimension) for f in late] == [("b", "timeliness")]
    if reason is not None:
        assert reason in [d.reason for d in out.dead_letters]
    if policy == "predict-only":
        assert late[0].action == "predicted-only"
        assert t.metrics.counts["late_not_learned"] == 1
        assert t.metrics.scored == 2  # the served prediction is still scored


def test_lateness_per_source_and_the_contract_s_lateness_moves_the_watermark() -> None:
    t = task(contract=contract(source="carrier", allowed_lateness_s=30.0))
    t.process(records([(obs("a", 0, carrier="UA"), 2.0), (obs("b", 100, carrier="DL"), 20.0)]), NOW)
    sources = t.snapshot()["quality"]["sources"]
    assert set(sources) == {"UA", "DL"}
    assert sum(sources["DL"]["buckets"]) == 1
    assert sources["DL"]["sum_s"] == pytest.approx(20.0)
    assert t.watermark == at(70)


def test_without_a_contract_nothing_is_changed_or_checked() -> None:
    t = task()
    out = t.process(records([obs("a", 0, x=1000.0, carrier=" united ")]), NOW)
    assert len(out.predictions) == 1
    assert not out.findings
    assert t.pending._entries["a"].x == {"x": 1000.0, "carrier": " united "}
    assert t.snapshot()["quality"]["declared"] == 0


def test_quality_state_survives_a_checkpoint_and_a_replay_agrees() -> None:
    config = TaskConfig(features=RAW, contract=contract(late_policy="predict-only"))
    events: list[Event | tuple[Event, float]] = []
    for i in range(60):
        features: dict[str, Any] = {"x": float(i % 7), "carrier": "ua" if i % 5 else "DL"}
        if i % 4 == 0:
            del features["x"]
        events.append((obs(f"e{i}", i, **features), 300.0 if i % 9 == 0 else 1.0))
        events.append(outcome(f"e{i}", i + 0.5, i % 3 == 0))
    batch = records(events)
    whole = PartitionTask(0, config)
    whole.process(batch, NOW)
    codec = CheckpointCodec(b"k" * 32)
    first = PartitionTask(0, config)
    first.process(batch[:50], NOW)
    again = restore_task(seal_task(first, codec, "ns"), codec, config, 0)
    again.process(batch[50:], NOW)
    assert again.snapshot()["quality"] == whole.snapshot()["quality"]
    assert pickle.dumps(again.contract_state) == pickle.dumps(whole.contract_state)
    assert again.snapshot()["counts"] == whole.snapshot()["counts"]


def stream(n_on_time: int, n_late: int, n_again: int) -> list[tuple[Observation, float]]:
    """Observations a second apart: on time, then two minutes late, then on time again."""
    lateness = [0.0] * n_on_time + [120.0] * n_late + [0.0] * n_again
    return [(obs(f"o{i}", i), late) for i, late in enumerate(lateness)]


def late_alerts(t: PartitionTask, items: list) -> list[tuple[str, int]]:
    out = t.process(records(items), NOW)
    return [(a.signal, a.offset) for a in out.alerts if a.kind == "timeliness"]


@pytest.mark.parametrize("policy", ["predict-only", "dead-letter"])
def test_a_stream_gone_late_raises_starved_then_recovered(policy: str) -> None:
    t = task(contract=contract(late_policy=policy))
    signals = late_alerts(t, stream(1000, 400, 1000))
    # 20% of the last 1,000 late at the 200th late one (offset 1199); back to 5% once only
    # 50 of the 400 late ones are left in the window (offset 2349)
    assert signals == [("starved", 1199), ("recovered", 2349)]
    alert = t.process(records([(obs("x", 3000), 0.0)], start=2400), NOW)
    assert alert.alerts == []  # nothing more while the share stays low


def test_learning_late_is_no_starvation() -> None:
    t = task(contract=contract(late_policy="learn"))
    assert late_alerts(t, stream(1000, 1000, 0)) == []


def test_the_watch_is_checkpointed_and_a_replay_alerts_at_the_same_offset() -> None:
    items = stream(1000, 400, 0)
    config_contract = contract(late_policy="predict-only")
    whole = task(contract=config_contract)
    expected = late_alerts(whole, items)
    first = task(contract=config_contract)
    first.process(records(items[:1100]), NOW)
    codec = CheckpointCodec(b"k" * 32)
    again = restore_task(seal_task(first, codec, "test"), codec, first.config, 0)
    out = again.process(records(items[1100:], start=1100), NOW)
    assert [(a.signal, a.offset) for a in out.alerts if a.kind == "timeliness"] == expected


def test_the_labels_of_late_observations_count_as_not_learned() -> None:
    t = task(contract=contract(late_policy="predict-only"))
    late = obs("late", 10)
    t.process(records([(late, 600.0), outcome("late", 20)]), NOW)
    assert t.metrics.counts["late_not_learned"] == 1
    assert t.metrics.counts["learned"] == 0
