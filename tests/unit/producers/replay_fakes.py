"""Labelled event streams (steady or out of order) and a fake clock, for the replay tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from driftline.core.events.model import Observation, Outcome
from driftline.producers.replay import TimedEvent
from driftline.producers.sources import LabelledEvent

T0 = datetime(2013, 1, 1, tzinfo=UTC)


# -- sources ---------------------------------------------------------------------------------------
def labelled(i: int, at: datetime, outcome_after_s: float | None = 300.0) -> LabelledEvent:
    obs = Observation(event_id=f"e{i}", key=f"k{i % 3}", event_time=at, features={"i": i})
    out = None
    if outcome_after_s is not None:
        out = Outcome(
            event_id=f"e{i}",
            key=f"k{i % 3}",
            event_time=at + timedelta(seconds=outcome_after_s),
            label=i % 2 == 0,
        )
    return LabelledEvent(obs, out)


def steady(
    n: int, every_s: float = 1.0, outcome_after_s: float | None = 300.0
) -> list[LabelledEvent]:
    return [labelled(i, T0 + timedelta(seconds=i * every_s), outcome_after_s) for i in range(n)]


def out_of_order(timed: list[TimedEvent]) -> int:
    """Events with an earlier event time than some event sent before them."""
    count, newest = 0, None
    for t in timed:
        if newest is not None and t.event.event_time < newest:
            count += 1
        newest = t.event.event_time if newest is None else max(newest, t.event.event_time)
    return count


# -- pacer ----------------------------------------------------------------------------------------
@dataclass
class FakeClock:
    """A monotonic clock that moves only when slept on or told to."""

    now: float = 1_000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
