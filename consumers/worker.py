"""The online worker: poll a batch, let each partition's task process it, write, checkpoint.

Per batch: the records of each partition go to that partition's task (decode, validate,
dedupe, predict, learn); predictions and metrics go to the prediction sink; dead letters
go to the dead-letter sink and are acknowledged. Then, every N records or T seconds, a
task's whole state is checkpointed with the offset it reached, and only then is that
offset committed. A task that comes back (a restart, a rebalance) restores its checkpoint
and reads on from its offset, so a crash anywhere leaves the model where an
uninterrupted run would have it: the records after the checkpoint are replayed, and the
same records give the same state. The hashes are idempotent; the dead letters and alerts
a replay makes again are read back from their topics and not published twice
(:mod:`~driftline.consumers.replayed`); the Redis stream may repeat replayed predictions.

An idle partition's watermark moves through ticks written into the partition itself
(:mod:`driftline.core.events.ticks`), never on this process's clock, so replays stay exact.

:class:`Worker` is the loop; each concern of it has an object of its own:

- :mod:`~driftline.consumers.config`: how the loop runs, checkpoints and stops;
- :mod:`~driftline.consumers.partitions`: one object per partition held, with its task and
  its bookkeeping (assigned in one call, revoked in one call);
- :mod:`~driftline.consumers.restorer`: a partition's task from its checkpoint, or fresh;
- :mod:`~driftline.consumers.offsets`: which records a task has not seen;
- :mod:`~driftline.consumers.outputs`: a batch's outputs written out, outages waited out
  (:mod:`~driftline.consumers.retry`), while the next batch is processed
  (:mod:`~driftline.consumers.write_behind`);
- :mod:`~driftline.consumers.checkpointer`: when to checkpoint, and offsets committed only
  once a checkpoint holds them;
- :mod:`~driftline.consumers.stopping`: when a bounded run is over;
- :mod:`~driftline.consumers.assignment`, :mod:`~driftline.consumers.watchdog` and
  :mod:`~driftline.consumers.fetching`: nothing hangs silently;
- :mod:`~driftline.consumers.stats`: the running totals the views and the exposition show.

The loop depends only on the Protocols of :mod:`driftline.consumers.ports`: it runs in a
unit test.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from driftline.consumers.assignment import AssignmentWatch
from driftline.consumers.checkpointer import Checkpointer
from driftline.consumers.config import WorkerConfig
from driftline.consumers.fetching import FetchWatch
from driftline.consumers.offsets import Plan, unseen
from driftline.consumers.outputs import BatchOutputs, BatchWrite, Outputs
from driftline.consumers.partitions import AssignedPartition, Partitions
from driftline.consumers.ports import (
    AlertSink,
    DeadLetterSink,
    OutputFence,
    PredictionSink,
    PublishedOutputs,
    RecordSource,
    TickSink,
)
from driftline.consumers.restorer import TaskRestorer
from driftline.consumers.retry import Retry
from driftline.consumers.stats import LagGauge, WorkerStats
from driftline.consumers.stopping import IdleStop
from driftline.consumers.tasks import TaskStore
from driftline.consumers.watchdog import CallWatch, WatchedSource
from driftline.consumers.write_behind import WriteBehind
from driftline.core.errors import TransientError
from driftline.core.events.records import InputRecord, Prediction
from driftline.core.task.partition import PartitionTask

__all__ = ["Worker", "WorkerConfig", "WorkerStats"]

log = logging.getLogger(__name__)


class Worker:
    """Consumes one topic with one :class:`PartitionTask` per partition."""

    def __init__(
        self,
        source: RecordSource,
        tasks: TaskStore,
        sink: PredictionSink,
        dead_letters: DeadLetterSink,
        ticks: TickSink | None = None,
        config: WorkerConfig | None = None,
        alerts: AlertSink | None = None,
        on_batch: Callable[[Worker, list[Prediction]], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_stall: Callable[[str, float], None] | None = None,
        published: PublishedOutputs | None = None,
        fence: OutputFence | None = None,
    ) -> None:
        self.source = source
        self.store = tasks
        self.ticks = ticks
        self.config = config = config or WorkerConfig()
        self.on_batch = on_batch
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        #: Every partition this worker has processed records of, whether it holds it or not.
        self.partitions_seen: set[int] = set()
        self.stats = stats = WorkerStats(started=monotonic())
        #: Times every broker call from a thread of its own (wall clock, not ``monotonic``:
        #: a test's clock stands still while a call hangs).
        self.watch = CallWatch(config.stall_s, on_stall)
        self._watched: WatchedSource | None = None
        #: The partitions the group gave this worker and has not taken back, each with its
        #: task and bookkeeping: only these get a task, ticks or commits.
        self.partitions = Partitions()
        self._lock = self.partitions.lock  # held while tasks change; never around source calls
        self.retry = retry = Retry(
            stats,
            first_s=config.retry_first_s,
            max_s=config.retry_max_s,
            keepalive=lambda: self._calls.keepalive(),
            monotonic=monotonic,
            sleep=lambda seconds: self.sleep(seconds),
        )
        self.restorer = TaskRestorer(
            self.partitions, tasks, retry, stats, monotonic, published, fence
        )
        self.outputs = Outputs(
            sink,
            dead_letters,
            alerts,
            self.retry,
            stats,
            self.partitions.observe_latency,
            lambda: self.clock(),
            self.restorer.replayed,
            fence,
        )
        self.writes = WriteBehind(self.outputs, self.partitions, background=config.write_behind)
        self.checkpointer = Checkpointer(
            self.partitions,
            tasks,
            stats,
            lambda offsets: self._calls.commit(offsets),
            every=config.checkpoint_every,
            interval_s=config.checkpoint_interval_s,
            monotonic=monotonic,
            in_flight=self.writes.holds,
        )
        self.writes.on_written = self.checkpointer.written
        self.writes.on_failed = self.checkpointer.forget_sealed
        self.assignment = AssignmentWatch(
            config.assignment_stall_s, stats, lambda: self._ask_source("rejoin"), monotonic
        )
        self.fetches = FetchWatch(config.stall_s, stats, monotonic)
        self.idle = IdleStop(config.until_idle_s, monotonic)
        self.lags = LagGauge(stats, config.lag_interval_s, monotonic)

    @property
    def tasks(self) -> dict[int, PartitionTask]:
        """The tasks held now, by partition."""
        return self.partitions.tasks()

    @property
    def _calls(self) -> Any:
        """The source, with its broker calls timed by :attr:`watch`."""
        if self._watched is None or self._watched._source is not self.source:
            self._watched = WatchedSource(self.source, self.watch)
        return self._watched

    def waiting(self) -> tuple[str, float] | None:
        """What this worker waits for now, and how long it has (``None``: nothing)."""
        stalled = self.watch.waiting()
        if stalled is not None:
            return stalled[0], time.monotonic() - stalled[1]
        if self.stats.waiting_for is not None and self.stats.waiting_since is not None:
            return self.stats.waiting_for, self.monotonic() - self.stats.waiting_since
        return None

    # -- the loop ----------------------------------------------------------------------------
    def run(self, stop: threading.Event, finished: Callable[[], bool] | None = None) -> None:
        """Loop until ``stop`` is set or a bound is reached; then checkpoint and leave.

        ``finished`` says the input is complete (a bounded replay ended): the worker then
        stops once it holds partitions and has read them to their ends.
        """
        self.watch.start()
        self.source.subscribe(self)
        try:
            while not stop.is_set():
                self.stats.heartbeat_at = self.monotonic()  # /livez: the loop turns
                self._set_up_assigned()
                budget = self.config.max_poll_records
                if self.config.max_events is not None:
                    budget = min(budget, self.config.max_events - self.stats.records)
                    if budget <= 0:
                        break
                batch = self._calls.poll(self.config.poll_timeout_ms, budget)
                if batch:
                    self.stats.last_batch_at = self.monotonic()
                    if self.stats.first_batch_at is None:
                        self.stats.first_batch_at = self.stats.last_batch_at
                else:
                    self.writes.collect()  # idle: the last write is not left in flight
                self.checkpointer.save_due()
                self.checkpointer.commit()
                events = self._handle(batch) if batch else 0
                self.lags.refresh(lambda: self._calls.lags())  # in this thread: see LagGauge
                held = [h.partition for h in self.partitions.set_up()]
                if self.fetches.turn(held, batch, lambda: self._calls.lags(fresh=True)):
                    self._ask_source("renew")  # a partition no longer fetched: see fetching
                if self._should_stop(events, finished):  # before ticking: a fresh tick lags
                    break
                self._write_ticks()
        finally:
            self.shutdown()

    def _should_stop(self, events: int, finished: Callable[[], bool] | None) -> bool:
        """Whether the run is over (see :mod:`~driftline.consumers.stopping`); an
        unassigned worker is watched meanwhile (:mod:`~driftline.consumers.assignment`)."""
        assigned = bool(self._calls.assignment())
        self.assignment.check(assigned, bounded=finished is not None)
        return self.idle.due(events, assigned, finished, lambda: self._calls.lag())

    def _ask_source(self, name: str) -> None:
        """``rejoin`` the group (an assignment that never comes: see :mod:`~driftline.
        consumers.assignment`) or ``renew`` the consumer, if the source can."""
        call = getattr(self.source, name, None)
        if call is not None:
            with self.watch.calling(name):
                call(self)

    def _write_ticks(self) -> None:
        """Tick each held partition quiet for ``idle_watermark_s`` (busy ones do not matter)."""
        limit = self.config.idle_watermark_s
        if limit is None or self.ticks is None:
            return
        due = self.partitions.quiet(limit, self.monotonic())
        if due:
            self.stats.ticks_written += self.ticks.tick(due)

    def shutdown(self) -> None:
        """Checkpoint every task with unsaved progress, commit, leave the group.

        A task holding a batch that was not written out (the worker is stopped at once
        while waiting for a service, or its write failed) is not checkpointed.
        """
        try:
            self.writes.collect()  # the write in flight
        finally:
            self.writes.close()
        with self._lock:
            self.checkpointer.save_clean()
            # The last batch's latency is written with the next batch: there is none now.
            final = [
                held.snapshot(self.clock(), self.monotonic())
                for held in self.partitions.set_up()
                if held.partition in self.partitions_seen and not held.dirty
            ]
        self.checkpointer.commit()
        if final:
            try:
                self.outputs.sink.write([], final)
            except TransientError as exc:  # metrics only: not worth holding the stop for
                log.warning("the final metrics were not written (%s)", exc)
        try:
            self._calls.close()
        finally:
            self.watch.stop()

    # -- rebalance callbacks (any thread) -------------------------------------------------------
    def on_revoked(self, partitions: set[int]) -> None:
        """Revoked partitions: checkpoint their tasks (unless dirty), then let them go."""
        with self._lock:
            self.writes.settle()
            released = self.partitions.revoke(partitions)
            for held in released:
                # saved with the offset it reached, which its next owner seeks to; nothing
                # is committed from here (after the revocation it could only move the
                # group back): the offset goes with the partition's object
                self.checkpointer.save(held)
            for partition in partitions:
                self.stats.forget(partition)
        if released:
            log.info("released partitions %s", sorted(h.partition for h in released))

    def on_assigned(self, partitions: set[int]) -> None:
        self.partitions.assign(partitions, self.monotonic())
        if partitions:
            log.info("assigned partitions %s", sorted(partitions))

    def snapshots(self) -> list[dict[str, Any]]:
        """The metrics snapshots of the tasks held now (safe against a rebalance)."""
        with self._lock:
            return [
                held.snapshot(self.clock(), self.monotonic()) for held in self.partitions.set_up()
            ]

    # -- a batch -------------------------------------------------------------------------------
    def _handle(self, batch: Mapping[int, Sequence[InputRecord]]) -> int:
        """Process a batch and write it out; return how many records were events (not ticks).

        The tasks' new state is *dirty* until the batch's outputs are written: a dirty
        task is never checkpointed, so no checkpoint holds a batch that is not in Redis.
        """
        began = time.perf_counter()
        plans = self._plan(batch)
        processed_at = self.clock()
        out = BatchOutputs()
        seeks: dict[int, int] = {}
        done: list[AssignedPartition] = []
        count = ticks = 0
        now = self.monotonic()
        with self._lock:
            for partition, plan in plans.items():
                held = self.partitions.get(partition)
                if held is None or held.task is not plan.task:
                    continue  # revoked meanwhile: its new owner reads these records
                usable, seek = unseen(plan, held.in_step, self.stats)
                if seek is not None:
                    seeks[partition] = seek
                if not usable:
                    continue
                made = plan.task.process(usable, processed_at)
                out.add(made, held.snapshot(self.clock(), self.monotonic()))
                done.append(held)
                count += len(usable)
                ticks += made.ticks + made.controls
                self.stats.controls += made.controls
                held.unsaved += len(usable)
                if len(usable) > made.ticks:
                    held.quiet_since = now
            for held in done:
                held.in_step = True
                self.partitions_seen.add(held.partition)
            self.writes.processed(done)
        for partition, offset in seeks.items():
            self._calls.seek(partition, offset)
            self.partitions.mark_in_step(partition)
        self.stats.records += count - ticks
        self.stats.ticks_read += ticks
        self.stats.batches += 1
        epochs = {held.partition: held.epoch for held in done if held.epoch is not None}
        write = self.outputs.start(out, {p: plan.records for p, plan in plans.items()}, epochs)
        self.writes.send(write, done, time.perf_counter() - began, self._written)
        return count - ticks

    def _written(self, write: BatchWrite) -> None:
        if self.on_batch is not None:
            self.on_batch(self, write.batch.predictions)

    def _plan(self, batch: Mapping[int, Sequence[InputRecord]]) -> dict[int, Plan]:
        """Tasks for the batch's partitions (restored on first sight), then, outside the
        lock, the beginning offsets that the offset check needs from the source."""
        self.restorer.restore([p for p, records in batch.items() if records])
        plans: dict[int, Plan] = {}
        with self._lock:
            for partition, records in batch.items():
                held = self.partitions.get(partition)
                task = None if held is None else held.task
                if records and task is not None:
                    plans[partition] = Plan(task, records, task.next_offset)
        for partition, plan in plans.items():
            if plan.needs_beginning:
                plan.beginning = self._calls.beginning_offset(partition)
        return plans

    def _set_up_assigned(self) -> None:
        """Newly assigned partitions: set up their tasks and read from where their state
        is, at once, traffic or not (a lost checkpoint is rebuilt by replaying)."""
        partitions = self.partitions.take_to_set_up()
        held = self._calls.assignment()
        for task in self.restorer.restore(p for p in partitions if p in held):
            if task.next_offset is None:
                task.next_offset = self._calls.beginning_offset(task.partition)
            self._calls.seek(task.partition, task.next_offset)
            self.partitions.mark_in_step(task.partition, task)
