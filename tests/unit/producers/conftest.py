"""The fault tests' streams: the first flights, in arrival order, and with faults injected."""

from __future__ import annotations

import pytest

from driftline.producers.flights import flight_events
from driftline.producers.replay import ReplayPlan, TimedEvent
from driftline.producers.sources import LabelledEvent
from tests.unit.producers.injected_flights import Run, inject

FLIGHTS = 20_000


@pytest.fixture(scope="module")
def flights() -> list[LabelledEvent]:
    return list(flight_events(limit=FLIGHTS))


@pytest.fixture(scope="module")
def timed(flights: list[LabelledEvent]) -> list[TimedEvent]:
    return list(ReplayPlan(seed=3).schedule(flights))


@pytest.fixture(scope="module")
def faulty(timed: list[TimedEvent]) -> Run:
    """Every fault at 10%: about 2,000 of each in 20,000 flights."""
    return inject(timed, "all=0.1", seed=11)
