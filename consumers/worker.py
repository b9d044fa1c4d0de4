"""The online worker: poll a batch, let each partition's task process it, write, commit.

Per batch: the records of each partition go to that partition's task (decode, validate,
dedupe, predict, learn); predictions and metrics go to Redis in pipelines; dead letters
go to the dead-letter topic and are acknowledged; only then are the offsets committed.
A crash between the writes and the commit replays the batch (at-least-once writes,
idempotent values); the checkpoints of the next issue make learning exactly-once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from consumers.dead_letters import DeadLetterPublisher
from consumers.redis_sink import RedisSink
from pipeline.records import InputRecord, Prediction
from pipeline.task import PartitionTask

__all__ = ["Worker", "WorkerConfig", "WorkerStats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    """How the loop runs and when it stops."""

    max_events: int | None = None
    until_idle_s: float | None = None
    poll_timeout_ms: int = 500
    max_poll_records: int = 2000
    idle_watermark_s: float | None = 60.0


@dataclass
class WorkerStats:
    """Running totals of this worker, for the live view and the final summary."""

    started: float = field(default_factory=time.monotonic)
    records: int = 0
    predictions: int = 0
    stored: int = 0
    dead_letters: int = 0
    batches: int = 0
    commits_failed: int = 0
    last_batch_rate: float = 0.0

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed_s
        return self.records / elapsed if elapsed > 0 else 0.0


class _Assignments(ConsumerRebalanceListener):
    """Records revocations (the callback runs on the consumer's IO thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revoked: set[int] = set()
        self.assigned: set[int] = set()

    def on_partitions_revoked(self, revoked: Any) -> None:
        with self._lock:
            self._revoked |= {tp.partition for tp in revoked}
            self.assigned -= {tp.partition for tp in revoked}

    def on_partitions_assigned(self, assigned: Any) -> None:
        with self._lock:
            self.assigned |= {tp.partition for tp in assigned}
            self._revoked -= {tp.partition for tp in assigned}

    def take_revoked(self) -> set[int]:
        with self._lock:
            revoked, self._revoked = self._revoked, set()
            return revoked


class Worker:
    """Consumes the events topic with one :class:`PartitionTask` per partition."""

    def __init__(
        self,
        consumer: KafkaConsumer,
        topic: str,
        task_factory: Callable[[int], PartitionTask],
        sink: RedisSink,
        dead_letters: DeadLetterPublisher,
        config: WorkerConfig | None = None,
        on_batch: Callable[[Worker, list[Prediction]], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.consumer = consumer
        self.topic = topic
        self.task_factory = task_factory
        self.sink = sink
        self.dead_letters = dead_letters
        self.config = config or WorkerConfig()
        self.on_batch = on_batch
        self.clock = clock
        self.tasks: dict[int, PartitionTask] = {}
        self.stats = WorkerStats()
        self._assignments = _Assignments()
        self._last_seen: dict[int, tuple[float, datetime]] = {}

    def run(self, stop: threading.Event, drained: Callable[[Worker], bool] | None = None) -> None:
        """Loop until ``stop`` is set, a bound is reached, or ``drained`` says so when idle."""
        self.consumer.subscribe([self.topic], listener=self._assignments)
        last_record = time.monotonic()
        try:
            while not stop.is_set():
                budget = self.config.max_poll_records
                if self.config.max_events is not None:
                    budget = min(budget, self.config.max_events - self.stats.records)
                    if budget <= 0:
                        break
                batch = self.consumer.poll(
                    timeout_ms=self.config.poll_timeout_ms, max_records=budget
                )
                for partition in self._assignments.take_revoked():
                    self.tasks.pop(partition, None)
                    self._last_seen.pop(partition, None)
                if batch:
                    self._handle(batch)
                    last_record = time.monotonic()
                    continue
                self._advance_idle()
                idle = time.monotonic() - last_record
                if self.config.until_idle_s is not None and idle >= self.config.until_idle_s:
                    log.info("no record for %.1f s: stopping", idle)
                    break
                if drained is not None and drained(self):
                    log.info("stream drained: stopping")
                    break
        finally:
            self.consumer.close(autocommit=False)

    def lag(self) -> int:
        """Records between this worker's positions and the ends of its partitions."""
        assigned = list(self.consumer.assignment())
        if not assigned:
            return 0
        ends = self.consumer.end_offsets(assigned)
        return sum(max(0, ends[tp] - self.consumer.position(tp)) for tp in assigned)

    def _handle(self, batch: dict[TopicPartition, list[Any]]) -> None:
        started = time.monotonic()
        processed_at = self.clock()
        predictions: list[Prediction] = []
        letters = []
        touched: list[PartitionTask] = []
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        count = 0
        for tp, records in batch.items():
            task = self.tasks.get(tp.partition)
            if task is None:
                task = self.tasks[tp.partition] = self.task_factory(tp.partition)
            inputs = [
                InputRecord(r.partition, r.offset, r.key, r.value, r.timestamp) for r in records
            ]
            out = task.process(inputs, processed_at)
            predictions += out.predictions
            letters += out.dead_letters
            touched.append(task)
            count += len(inputs)
            if task.max_event_time is not None:
                self._last_seen[tp.partition] = (time.monotonic(), task.max_event_time)
            offsets[tp] = OffsetAndMetadata(task.next_offset, "", -1)
        self.stats.stored += self.sink.write(predictions, [t.snapshot() for t in touched])
        self.dead_letters.publish(letters)
        try:
            self.consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance took the partitions: the new owner replays
            self.stats.commits_failed += 1
            log.warning("offset commit failed (%s); the batch will be read again", exc)
        self.stats.records += count
        self.stats.predictions += len(predictions)
        self.stats.dead_letters += len(letters)
        self.stats.batches += 1
        spent = time.monotonic() - started
        self.stats.last_batch_rate = count / spent if spent > 0 else 0.0
        if self.on_batch is not None:
            self.on_batch(self, predictions)

    def _advance_idle(self) -> None:
        """Idle partitions: move the watermark on wall-clock time so pending entries expire."""
        limit = self.config.idle_watermark_s
        if limit is None:
            return
        now = time.monotonic()
        touched = []
        letters = []
        for partition, (seen_at, event_time) in self._last_seen.items():
            idle = now - seen_at
            task = self.tasks.get(partition)
            if task is None or idle < limit:
                continue
            out = task.advance_watermark(event_time + timedelta(seconds=idle))
            if out.expired or out.dead_letters:
                touched.append(task)
                letters += out.dead_letters
        if touched:
            self.sink.write([], [t.snapshot() for t in touched])
            self.dead_letters.publish(letters)
            self.stats.dead_letters += len(letters)
