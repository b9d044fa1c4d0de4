"""DurationHistogram and bucket_quantile: quantiles interpolated within their bucket as
PromQL's ``histogram_quantile`` does, merging by adding, the edges."""

from __future__ import annotations

import bisect
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.durations import _BOUNDS, DurationHistogram, bucket_quantile
from tests.unit.core.learning.scored_rows import lateness_values

INF = math.inf

#: ``le`` buckets (cumulative) used by the hand-computed cases below.
BUCKETS = [(0.1, 10), (0.5, 30), (1.0, 35), (2.5, 40), (INF, 40)]


def bucket_of(value: float) -> int:
    return bisect.bisect_left(_BOUNDS, value)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # rank 0.5*40 = 20: 10 below (0.1, 0.5], 10 of its 20 -> 0.1 + 0.4 * 10/20
        (0.5, 0.3),
        # rank 2: in the first bucket, whose lower bound is 0 -> 0.1 * 2/10
        (0.05, 0.02),
        # rank 10: exactly the first bucket's top
        (0.25, 0.1),
        # rank 36: (1, 2.5], 1 of its 5 -> 1 + 1.5 * 1/5
        (0.9, 1.3),
        # rank 40: the last finite bucket's top
        (1.0, 2.5),
        # rank 0: the first bucket holds it, from its lower bound 0
        (0.0, 0.0),
    ],
)
def test_bucket_quantile_matches_histogram_quantile_by_hand(q: float, expected: float) -> None:
    assert bucket_quantile(q, BUCKETS) == pytest.approx(expected)


def test_a_rank_in_the_inf_bucket_gives_the_highest_finite_bound() -> None:
    buckets = [(1.0, 1), (2.0, 2), (INF, 10)]
    assert bucket_quantile(0.5, buckets) == 2.0
    assert bucket_quantile(0.99, buckets) == 2.0


def test_a_first_bound_at_or_below_zero_is_returned_as_it_is() -> None:
    # Prometheus: "if the lowest bucket's upper bound is <= 0, it is returned"
    assert bucket_quantile(0.25, [(0.0, 2), (1.0, 4), (INF, 4)]) == 0.0
    assert bucket_quantile(0.75, [(0.0, 2), (1.0, 4), (INF, 4)]) == pytest.approx(0.5)


def test_bucket_quantile_out_of_range_and_empty() -> None:
    assert bucket_quantile(-0.1, BUCKETS) == -INF
    assert bucket_quantile(1.1, BUCKETS) == INF
    assert math.isnan(bucket_quantile(0.5, [(1.0, 0), (INF, 0)]))
    assert math.isnan(bucket_quantile(math.nan, BUCKETS))
    assert math.isnan(bucket_quantile(0.5, [(1.0, 3)]))  # no +Inf bucket


def test_an_empty_bucket_between_is_skipped() -> None:
    # rank 2 is reached by (.., 1]: the empty (1, 2] after it is never chosen
    assert bucket_quantile(0.5, [(1.0, 2), (2.0, 2), (4.0, 4), (INF, 4)]) == 1.0
    # rank 3: in (2, 4], 1 of its 2 -> 3
    assert bucket_quantile(0.75, [(1.0, 2), (2.0, 2), (4.0, 4), (INF, 4)]) == 3.0


def test_duration_histogram_interpolates_as_its_exported_buckets_would() -> None:
    hist = DurationHistogram()
    for seconds in [0.03] * 5:  # all in (0.02, 0.05]
        hist.add(seconds)
    assert hist.quantile(0.5) == pytest.approx(0.035)
    assert hist.quantile(0.99) == pytest.approx(0.0497)
    assert hist.quantile(0.5) == bucket_quantile(0.5, hist.cumulative())


@given(values=lateness_values.filter(bool), q=st.floats(0.0, 1.0))
def test_quantiles_lie_in_the_bucket_of_the_true_quantile(values: list[float], q: float) -> None:
    hist = DurationHistogram()
    for v in values:
        hist.add(v)
    got = hist.quantile(q)
    assert got is not None
    if q * len(values) == 0:  # rank 0: the first bucket (le 0) answers its bound
        assert got == 0.0
        return
    # the value of rank ceil(q*n) (1-based) ...
    true = sorted(values)[math.ceil(q * len(values)) - 1]
    index = bucket_of(true)
    if index == len(_BOUNDS):  # ... past the last bound: the highest finite bound
        assert got == _BOUNDS[-1]
        return
    # ... lies in the bucket the interpolated quantile lies in
    lower = _BOUNDS[index - 1] if index > 0 else 0.0
    assert lower <= got <= _BOUNDS[index]


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
    hist.add(1e12)  # beyond the last bound: the highest finite bound, as Prometheus says
    assert hist.quantile(1.0) == _BOUNDS[-1]
    assert DurationHistogram(hist.counts).counts == hist.counts
