"""The outbox: dead letters, quality findings and alerts, each counted where it belongs."""

from __future__ import annotations

from datetime import UTC, datetime

from driftline.core.events.model import Observation
from driftline.core.events.records import InputRecord
from driftline.core.learning.contenders import ModelSlot
from driftline.core.learning.ensemble import Served
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.quality.admission import LateAlarm
from driftline.core.quality.figures import QualityMetrics
from driftline.core.task.outbox import NO_EVENT, Outbox, TaskOutput

AT = datetime(2024, 1, 1, tzinfo=UTC)


def rig(partition: int = 2) -> tuple[Outbox, TaskMetrics, QualityMetrics]:
    metrics, quality = TaskMetrics("classification"), QualityMetrics()
    return Outbox(partition, metrics, quality), metrics, quality


def record(offset: int) -> InputRecord:
    return InputRecord(2, offset, b"k", b"value", 1_700_000_000_000)


def test_a_dead_letter_keeps_the_record_and_counts_its_reason_and_kind() -> None:
    outbox, metrics, quality = rig()
    out = outbox.open()
    outbox.at(record(5), ("e5", "observation"))
    outbox.dead_letter(record(5), "key-mismatch", "keys differ", "observation")
    [letter] = out.dead_letters
    assert (letter.reason, letter.detail, letter.offset, letter.kind) == (
        "key-mismatch",
        "keys differ",
        5,
        "observation",
    )
    assert (letter.key, letter.value, letter.timestamp_ms) == (b"k", b"value", 1_700_000_000_000)
    assert metrics.dead_letters["key-mismatch"] == 1
    assert metrics.counts["dead_letters"] == metrics.counts["dead_letters_observation"] == 1
    # a data-quality reason is a finding too, of the event in hand
    assert [(f.event_id, f.kind, f.rule, f.action) for f in out.findings] == [
        ("e5", "observation", "key-mismatch", "dead-letter")
    ]
    assert quality.rules["accuracy/key-mismatch"] == 1


def test_a_reason_about_the_system_is_no_finding() -> None:
    outbox, metrics, quality = rig()
    out = outbox.open()
    outbox.dead_letter(record(1), "model-error", "it raised", None)
    assert out.findings == [] and not quality.rules
    assert metrics.counts["dead_letters"] == 1 and "dead_letters_None" not in metrics.counts


def test_a_dead_letter_s_findings_name_its_reason_once() -> None:
    outbox, _, quality = rig()
    out = outbox.open()
    findings = [("accuracy", "near-duplicate", None), ("timeliness", "late", None)]
    outbox.dead_letter(record(1), "near-duplicate", "seen", "observation", findings)
    assert [f.rule for f in out.findings] == ["near-duplicate", "late"]
    assert quality.rules["accuracy/near-duplicate"] == 1


def test_findings_of_another_event_than_the_one_in_hand() -> None:
    outbox, _, _ = rig()
    out = outbox.open()
    outbox.at(record(9), ("e9", "observation"))
    outbox.dead_letter(record(3), "unknown-observation", "gone", "outcome", event=("e3", "outcome"))
    outbox.found(record(9), [("accuracy", "duplicate", None)], "dropped")
    assert [(f.offset, f.event_id, f.kind, f.action) for f in out.findings] == [
        (3, "e3", "outcome", "dead-letter"),
        (9, "e9", "observation", "dropped"),
    ]


def test_an_alert_is_named_after_the_record_in_hand_and_the_model_as_it_is() -> None:
    outbox, metrics, _ = rig(partition=4)
    slot = ModelSlot("main", "dummy.NoChangeClassifier()", 42, metrics)
    slot.version = 7
    out = outbox.open()
    outbox.at(record(11))
    outbox.alert("concept", "main", "drift", "ADWIN", {"width": 3.0}, 0, AT, slot, "reset")
    slot.version = 8  # the alert keeps the version it was raised at
    [alert] = out.alerts
    assert alert.alert_id == "4-11-concept-main-drift"
    assert (alert.offset, alert.model, alert.model_version, alert.action) == (
        11,
        "main",
        7,
        "reset",
    )
    assert alert.event_time == AT and alert.statistic == {"width": 3.0}
    assert metrics.counts["alerts"] == 1


def test_each_call_opens_an_output_of_its_own() -> None:
    outbox, _, _ = rig()
    first = outbox.open()
    outbox.dead_letter(record(1), "model-error", "x", None)
    second = outbox.open()
    outbox.dead_letter(record(2), "model-error", "y", None)
    assert [d.offset for d in first.dead_letters] == [1]
    assert [d.offset for d in second.dead_letters] == [2]
    assert second is not first and isinstance(second, TaskOutput)
    assert outbox.event == NO_EVENT


def test_closed_windows_become_points_of_this_partition_once() -> None:
    outbox, metrics, _ = rig(partition=1)
    slot = ModelSlot("main", "dummy.NoChangeClassifier()", 42, metrics)
    metrics.closed = [{"window_s": 3600, "n": 3}]
    out = outbox.open()
    outbox.points([slot])
    outbox.points([slot])
    assert out.points == [{"window_s": 3600, "n": 3, "model": "main", "partition": 1}]
    assert metrics.closed == []


def test_a_prediction_carries_the_serving_model_and_counts() -> None:
    outbox, metrics, _ = rig()
    slot = ModelSlot("main", "dummy.NoChangeClassifier()", 42, metrics)
    slot.version = 4
    obs = Observation(event_id="e1", key="k", event_time=AT, features={"x": 1.0})
    served = Served(slot, True, {True: 0.75, False: 0.25}, True, None)
    out = outbox.open()
    outbox.prediction(record(6), obs, AT, AT, served, "cfg")
    [p] = out.predictions
    assert (p.key, p.event_id, p.offset, p.model, p.model_version, p.config) == (
        "k",
        "e1",
        6,
        "main",
        4,
        "cfg",
    )
    assert p.probabilities == {True: 0.75, False: 0.25} and p.threshold is None
    assert metrics.counts["predictions"] == 1


def test_a_late_share_alarm_is_a_timeliness_alert() -> None:
    outbox, metrics, _ = rig()
    slot = ModelSlot("main", "dummy.NoChangeClassifier()", 42, metrics)
    out = outbox.open()
    outbox.at(record(8))
    outbox.late(LateAlarm("starved", {"late_share": 0.5}, 1000), AT, slot)
    [alert] = out.alerts
    assert (alert.kind, alert.subject, alert.signal, alert.detector, alert.window) == (
        "timeliness",
        "late-inputs",
        "starved",
        "late share",
        1000,
    )
    assert alert.alert_id == "2-8-timeliness-late-inputs-starved" and alert.action == "none"


def test_a_drift_alarm_is_counted_apart_from_warnings_and_promotions() -> None:
    """``counts["drift_alarms"]`` (``driftline_drift_alarms_total``): drift signals only."""
    outbox, metrics, _ = rig()
    outbox.open()
    outbox.at(record(9), ("e9", "outcome"))
    slot = ModelSlot("main", "dummy.NoChangeClassifier()", 1, metrics)
    for kind, signal in [("concept", "warning"), ("concept", "drift"), ("feature", "drift")]:
        outbox.alert(kind, "x", signal, "ADWIN", {}, 10, AT, slot, "none")
    outbox.alert("promotion", "main", "promoted", "command", {}, 0, None, slot, "promote")
    assert metrics.counts["alerts"] == 4 and metrics.counts["drift_alarms"] == 2
    # a checkpoint made before the count existed reads 0 (a Counter)
    assert TaskMetrics("classification").counts["drift_alarms"] == 0
