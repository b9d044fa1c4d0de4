"""The online worker: poll a batch, let each partition's task process it, write, checkpoint.

Per batch: the records of each partition go to that partition's task (decode, validate,
dedupe, predict, learn); predictions and metrics go to Redis in pipelines; dead letters
go to the dead-letter topic and are acknowledged. Then, every N records or T seconds, a
task's whole state is checkpointed with the offset it reached, and only then is that
offset committed. A task that comes back (a restart, a rebalance) restores its checkpoint
and reads on from its offset, so a crash anywhere leaves the model where an
uninterrupted run would have it: the records after the checkpoint are replayed, and the
same records give the same state. Outputs are at-least-once: the hashes are idempotent,
the stream and the dead-letter topic may repeat the replayed records (their source
partition and offset identify them).
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
from pipeline.core.records import InputRecord, Prediction
from pipeline.core.task import PartitionTask

__all__ = ["Worker", "WorkerConfig", "WorkerStats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    """How the loop runs, when it checkpoints, and when it stops."""

    max_events: int | None = None
    until_idle_s: float | None = None
    poll_timeout_ms: int = 500
    max_poll_records: int = 2000
    idle_watermark_s: float | None = 60.0
    checkpoint_every: int = 5000
    checkpoint_interval_s: float = 10.0


@dataclass
class WorkerStats:
    """Running totals of this worker, for the live view and the final summary."""

    started: float = field(default_factory=time.monotonic)
    records: int = 0
    predictions: int = 0
    stored: int = 0
    dead_letters: int = 0
    batches: int = 0
    checkpoints: int = 0
    restored: int = 0
    replayed_skipped: int = 0
    commits_failed: int = 0

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed_s
        return self.records / elapsed if elapsed > 0 else 0.0


class TaskStore:
    """How tasks come and go: restore (or start fresh) and checkpoint. Made by the runner."""

    def __init__(
        self,
        restore: Callable[[int], PartitionTask | None],
        fresh: Callable[[int], PartitionTask],
        save: Callable[[PartitionTask], None],
    ) -> None:
        self.restore = restore
        self.fresh = fresh
        self.save = save


class _Listener(ConsumerRebalanceListener):
    """Rebalance callbacks; kafka-python 3 runs them on the consumer's IO thread."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.worker.release({tp.partition for tp in revoked})

    def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned:
            log.info("assigned partitions %s", sorted(tp.partition for tp in assigned))


class Worker:
    """Consumes the events topic with one :class:`PartitionTask` per partition."""

    def __init__(
        self,
        consumer: KafkaConsumer,
        topic: str,
        tasks: TaskStore,
        sink: RedisSink,
        dead_letters: DeadLetterPublisher,
        config: WorkerConfig | None = None,
        on_batch: Callable[[Worker, list[Prediction]], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.consumer = consumer
        self.topic = topic
        self.store = tasks
        self.sink = sink
        self.dead_letters = dead_letters
        self.config = config or WorkerConfig()
        self.on_batch = on_batch
        self.clock = clock
        self.tasks: dict[int, PartitionTask] = {}
        #: Every partition this worker has held a task for, whether it still does or not.
        self.partitions_seen: set[int] = set()
        self.stats = WorkerStats()
        self._lock = threading.RLock()  # held while tasks change; never around consumer calls
        self._last_seen: dict[int, tuple[float, datetime]] = {}
        self._unsaved: dict[int, int] = {}
        self._saved_at: dict[int, float] = {}
        self._to_commit: dict[TopicPartition, OffsetAndMetadata] = {}

    def run(self, stop: threading.Event, drained: Callable[[Worker], bool] | None = None) -> None:
        """Loop until ``stop`` is set, a bound is reached, or ``drained`` says so when idle."""
        self.consumer.subscribe([self.topic], listener=_Listener(self))
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
                if batch:
                    self._handle(batch)
                    self._commit()
                    last_record = time.monotonic()
                    continue
                self._advance_idle()
                self._checkpoint_due(force_age=True)
                self._commit()
                idle = time.monotonic() - last_record
                if self.config.until_idle_s is not None and idle >= self.config.until_idle_s:
                    log.info("no record for %.1f s: stopping", idle)
                    break
                if drained is not None and drained(self):
                    log.info("stream drained: stopping")
                    break
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Checkpoint every task with unsaved progress, commit, leave the group."""
        with self._lock:
            for partition in list(self.tasks):
                self._checkpoint(partition)
        self._commit()
        self.consumer.close(autocommit=False)

    def release(self, partitions: set[int]) -> None:
        """Revoked partitions: checkpoint their tasks, then let them go."""
        with self._lock:
            for partition in partitions:
                if partition in self.tasks:
                    self._checkpoint(partition)
                    self.tasks.pop(partition, None)
                self._last_seen.pop(partition, None)
                self._unsaved.pop(partition, None)
        if partitions:
            log.info("released partitions %s", sorted(partitions))

    def snapshots(self) -> list[dict[str, Any]]:
        """The metrics snapshots of the tasks held now (safe against a rebalance)."""
        with self._lock:
            return [task.snapshot() for task in self.tasks.values()]

    def lag(self) -> int:
        """Records between this worker's positions and the ends of its partitions."""
        assigned = list(self.consumer.assignment())
        if not assigned:
            return 0
        ends = self.consumer.end_offsets(assigned)
        return sum(max(0, ends[tp] - self.consumer.position(tp)) for tp in assigned)

    # -- a batch ---------------------------------------------------------------------------
    def _handle(self, batch: dict[TopicPartition, list[Any]]) -> None:
        processed_at = self.clock()
        predictions: list[Prediction] = []
        letters = []
        touched: list[PartitionTask] = []
        count = 0
        with self._lock:
            for tp, records in batch.items():
                task, usable = self._task_for(tp, records)
                if task is None or not usable:
                    continue
                inputs = [
                    InputRecord(r.partition, r.offset, r.key, r.value, r.timestamp) for r in usable
                ]
                out = task.process(inputs, processed_at)
                predictions += out.predictions
                letters += out.dead_letters
                touched.append(task)
                count += len(inputs)
                self._unsaved[tp.partition] = self._unsaved.get(tp.partition, 0) + len(inputs)
                if task.max_event_time is not None:
                    self._last_seen[tp.partition] = (time.monotonic(), task.max_event_time)
            self.stats.stored += self.sink.write(predictions, [t.snapshot() for t in touched])
            self.dead_letters.publish(letters)
            self._checkpoint_due()
        self.stats.records += count
        self.stats.predictions += len(predictions)
        self.stats.dead_letters += len(letters)
        self.stats.batches += 1
        if self.on_batch is not None:
            self.on_batch(self, predictions)

    def _task_for(
        self, tp: TopicPartition, records: list[Any]
    ) -> tuple[PartitionTask | None, list[Any]]:
        """The partition's task, restored on first sight, and the records it has not seen.

        The checkpoint's offset is the truth: records below it are already in the state
        (skipped); if the consumer starts above it (committed ahead of a checkpoint that
        was then lost, or no checkpoint at all), it is sent back and the batch dropped.
        """
        task = self.tasks.get(tp.partition)
        if task is None:
            task = self.store.restore(tp.partition)
            if task is not None:
                self.stats.restored += 1
                log.info(
                    "partition %s restored at offset %s (model version %s)",
                    tp.partition,
                    task.next_offset,
                    task.model_version,
                )
            else:
                task = self.store.fresh(tp.partition)
            self.tasks[tp.partition] = task
            self.partitions_seen.add(tp.partition)
            self._saved_at[tp.partition] = time.monotonic()
        start = task.next_offset
        if start is None:
            start = self.consumer.beginning_offsets([tp])[tp]
            task.next_offset = start
        first = records[0].offset
        if first > start:
            beginning = self.consumer.beginning_offsets([tp])[tp]
            if beginning > start:  # retention deleted what the state still needed
                log.warning(
                    "partition %s: records %s..%s were deleted before they were "
                    "learned; going on from %s",
                    tp.partition,
                    start,
                    beginning - 1,
                    first,
                )
                task.next_offset = first
                return task, records
            log.info(
                "partition %s: read from %s, its state is at %s: seeking back",
                tp.partition,
                first,
                start,
            )
            self.consumer.seek(tp, start)
            return task, []
        usable = [r for r in records if r.offset >= start]
        self.stats.replayed_skipped += len(records) - len(usable)
        return task, usable

    # -- checkpoints and commits -------------------------------------------------------------
    def _checkpoint_due(self, force_age: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            for partition, unsaved in list(self._unsaved.items()):
                age = now - self._saved_at.get(partition, now)
                if unsaved >= self.config.checkpoint_every or (
                    unsaved and age >= self.config.checkpoint_interval_s
                ):
                    self._checkpoint(partition)

    def _checkpoint(self, partition: int) -> None:
        """Save one task (lock held) and queue its offset for commit."""
        task = self.tasks.get(partition)
        if task is None or task.next_offset is None or not self._unsaved.get(partition):
            return
        self.store.save(task)
        self.stats.checkpoints += 1
        self._unsaved[partition] = 0
        self._saved_at[partition] = time.monotonic()
        self._to_commit[TopicPartition(self.topic, partition)] = OffsetAndMetadata(
            task.next_offset, "", -1
        )

    def _commit(self) -> None:
        """Commit the offsets of saved checkpoints (never more than a checkpoint holds)."""
        with self._lock:
            offsets, self._to_commit = self._to_commit, {}
        if not offsets:
            return
        try:
            self.consumer.commit(offsets)
        except KafkaError as exc:  # the group moved on: the checkpoint still holds the offset
            self.stats.commits_failed += 1
            log.warning("offset commit failed (%s); checkpoints keep the offsets", exc)

    def _advance_idle(self) -> None:
        """Idle partitions: move the watermark on wall-clock time so pending entries expire."""
        limit = self.config.idle_watermark_s
        if limit is None:
            return
        now = time.monotonic()
        touched = []
        letters = []
        with self._lock:
            for partition, (seen_at, event_time) in self._last_seen.items():
                idle = now - seen_at
                task = self.tasks.get(partition)
                if task is None or idle < limit:
                    continue
                out = task.advance_watermark(event_time + timedelta(seconds=idle))
                if out.expired or out.dead_letters:
                    touched.append(task)
                    letters += out.dead_letters
                    self._unsaved[partition] = self._unsaved.get(partition, 0) + 1
            if touched:
                self.sink.write([], [t.snapshot() for t in touched])
                self.dead_letters.publish(letters)
                self.stats.dead_letters += len(letters)
