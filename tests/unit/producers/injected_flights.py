"""The first flights of the year, replayed in arrival order and injected with faults, for
the fault tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from driftline.producers.faults import FaultInjector, FaultPlan, FaultTargets
from driftline.producers.flights import flights_targets
from driftline.producers.replay import TimedEvent


class Run(NamedTuple):
    injector: FaultInjector
    out: list[TimedEvent]


def inject(
    timed: Iterable[TimedEvent],
    spec: str,
    seed: int = 1,
    targets: FaultTargets | None = None,
    time_scale: float = 1.0,
) -> Run:
    plan = FaultPlan(FaultPlan.parse_rates(spec), seed, targets or flights_targets())
    injector = FaultInjector(plan, time_scale)
    return Run(injector, list(injector.inject(timed)))
