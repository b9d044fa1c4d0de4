"""How a worker's loop runs, when it checkpoints, and when it stops."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WorkerConfig"]


@dataclass(frozen=True)
class WorkerConfig:
    """How the loop runs, when it checkpoints, and when it stops.

    ``until_idle_s`` counts only while partitions are assigned and the worker has caught
    up (no lag); ``idle_watermark_s`` is how long a partition stays quiet before this
    worker writes it a watermark tick (``None``: never). A service that does not answer
    is retried after ``retry_first_s``, doubling up to ``retry_max_s``, with jitter.
    """

    max_events: int | None = None
    until_idle_s: float | None = None
    poll_timeout_ms: int = 500
    max_poll_records: int = 2000
    idle_watermark_s: float | None = 60.0
    checkpoint_every: int = 5000
    checkpoint_interval_s: float = 10.0
    retry_first_s: float = 0.1
    retry_max_s: float = 10.0
    #: Write a batch's outputs while the next batch is processed (one write in flight;
    #: see :mod:`driftline.consumers.write_behind`); ``False``: write, then go on.
    #: :func:`~driftline.consumers.runner.worker_config` turns it on for the confluent
    #: client only, where it pays.
    write_behind: bool = True
    #: How often the consumer lag per partition is asked of Kafka (for the exposition).
    lag_interval_s: float = 5.0
    #: A call to the source that has not returned after this long is reported (logs,
    #: ``waiting_for``, the ``on_stall`` hook): see :mod:`driftline.consumers.watchdog`.
    stall_s: float = 120.0
    #: Subscribed with no partition for this long: said loudly, and the source rejoins
    #: its group (once per period); a bounded run (``finished`` given) fails after two.
    assignment_stall_s: float = 120.0
