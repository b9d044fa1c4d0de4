"""A worker on the in-memory ports of ``worker_fakes``, and a stream to feed it.

:class:`Rig` wires a :class:`~driftline.consumers.worker.Worker` to one shared
:class:`MemoryTopic` and checkpoint store; :func:`publish_flights` writes observations and
their outcomes to the topic at its broker clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from driftline.consumers.tasks import TaskStore
from driftline.consumers.worker import Worker, WorkerConfig
from driftline.core.events.model import Observation, Outcome
from driftline.core.learning.features import FeatureConfig
from driftline.core.task.partition import TaskConfig
from driftline.core.task.seal import CheckpointCodec
from tests.unit.consumers.worker_fakes import (
    MemoryCheckpoints,
    MemoryDeadLetters,
    MemorySink,
    MemorySource,
    MemoryTicks,
    MemoryTopic,
)

CODEC = CheckpointCodec(b"k" * 32)


def task_config(idle_s: float | None = None, ttl_s: float = 3600.0) -> TaskConfig:
    return TaskConfig(
        features=FeatureConfig(raw_only=True), pending_ttl_s=ttl_s, idle_watermark_s=idle_s
    )


class Rig:
    """A worker wired to in-memory parts sharing one topic and one checkpoint store."""

    def __init__(
        self,
        topic: MemoryTopic,
        checkpoints: MemoryCheckpoints,
        config: WorkerConfig,
        tasks: TaskConfig,
        *,
        ticks: bool = True,
        assign: set[int] | None = None,
        poll_cost_s: float = 0.0,
        group: str = "workers",
    ) -> None:
        self.source = MemorySource(topic, assign, poll_cost_s=poll_cost_s, group=group)
        self.sink = MemorySink()
        self.letters = MemoryDeadLetters()
        self.ticks = MemoryTicks(topic) if ticks else None
        self.store = TaskStore(checkpoints, CODEC, tasks, "test")
        self.slept: list[float] = []
        self.worker = Worker(
            self.source,
            self.store,
            self.sink,
            self.letters,
            self.ticks,
            config,
            clock=lambda: datetime(2024, 1, 1, tzinfo=UTC),
            monotonic=topic.clock,
            sleep=self.sleep,
        )

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.source.clock.now += seconds

    def run(self, finished: Any = None, stop: threading.Event | None = None) -> Worker:
        self.worker.run(stop or threading.Event(), finished)
        return self.worker


def publish_flights(topic: MemoryTopic, n: int, partitions: tuple[int, ...] = (0,)) -> None:
    """``n`` observations per partition, each followed by its outcome, at the broker clock."""
    start = datetime.fromtimestamp(topic.broker_ms / 1000, tz=UTC)
    for i in range(n):
        for p in partitions:
            when = start + timedelta(seconds=i)
            key = f"k{p}"
            x = {"x": float(i % 7), "y": float((i * 3) % 5)}
            topic.publish(Observation(event_id=f"{p}-{i}", key=key, event_time=when, features=x), p)
            if i >= 2:
                topic.publish(
                    Outcome(
                        event_id=f"{p}-{i - 2}",
                        key=key,
                        event_time=when,
                        label=(i * 7) % 3 == 0,
                    ),
                    p,
                )
