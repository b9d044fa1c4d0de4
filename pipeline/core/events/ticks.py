"""Watermark ticks: wall-clock time made part of the log.

An idle partition's watermark must still move, or its pending predictions never expire.
Moving it on the worker's own clock would make the state depend on when the worker
happened to look, which a replay after a crash cannot reproduce (invariant 7). So the
worker *writes* the passage of time into the partition instead: a tick is a small record
appended to the idle partition of the events topic. The broker stamps it with its ingest
time (``LogAppendTime``), like every record, and the task moves the watermark from that
stamp. The tick is processed in log order, so a replay moves the watermark at exactly the
same point, by exactly the same amount, whoever wrote the tick and whenever.

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
>>> clock = IdleClock()
>>> clock.saw(t0 + timedelta(seconds=5), ingest_time=t0 + timedelta(seconds=6))
>>> clock.tick(t0 + timedelta(seconds=30), idle_s=60) is None  # not idle long enough
True
>>> clock.tick(t0 + timedelta(seconds=66), idle_s=60).isoformat()
'2024-01-01T00:01:05+00:00'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from driftline.core.events import schemas

__all__ = ["TICK_SCHEMA_ID", "IdleClock", "WatermarkTick", "tick_schema"]

#: The local-only schema id of ticks (observation 1, outcome 2, control 4), used without a
#: schema registry; with one, the registry's id (:mod:`driftline.core.events.codec`).
TICK_SCHEMA_ID = 3


class WatermarkTick(BaseModel):
    """A tick record's body: only who wrote it; its meaning is its ingest time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(max_length=256)

    @property
    def kind(self) -> str:
        return "tick"


def tick_schema() -> dict[str, Any]:
    """The tick record's Avro schema (parsed JSON), read once from the package."""
    return schemas.load("tick")


class IdleClock:
    """Where a partition's event time stands, and the ingest time at which it stood there.

    Every accepted event moves the frontier (never back) and restarts the idle time; a
    tick whose ingest time is at least ``idle_s`` after the last arrival moves the
    frontier on by the time that passed on the broker's clock.
    """

    def __init__(self) -> None:
        self.frontier: datetime | None = None
        self.since: datetime | None = None

    def saw(self, event_time: datetime, ingest_time: datetime) -> None:
        """An accepted event: the partition is live at ``ingest_time``."""
        if self.frontier is None or event_time > self.frontier:
            self.frontier = event_time
        if self.since is None or ingest_time > self.since:
            self.since = ingest_time

    def tick(self, ingest_time: datetime, idle_s: float | None) -> datetime | None:
        """The new frontier if the partition was idle ``idle_s`` by ``ingest_time``."""
        if idle_s is None or self.frontier is None or self.since is None:
            return None
        elapsed = ingest_time - self.since
        if elapsed < timedelta(seconds=idle_s):
            return None
        self.frontier += elapsed
        self.since = ingest_time
        return self.frontier
