"""A replay assembled from its options: the source scheduled (its faults injected), paced and
published, and what it says when it is done.

:func:`assemble_replay` builds what ``driftline produce`` runs: an :class:`InjectingPlan`
(seeded arrival delays, the warped clock of a rebased replay, the fault injector), a
:class:`~driftline.producers.replay.Pacer` and an
:class:`~driftline.producers.publisher.EventPublisher` whose delivery bounds come from the
Kafka request timeout. The :class:`AssembledReplay` it returns is a context manager: on
exit the publisher is closed, then the ground truth of the injected faults is written
(also when publishing failed: the faults handed to the publisher).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from driftline.adapters.confluent_clients import make_client_producer
from driftline.adapters.settings import Settings
from driftline.core.events.codec import EventCodec
from driftline.core.times import EPOCH, epoch_micros
from driftline.producers.faults import FaultInjector, FaultPlan
from driftline.producers.publisher import DeliveryBounds, EventPublisher
from driftline.producers.replay import ArrivalDelay, Pacer, ReplayPlan, TimedEvent
from driftline.producers.replay_options import ReplayOptions
from driftline.producers.run import ReplaySummary, run_replay
from driftline.producers.sources import LabelledEvent

__all__ = ["AssembledReplay", "InjectingPlan", "assemble_replay", "rebase_to"]


@dataclass(frozen=True)
class InjectingPlan(ReplayPlan):
    """A replay plan whose arrival-ordered stream goes through a fault injector."""

    injector: FaultInjector | None = None

    def schedule(self, source: Iterable[LabelledEvent]) -> Iterator[TimedEvent]:
        timed = super().schedule(source)
        return timed if self.injector is None else self.injector.inject(timed)


def rebase_to(now: datetime, align_s: float | None) -> datetime:
    """``now``, or the next multiple of ``align_s`` seconds since the epoch (microseconds).

    >>> rebase_to(datetime(2030, 1, 1, 0, 0, 1, 500_000, tzinfo=UTC), 2.0).isoformat()
    '2030-01-01T00:00:02+00:00'
    """
    if not align_s:
        return now
    step = round(align_s * 1_000_000)
    micros = epoch_micros(now)
    return EPOCH + timedelta(microseconds=-(-micros // step) * step)


class AssembledReplay:
    """A source, its plan, pacer and publisher, ready to run once (in a ``with`` block)."""

    def __init__(
        self,
        source: Iterable[LabelledEvent],
        plan: InjectingPlan,
        pacer: Pacer,
        publisher: EventPublisher,
        ground_truth: Path | None = None,
    ) -> None:
        self.source = source
        self.plan = plan
        self.pacer = pacer
        self.publisher = publisher
        self.ground_truth = ground_truth
        self._summary: ReplaySummary | None = None

    def __enter__(self) -> AssembledReplay:
        self.publisher.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.publisher.__exit__(exc_type, exc, tb)
        finally:
            if self.plan.injector is not None and self.ground_truth is not None:
                self.plan.injector.write_truth(self.ground_truth)

    def run(self, on_progress: Callable[[int], None] | None = None) -> ReplaySummary:
        """Publish the source in arrival order (see :func:`~driftline.producers.run.run_replay`)."""
        self._summary = run_replay(self.source, self.plan, self.pacer, self.publisher, on_progress)
        return self._summary

    def summary(self) -> dict[str, Any]:
        """What the run published; a rebased replay also says where its warped clock starts
        (event time ``t`` of the source is ``rebase_to + (t - the first event's time) /
        time_scale``, so a reader can map times back), and the faults injected."""
        if self._summary is None:
            raise RuntimeError("the replay has not run")
        rebase = (
            {"rebase_to": self.plan.rebase_to.isoformat(), "time_scale": self.plan.time_scale}
            if self.plan.rebase_to is not None
            else {}
        )
        return self._summary.to_dict() | rebase | self.injected()

    def failure(self, error: BaseException) -> dict[str, Any]:
        """What a replay that stopped on ``error`` published: the publisher's report (by
        partition, failures by reason), the faults handed to it, and the error."""
        return self.publisher.report.to_dict() | self.injected() | {"error": str(error)}

    def injected(self) -> dict[str, Any]:
        """How many of each fault were injected, and where their ground truth is."""
        if self.plan.injector is None:
            return {}
        return {"injected": self.plan.injector.counts, "ground_truth": str(self.ground_truth)}


def assemble_replay(
    settings: Settings,
    bootstrap: str,
    source: Iterable[LabelledEvent],
    options: ReplayOptions,
    faults: FaultPlan | None = None,
    *,
    make_producer: Callable[..., Any] = make_client_producer,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    codec: EventCodec | None = None,
) -> AssembledReplay:
    """The replay of ``source`` to the events topic at Kafka ``bootstrap``, as ``options``
    say, with ``faults`` injected (:func:`~driftline.producers.replay_options.fault_plan`).

    A rebased replay takes the source's first event before its clock starts (loading and
    joins: seconds for the flights), so events are not late by the preparation time.
    ``make_producer(kafka_settings, **options)`` makes the Kafka producer; ``codec`` gives
    the schema ids (the registry's when one is configured; default: the local-only ids).
    """
    time_scale = options.time_scale
    injector = FaultInjector(faults, time_scale) if faults is not None else None
    pacer = Pacer(1.0 if options.rebase else options.speed)
    start = None
    if options.rebase:
        events = iter(source)
        first = next(events, None)
        started = now()
        start = rebase_to(started, options.rebase_align)
        pacer.start_at(started)
        source = itertools.chain([] if first is None else [first], events)
    plan = InjectingPlan(
        delay=ArrivalDelay(mean_s=options.delay_mean, max_s=options.delay_max),
        seed=settings.seed,
        rebase_to=start,
        time_scale=time_scale,
        injector=injector,
    )
    kafka = settings.kafka.at(bootstrap)
    bounds = DeliveryBounds(kafka.request_timeout_ms)
    producer = make_producer(kafka, **bounds.producer_options())
    publisher = EventPublisher(
        producer, settings.topics.events, codec=codec, **bounds.publisher_options()
    )
    return AssembledReplay(source, plan, pacer, publisher, options.ground_truth)
