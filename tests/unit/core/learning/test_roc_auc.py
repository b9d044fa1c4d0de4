"""BinnedROCAUC: River's ROC AUC, from two histograms."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from river import metrics

from driftline.core.learning.metrics import BinnedROCAUC

_PROBS = st.one_of(
    st.floats(min_value=0.0, max_value=1.0),
    st.sampled_from([0.0, 1.0, 1 / 9, 2 / 9, 0.5, 1e-7, 1 - 1e-7, -1e-7 + 1 / 9]),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from([True, False, 0, 1]), _PROBS), max_size=60))
def test_binned_roc_auc_is_rivers_roc_auc(rows):
    ours, river = BinnedROCAUC(), metrics.ROCAUC()
    for y, p in rows:
        ours.update(y, {True: p, False: 1 - p})
        river.update(y, {True: p, False: 1 - p})
        assert ours.get() == river.get()
