"""The worker's running totals: what the live view, the summary and the Prometheus
exposition show of the loop (the tasks' own figures are in their snapshots)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from driftline.core.durations import DurationHistogram

__all__ = ["LagGauge", "WorkerStats"]

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    """Running totals of this worker, for the live view and the final summary."""

    started: float = field(default_factory=time.monotonic)
    #: When the first records came in (``None``: none yet): the start of steady work.
    first_batch_at: float | None = None
    #: When the loop last turned, and when its last batch of records came in (the
    #: worker's clock; ``None``: not yet): what ``/livez`` and ``/readyz`` read.
    heartbeat_at: float | None = None
    last_batch_at: float | None = None
    records: int = 0
    predictions: int = 0
    dead_letters: int = 0
    batches: int = 0
    checkpoints: int = 0
    #: Seconds spent checkpointing (sealing and storing), and the last checkpoint's size.
    checkpoint_s: float = 0.0
    checkpoint_bytes: int = 0
    #: Durations of checkpoints and of batches (poll to written), in seconds.
    checkpoint_seconds: DurationHistogram = field(default_factory=DurationHistogram)
    batch_seconds: DurationHistogram = field(default_factory=DurationHistogram)
    batch_s: float = 0.0
    #: The last checkpoint's size per partition, and the consumer lag per partition held
    #: (asked every ``WorkerConfig.lag_interval_s``).
    checkpoint_sizes: dict[int, int] = field(default_factory=dict)
    lags: dict[int, int] = field(default_factory=dict)
    restored: int = 0
    replayed_skipped: int = 0
    #: Offsets skipped because they hold no record (transaction markers, compaction).
    offset_gaps: int = 0
    ticks_read: int = 0
    ticks_written: int = 0
    #: Outages waited out, retries made, and what is awaited now (``None``: nothing).
    outages: int = 0
    retries: int = 0
    #: Times Redis was found full (``maxmemory`` under ``noeviction``) and waited for.
    redis_full: int = 0
    #: Predictions Redis could never hold (a key of another type): dead-lettered.
    redis_refused: int = 0
    #: Times a held partition with records behind was fetched nothing for a stall limit,
    #: and the Kafka consumer renewed (:mod:`~driftline.consumers.fetching`).
    fetch_stalls: int = 0
    #: Alerts raised (drift, promotions, rollbacks), control commands obeyed, and the
    #: event-time window points written.
    alerts: int = 0
    controls: int = 0
    points: int = 0
    waiting_for: str | None = None
    waiting_since: float | None = None

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed_s
        return self.records / elapsed if elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "predictions": self.predictions,
            "dead_letters": self.dead_letters,
            "elapsed_s": round(self.elapsed_s, 3),
            "records_per_s": round(self.rate, 1),
            "restored": self.restored,
            "replayed_skipped": self.replayed_skipped,
            "offset_gaps": self.offset_gaps,
            "checkpoints": self.checkpoints,
            "checkpoint_s": round(self.checkpoint_s, 3),
            "checkpoint_bytes": self.checkpoint_bytes,
            "ticks_written": self.ticks_written,
            "outages": self.outages,
            "retries": self.retries,
            "redis_full": self.redis_full,
            "redis_refused": self.redis_refused,
            "fetch_stalls": self.fetch_stalls,
            "alerts": self.alerts,
            "controls": self.controls,
            "points": self.points,
        }

    def forget(self, partition: int) -> None:
        """Drop the figures of a partition this worker no longer holds."""
        self.lags.pop(partition, None)
        self.checkpoint_sizes.pop(partition, None)


class LagGauge:
    """The consumer lag per partition in ``stats.lags``, asked every ``interval_s``.

    :meth:`refresh` runs in the worker's thread (a Kafka consumer serves one thread; a
    scrape reads what it wrote); a lag that cannot be read keeps the last one.

    >>> stats, now = WorkerStats(), [0.0]
    >>> gauge = LagGauge(stats, 5.0, lambda: now[0])
    >>> gauge.refresh(lambda: {0: 7})
    >>> now[0] = 1.0
    >>> gauge.refresh(lambda: {0: 3})  # not due yet
    >>> stats.lags
    {0: 7}
    """

    def __init__(
        self, stats: WorkerStats, interval_s: float, monotonic: Callable[[], float]
    ) -> None:
        self.stats = stats
        self.interval_s = interval_s
        self.monotonic = monotonic
        self._asked_at = -float("inf")

    def refresh(self, ask: Callable[[], dict[int, int]]) -> None:
        now = self.monotonic()
        if now - self._asked_at < self.interval_s:
            return
        self._asked_at = now
        try:
            self.stats.lags = ask()
        except Exception as exc:  # a gauge is not worth a failed loop: keep the last one
            log.debug("the consumer lag was not read (%s)", exc)
