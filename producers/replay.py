"""Replay: when each event reaches Kafka, in what order, at what pace.

A source says what happened and when (event time). The replay adds the other clock: each
event *arrives* after a random, seeded delay, so arrival order differs from event-time
order and lateness is real. Events are released in arrival order through a bounded
reorder buffer (a heap), so a source of any length streams in constant memory.

>>> from datetime import UTC, datetime, timedelta
>>> from driftline.core.events.model import Observation, Outcome
>>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
>>> def pair(i):
...     obs = Observation(event_id=str(i), key="k", event_time=t0 + timedelta(seconds=i),
...                       features={"x": i})
...     out = Outcome(event_id=str(i), key="k", event_time=t0 + timedelta(seconds=i + 5),
...                   label=i % 2 == 0)
...     return LabelledEvent(obs, out)
>>> plan = ReplayPlan(delay=ArrivalDelay(mean_s=2.0, max_s=10.0), seed=7)
>>> timed = list(plan.schedule(pair(i) for i in range(100)))
>>> len(timed), all(a.arrival <= b.arrival for a, b in zip(timed, timed[1:]))
(200, True)
>>> [t.event.event_id for t in plan.schedule(pair(i) for i in range(3))] == \\
...     [t.event.event_id for t in plan.schedule(pair(i) for i in range(3))]
True
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from driftline.core.errors import ConfigError
from driftline.core.events.model import Event
from driftline.producers.sources import LabelledEvent

__all__ = ["ArrivalDelay", "Pacer", "ReplayPlan", "TimedEvent"]


@dataclass(frozen=True)
class ArrivalDelay:
    """The delay between an event and its arrival: exponential, capped.

    ``mean_s=0`` means every event arrives at its event time (no disorder).
    """

    mean_s: float = 30.0
    max_s: float = 600.0

    def __post_init__(self) -> None:
        if not (0 <= self.mean_s < math.inf and 0 <= self.max_s < math.inf):  # NaN fails too
            raise ConfigError(
                f"arrival delays must be finite and not negative, got mean {self.mean_s}, "
                f"max {self.max_s}"
            )

    def sample(self, rng: random.Random) -> float:
        if self.mean_s == 0:
            return 0.0
        return min(rng.expovariate(1.0 / self.mean_s), self.max_s)


@dataclass(frozen=True, slots=True)
class TimedEvent:
    """An event with its simulated arrival time."""

    arrival: datetime
    event: Event

    @property
    def lateness_s(self) -> float:
        return (self.arrival - self.event.event_time).total_seconds()


@dataclass(frozen=True)
class ReplayPlan:
    """How a source is replayed: arrival delays (seeded), optionally moved onto now.

    With ``rebase_to`` the event clock is *warped* onto the wall clock: an event that
    happened ``d`` after the first observation happens ``d / time_scale`` after
    ``rebase_to``. The arrival delays are then drawn on that warped clock. So a year of
    flights replayed with ``time_scale=262_800`` takes two minutes, and the lateness the
    broker measures is the injected delay plus transport, as in a live system; what the
    warp distorts is the calendar of the event times (the sources carry their local
    calendar as features).
    """

    delay: ArrivalDelay = ArrivalDelay()
    seed: int = 42
    rebase_to: datetime | None = None
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.time_scale < math.inf:
            raise ConfigError(f"time_scale must be positive and finite, got {self.time_scale}")

    def schedule(self, source: Iterable[LabelledEvent]) -> Iterator[TimedEvent]:
        """Events in arrival order; deterministic for a given source and seed.

        The source should come in observation event-time order. Every event's arrival is
        at or after its event time, so once the source has reached event time ``t`` no
        later event can arrive before ``t``: everything buffered up to ``t`` is released.
        A source that is itself out of order is released as it stands (late rows stay late).
        """
        rng = random.Random(self.seed)
        order = itertools.count()
        heap: list[tuple[datetime, int, Event]] = []
        origin: datetime | None = None
        for item in source:
            obs = item.observation
            if origin is None:
                origin = obs.event_time
            now = self._warp(obs.event_time, origin)
            while heap and heap[0][0] <= now:
                arrival, _, due = heapq.heappop(heap)
                yield TimedEvent(arrival, due)
            for original in (obs, item.outcome):
                if original is None:
                    continue
                event: Event = original
                if self.rebase_to is not None:
                    warped = self._warp(original.event_time, origin)
                    event = original.model_copy(update={"event_time": warped})
                arrival = event.event_time + timedelta(seconds=self.delay.sample(rng))
                heapq.heappush(heap, (arrival, next(order), event))
        while heap:
            arrival, _, event = heapq.heappop(heap)
            yield TimedEvent(arrival, event)

    def _warp(self, when: datetime, origin: datetime) -> datetime:
        if self.rebase_to is None:
            return when
        return self.rebase_to + (when - origin) / self.time_scale


class Pacer:
    """Holds each event until its arrival time, scaled by ``speed`` (``None``: no waiting).

    ``speed=60`` replays an hour of arrivals in a minute; ``speed=1`` is real time.
    """

    def __init__(
        self,
        speed: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speed is not None and not speed > 0:  # 'not >' also refuses NaN
            raise ConfigError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._clock = clock
        self._sleep = sleep
        self._origin: tuple[float, datetime] | None = None
        #: Events due sooner than this are sent at once: sleeping per event for a few
        #: microseconds would cost more than the pacing is worth.
        self.granularity_s = 0.002

    def start_at(self, when: datetime) -> None:
        """Start the replay clock at ``when``, now (by default it starts at the first
        arrival, whenever that is asked for). A rebased replay starts it at the wall time
        its warped clock was rebased to, so each event reaches Kafka at its arrival time on
        the wall clock, however long the source took to prepare its first event."""
        self._origin = (self._clock(), when)

    def wait_for(self, arrival: datetime) -> None:
        """Block until ``arrival`` is due on the scaled replay clock."""
        if self.speed is None:
            return
        if self._origin is None:
            self._origin = (self._clock(), arrival)
            return
        wall0, sim0 = self._origin
        due = wall0 + (arrival - sim0).total_seconds() / self.speed
        ahead = due - self._clock()
        if ahead > self.granularity_s:
            self._sleep(ahead)
