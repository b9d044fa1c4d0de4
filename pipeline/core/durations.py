"""A histogram of durations in seconds (lateness, batch and checkpoint times, event to
Redis latency): counts per bucket of a 1-2-5 series, percentiles to bucket resolution,
merged across partitions by adding counts.
"""

from __future__ import annotations

import bisect
import math

__all__ = ["DurationHistogram"]

#: Upper bounds of the buckets, seconds: a 1-2-5 series from 1 ms to ~30 years.
_BOUNDS: list[float] = [0.0] + [m * 10.0**e for e in range(-3, 10) for m in (1, 2, 5)]


class DurationHistogram:
    """Counts of lateness values per bucket; percentiles to bucket resolution.

    >>> h = DurationHistogram()
    >>> for s in [0.5, 1.5, 3, 40, 40, 40, 40, 40, 40, 900]:
    ...     h.add(s)
    >>> h.quantile(0.5), h.quantile(0.99), h.count
    (50.0, 1000.0, 10)
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
        """The upper bound of the bucket holding the ``q`` quantile (``None`` if empty)."""
        total = self.count
        if total == 0:
            return None
        rank = q * total
        seen = 0
        for index, n in enumerate(self.counts):
            seen += n
            if seen >= rank and n:
                return _BOUNDS[index] if index < len(_BOUNDS) else math.inf
        return math.inf
