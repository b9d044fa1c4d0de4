"""A histogram of durations in seconds (lateness, batch and checkpoint times, event to
Redis latency): counts per bucket of a 1-2-5 series, merged across partitions by adding
counts; its quantiles interpolated within their bucket, as PromQL's ``histogram_quantile``
does (:func:`bucket_quantile`), so a printed p99 and a dashboard's agree.
"""

from __future__ import annotations

import bisect
import math

__all__ = ["DurationHistogram", "bucket_quantile"]

#: Upper bounds of the buckets, seconds: a 1-2-5 series from 1 ms to ~30 years.
_BOUNDS: list[float] = [0.0] + [m * 10.0**e for e in range(-3, 10) for m in (1, 2, 5)]


class DurationHistogram:
    """Counts of durations per bucket; quantiles interpolated within their bucket.

    >>> h = DurationHistogram()
    >>> for s in [0.5, 1.5, 3, 40, 40, 40, 40, 40, 40, 900]:
    ...     h.add(s)
    >>> h.quantile(0.5), round(h.quantile(0.99), 9), h.count
    (30.0, 950.0, 10)
    """

    #: The sum of the values counted, negatives as 0 (as their bucket has them): with the
    #: counts, a Prometheus histogram. A class default: checkpoints made before it lack it.
    total: float = 0.0

    def __init__(self, counts: list[int] | None = None, total: float = 0.0) -> None:
        self.counts = list(counts) if counts else [0] * (len(_BOUNDS) + 1)
        self.total = total

    @property
    def count(self) -> int:
        return sum(self.counts)

    def add(self, seconds: float) -> None:
        """Count one value; negative lateness (event time ahead of ingest) goes in bucket 0."""
        self.counts[bisect.bisect_left(_BOUNDS, seconds)] += 1
        if seconds > 0:
            self.total += seconds

    def merge(self, other: DurationHistogram) -> DurationHistogram:
        return DurationHistogram(
            [a + b for a, b in zip(self.counts, other.counts, strict=True)],
            self.total + other.total,
        )

    def cumulative(self, top: float = math.inf) -> list[tuple[float, int]]:
        """``(upper bound, values at or below it)`` for each bound up to ``top``, then
        ``(inf, count)``: the ``le`` buckets of a Prometheus histogram.

        >>> h = DurationHistogram()
        >>> h.add(0.0015); h.add(3.0); h.add(7e6)
        >>> h.cumulative(top=0.005), h.total
        ([(0.0, 0), (0.001, 0), (0.002, 1), (0.005, 1), (inf, 3)], 7000003.0015)
        """
        out, seen = [], 0
        for bound, n in zip(_BOUNDS, self.counts, strict=False):
            seen += n
            if bound > top:
                break
            out.append((bound, seen))
        return [*out, (math.inf, self.count)]

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile as ``histogram_quantile(q, ...)`` computes it from these
        buckets (every bound, not only the exported ones); ``None`` if empty."""
        return None if self.count == 0 else bucket_quantile(q, self.cumulative())


def bucket_quantile(q: float, buckets: list[tuple[float, int]]) -> float:
    """The ``q`` quantile of cumulative ``(upper bound, count)`` buckets, ``inf`` last, as
    PromQL's ``histogram_quantile`` computes it (Prometheus's ``bucketQuantile``): find the
    bucket holding the rank ``q * count``, then interpolate linearly between its lower and
    upper bounds. The first bucket's lower bound is 0 (a first bound at or below 0 is
    returned as it is); a rank in the ``+Inf`` bucket gives the highest finite bound; no
    observations give NaN; ``q`` below 0 gives ``-inf``, above 1 ``inf``.

    >>> buckets = [(1.0, 10), (2.0, 30), (4.0, 40), (math.inf, 40)]
    >>> bucket_quantile(0.5, buckets)  # rank 20: half-way through (1, 2]
    1.5
    >>> bucket_quantile(0.1, buckets)  # rank 4 in the first bucket, from 0
    0.4
    >>> bucket_quantile(0.99, [(1.0, 1), (2.0, 2), (math.inf, 10)])
    2.0
    """
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if len(buckets) < 2 or not math.isinf(buckets[-1][0]):
        return math.nan
    count = buckets[-1][1]
    if count == 0:
        return math.nan
    rank = q * count
    index = next((i for i, (_, seen) in enumerate(buckets[:-1]) if seen >= rank), len(buckets) - 1)
    if index == len(buckets) - 1:
        return buckets[-2][0]
    upper, seen = buckets[index]
    if index == 0 and upper <= 0:
        return upper
    lower, below = (0.0, 0) if index == 0 else buckets[index - 1]
    return lower + (upper - lower) * ((rank - below) / (seen - below))
