"""The replay loop: schedule a source, pace it, publish it, and say what happened."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from statistics import quantiles
from typing import Any

from driftline.producers.publisher import EventPublisher, PublishReport
from driftline.producers.replay import Pacer, ReplayPlan
from driftline.producers.sources import LabelledEvent

__all__ = ["ReplaySummary", "run_replay"]

#: How many simulated lateness values are kept for the summary's percentiles.
_LATENESS_SAMPLE = 100_000


@dataclass
class ReplaySummary:
    """What a replay published, and how disordered the stream it made is."""

    report: PublishReport
    elapsed_s: float
    out_of_order: int = 0
    first_event_time: datetime | None = None
    last_event_time: datetime | None = None
    lateness_sample: list[float] = field(default_factory=list, repr=False)

    @property
    def rate(self) -> float:
        return self.report.total / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        lateness = sorted(self.lateness_sample)
        if len(lateness) >= 2:
            cuts = quantiles(lateness, n=100, method="inclusive")
        else:
            cuts = [lateness[0] if lateness else 0.0] * 99
        return self.report.to_dict() | {
            "elapsed_s": round(self.elapsed_s, 3),
            "events_per_s": round(self.rate, 1),
            "out_of_order": self.out_of_order,
            "first_event_time": self.first_event_time.isoformat()
            if self.first_event_time
            else None,
            "last_event_time": self.last_event_time.isoformat() if self.last_event_time else None,
            "simulated_lateness_s": {"p50": round(cuts[49], 3), "p99": round(cuts[98], 3)},
        }


def run_replay(
    source: Iterable[LabelledEvent],
    plan: ReplayPlan,
    pacer: Pacer,
    publisher: EventPublisher,
    on_progress: Callable[[int], None] | None = None,
    progress_every: int = 2_000,
    clock: Callable[[], float] = time.perf_counter,
) -> ReplaySummary:
    """Publish ``source`` in arrival order and return the summary (after the final flush).

    An event is *out of order* when an event published before it has a later event time.
    The first record Kafka does not acknowledge stops the replay with the publisher's
    :class:`~driftline.core.errors.PublishError`; ``publisher.report`` then holds what was
    acknowledged (by partition) and what failed (by reason).
    """
    started = clock()
    summary = ReplaySummary(report=publisher.report, elapsed_s=0.0)
    newest: datetime | None = None
    sent = 0
    for timed in plan.schedule(source):
        pacer.wait_for(timed.arrival)
        publisher.publish(timed.event, timed.arrival)
        event_time = timed.event.event_time
        if newest is not None and event_time < newest:
            summary.out_of_order += 1
        newest = event_time if newest is None or event_time > newest else newest
        if summary.first_event_time is None or event_time < summary.first_event_time:
            summary.first_event_time = event_time
        if len(summary.lateness_sample) < _LATENESS_SAMPLE:
            summary.lateness_sample.append(timed.lateness_s)
        sent += 1
        if on_progress is not None and sent % progress_every == 0:
            on_progress(sent)
    summary.last_event_time = newest
    publisher.flush()
    summary.elapsed_s = clock() - started
    if on_progress is not None:
        on_progress(sent)
    return summary
