"""Seeded rows of labels, predictions and probabilities, and a TaskMetrics fed with them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from driftline.core.learning.metrics import TaskMetrics

ROUNDING = 1e-4 + 1e-9  # snapshots round to 4 decimals; sums in another order may flip one


def fed(kind: str, rows: list[tuple[Any, Any, Any]], lateness: list[float] = ()) -> TaskMetrics:
    """A TaskMetrics fed ``(y_true, y_pred, probabilities)`` rows, as the task does."""
    m = TaskMetrics(kind)  # type: ignore[arg-type]
    for y_true, y_pred, proba in rows:
        m.score(y_true, y_pred, proba)
        m.counts["learned"] += 1
    for s in lateness:
        m.lateness.add(s)
        m.counts["observations"] += 1
    return m


# -- strategies ------------------------------------------------------------------------------------
probabilities = st.floats(0.0, 1.0, allow_nan=False)
binary_rows = st.lists(
    st.tuples(st.booleans(), st.booleans(), probabilities).map(
        lambda t: (t[0], t[1], {True: t[2], False: 1.0 - t[2]})
    ),
    min_size=1,
    max_size=60,
)
classes = st.sampled_from(["a", "b", "c"])
multiclass_rows = st.lists(
    st.tuples(classes, classes).map(lambda t: (t[0], t[1], {t[1]: 0.7})), min_size=1, max_size=60
)
numbers = st.floats(-1000, 1000, allow_nan=False)
regression_rows = st.lists(
    st.tuples(st.integers(-100, 100).map(float), numbers).map(lambda t: (t[0], t[1], None)),
    min_size=1,
    max_size=60,
)
lateness_values = st.lists(st.floats(-100, 1e11, allow_nan=False), max_size=30)
