"""RollingAccuracy: River's rolling accuracy."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from river import metrics, utils

from driftline.core.learning.metrics import RollingAccuracy


@settings(max_examples=200, deadline=None)
@given(
    window=st.integers(min_value=1, max_value=7),
    rows=st.lists(
        st.tuples(
            st.sampled_from([True, False, 0, 1, "a"]), st.sampled_from([True, False, 1, "a"])
        ),
        max_size=40,
    ),
)
def test_rolling_accuracy_is_rivers_rolling_accuracy(window, rows):
    ours, river = (
        RollingAccuracy(window),
        utils.Rolling(metrics.Accuracy, window_size=window),
    )
    for y, p in rows:
        ours.update(y, p)
        river.update(y, p)
        assert ours.get() == river.get()
