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


# -- the shortcut for a label inside every open window ------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from driftline.core.learning.windows import _EPOCH, _add, _empty  # noqa: E402


def _reference_add(
    open_: dict[float, dict], lengths: tuple[float, ...], at: datetime, score: WindowScore
) -> list[dict]:
    """EventWindows.add before its shortcut: every length's window found from scratch."""
    closed = []
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    for length in lengths:
        start_us = micros - micros % round(length * 1_000_000)
        start = start_us // 1_000_000 if type(length) is int else start_us / 1_000_000
        point = open_.get(length)
        if point is None or start > point["start_s"]:
            if point is not None and point["n"]:
                closed.append(point)
            point = open_[length] = _empty(length, start)
        _add(point, score)
    return closed


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.sampled_from([(3600, 86400), (1,), (0.3, 7), (2.5,), (60, 3600, 86400)]),
    # tenths of a second: labels land on windows' edges too
    steps=st.lists(st.integers(-30, 90).map(lambda n: n * 100_000), min_size=1, max_size=120),
    start=st.integers(0, 10**9).map(lambda n: n * 100_000),
)
def test_the_shortcut_closes_the_windows_the_long_way_closes(
    lengths: tuple[float, ...], steps: list[int], start: int
) -> None:
    windows = EventWindows(lengths)
    reference: dict[float, dict] = {}
    micros = start
    for i, step in enumerate(steps):
        micros = max(0, micros + step)  # mostly forward, sometimes back (a late label)
        at = _EPOCH + timedelta(microseconds=micros)
        score = WindowScore(correct=i % 3 == 0, cross_entropy=0.1 * i, p_true=0.5, y_true=True)
        assert windows.add(at, score) == _reference_add(reference, windows.lengths, at, score)
        assert windows.open == reference
