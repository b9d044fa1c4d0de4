"""Detections scored against known drift points: which were found, how late, and which
detections were false alarms.

A drift at ``p`` is detected by the first detection in ``[p, p + horizon)`` that comes
before the next drift point; its delay is that detection's position minus ``p``, in
samples. A detection within ``horizon`` after no drift point is a false alarm; a second
detection of the same drift inside its horizon is counted as ``repeated``, not false.

>>> r = detection_report([1000, 2000], [400, 1030, 1100, 2500], horizon=300)
>>> r["detected"], r["missed"], r["mean_delay"], r["max_delay"], r["false_alarms"]
(1, 1, 30.0, 30, 2)
>>> r["per_drift"]
[{'at': 1000, 'detected_at': 1030, 'delay': 30}, {'at': 2000, 'detected_at': None, \
'delay': None}]
>>> r["repeated"], r["false_alarm_positions"]
(1, [400, 2500])
"""

from __future__ import annotations

import bisect
from typing import Any

__all__ = ["detection_report"]


def detection_report(
    drift_points: list[int], detections: list[int], horizon: int
) -> dict[str, Any]:
    """Detected and missed drifts, mean and max delay, false alarms (positions sorted)."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, not {horizon}")
    points, found = sorted(drift_points), sorted(detections)
    per_drift: list[dict[str, Any]] = []
    for i, at in enumerate(points):
        end = min(at + horizon, points[i + 1] if i + 1 < len(points) else at + horizon)
        first = bisect.bisect_left(found, at)
        hit = found[first] if first < len(found) and found[first] < end else None
        per_drift.append({"at": at, "detected_at": hit, "delay": None if hit is None else hit - at})
    delays = [d["delay"] for d in per_drift if d["delay"] is not None]
    false_alarms = [d for d in found if not _after_a_drift(points, d, horizon)]
    true_hits = len(found) - len(false_alarms)
    return {
        "drifts": len(points),
        "detected": len(delays),
        "missed": len(points) - len(delays),
        "mean_delay": sum(delays) / len(delays) if delays else None,
        "max_delay": max(delays) if delays else None,
        "false_alarms": len(false_alarms),
        "repeated": true_hits - len(delays),
        "detections": len(found),
        "per_drift": per_drift,
        "false_alarm_positions": false_alarms,
    }


def _after_a_drift(points: list[int], position: int, horizon: int) -> bool:
    """Whether ``position`` is in ``[p, p + horizon)`` for the last drift point ``p``."""
    index = bisect.bisect_right(points, position) - 1
    return index >= 0 and position - points[index] < horizon
