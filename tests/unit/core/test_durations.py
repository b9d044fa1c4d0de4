"""DurationHistogram: quantiles within one bucket, merging by adding, the edges."""

from __future__ import annotations

import bisect
import math

from hypothesis import given
from hypothesis import strategies as st

from driftline.core.durations import _BOUNDS, DurationHistogram
from tests.unit.core.learning.scored_rows import lateness_values


def bucket_of(value: float) -> int:
    return bisect.bisect_left(_BOUNDS, value)


@given(values=lateness_values.filter(bool), q=st.floats(0.0, 1.0))
def test_quantiles_bracket_the_true_quantile_within_one_bucket(
    values: list[float], q: float
) -> None:
    hist = DurationHistogram()
    for v in values:
        hist.add(v)
    got = hist.quantile(q)
    # the value of rank ceil(q*n) (1-based; the smallest for q=0) ...
    k = max(1, math.ceil(q * len(values)))
    true = sorted(values)[k - 1]
    # ... lies in the bucket whose upper bound the histogram answers
    index = bucket_of(true)
    lower = _BOUNDS[index - 1] if index > 0 else -math.inf
    assert got is not None
    assert lower < true <= got
    assert got == (_BOUNDS[index] if index < len(_BOUNDS) else math.inf)


@given(a=lateness_values, b=lateness_values)
def test_histogram_merge_is_adding(a: list[float], b: list[float]) -> None:
    ha, hb, hab = DurationHistogram(), DurationHistogram(), DurationHistogram()
    for v in a:
        ha.add(v)
        hab.add(v)
    for v in b:
        hb.add(v)
        hab.add(v)
    assert ha.merge(hb).counts == hab.counts
    assert hab.count == len(a) + len(b)


def test_histogram_edges() -> None:
    hist = DurationHistogram()
    assert hist.quantile(0.5) is None
    hist.add(-5.0)  # event time ahead of ingest
    hist.add(0.0)
    assert hist.counts[0] == 2 and hist.quantile(1.0) == 0.0
    hist.add(1e12)  # beyond the last bound
    assert hist.quantile(1.0) == math.inf
    assert DurationHistogram(hist.counts).counts == hist.counts
