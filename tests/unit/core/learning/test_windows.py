"""EventWindows: window points add up across partitions and match River."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from river import metrics as river_metrics

from driftline.core.learning.windows import EventWindows, WindowScore, merge_points, window_scores

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_window_points_add_up_across_partitions_and_match_river() -> None:
    rng = random.Random(2)
    rows = [(rng.random() < 0.4, rng.random()) for _ in range(500)]
    a, b = EventWindows((3600,)), EventWindows((3600,))
    auc = river_metrics.ROCAUC()
    for i, (y, p) in enumerate(rows):
        windows = a if i % 2 else b
        windows.add(T0 + timedelta(seconds=i), WindowScore(y == (p > 0.5), 0.1, p, y))
        auc.update(y, {True: p, False: 1 - p})
    merged = merge_points([a.open[3600], b.open[3600]])
    assert merged["n"] == 500
    assert merged["roc_auc"] == round(float(auc.get()), 4)
    assert window_scores(merged)["accuracy"] == round(sum(y == (p > 0.5) for y, p in rows) / 500, 4)
