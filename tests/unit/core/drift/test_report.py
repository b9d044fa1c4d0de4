"""detection_report: drifts found, their delays and false alarms, on hand-made cases."""

from __future__ import annotations

import pytest

from driftline.core.drift.monitors import detection_report


def test_detection_report_on_hand_made_cases() -> None:
    empty = detection_report([], [], 100)
    assert empty["detected"] == 0 and empty["mean_delay"] is None and empty["false_alarms"] == 0
    r = detection_report([100], [99, 100, 150, 199, 200], 100)
    assert [d["delay"] for d in r["per_drift"]] == [0]
    assert r["false_alarm_positions"] == [99, 200]  # before the drift, and at horizon's end
    assert r["repeated"] == 2 and r["detections"] == 5
    # two drifts closer than the horizon: a detection belongs to the latest drift before it
    r = detection_report([100, 150], [160], 100)
    assert [d["detected_at"] for d in r["per_drift"]] == [None, 160]
    assert (r["detected"], r["missed"], r["false_alarms"]) == (1, 1, 0)
    r = detection_report([300, 100], [420, 130], 200)  # unsorted input
    assert (r["mean_delay"], r["max_delay"]) == (75.0, 120)
    with pytest.raises(ValueError):
        detection_report([1], [1], 0)
