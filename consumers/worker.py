"""The online worker: poll a batch, let each partition's task process it, write, checkpoint.

Per batch: the records of each partition go to that partition's task (decode, validate,
dedupe, predict, learn); predictions and metrics go to the prediction sink; dead letters
go to the dead-letter sink and are acknowledged. Then, every N records or T seconds, a
task's whole state is checkpointed with the offset it reached, and only then is that
offset committed. A task that comes back (a restart, a rebalance) restores its checkpoint
and reads on from its offset, so a crash anywhere leaves the model where an
uninterrupted run would have it: the records after the checkpoint are replayed, and the
same records give the same state. Outputs are at-least-once: the hashes are idempotent,
the stream and the dead-letter topic may repeat the replayed records (their source
partition and offset identify them).

An idle partition's watermark moves through ticks written into the partition itself
(:mod:`driftline.core.events.ticks`), never on this process's clock, so replays stay exact.

The loop depends only on the Protocols of :mod:`driftline.consumers.ports`: it runs in a unit test.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from driftline.consumers.ports import (
    AlertSink,
    DeadLetterSink,
    PredictionSink,
    RecordSource,
    TickSink,
)
from driftline.consumers.tasks import TaskStore
from driftline.consumers.watchdog import CallWatch, WatchedSource
from driftline.core.durations import DurationHistogram
from driftline.core.errors import ServiceUnavailable, TransientError, WriteRefused
from driftline.core.events.records import Alert, DeadLetter, InputRecord, Prediction
from driftline.core.quality.figures import QualityFinding
from driftline.core.task.partition import PartitionTask

__all__ = ["Worker", "WorkerConfig", "WorkerStats"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(frozen=True)
class WorkerConfig:
    """How the loop runs, when it checkpoints, and when it stops.

    ``until_idle_s`` counts only while partitions are assigned and the worker has caught
    up (no lag); ``idle_watermark_s`` is how long a partition stays quiet before this
    worker writes it a watermark tick (``None``: never). A service that does not answer
    is retried after ``retry_first_s``, doubling up to ``retry_max_s``, with jitter.
    """

    max_events: int | None = None
    until_idle_s: float | None = None
    poll_timeout_ms: int = 500
    max_poll_records: int = 2000
    idle_watermark_s: float | None = 60.0
    checkpoint_every: int = 5000
    checkpoint_interval_s: float = 10.0
    retry_first_s: float = 0.1
    retry_max_s: float = 10.0
    #: How often the consumer lag per partition is asked of Kafka (for the exposition).
    lag_interval_s: float = 5.0
    #: A call to the source that has not returned after this long is reported (logs,
    #: ``waiting_for``, the ``on_stall`` hook): see :mod:`driftline.consumers.watchdog`.
    stall_s: float = 120.0
    #: Subscribed with no partition for this long: said loudly, and the source rejoins
    #: its group (once per period); a bounded run (``finished`` given) fails after two.
    assignment_stall_s: float = 120.0


@dataclass
class WorkerStats:
    """Running totals of this worker, for the live view and the final summary."""

    started: float = field(default_factory=time.monotonic)
    #: When the first records came in (``None``: none yet): the start of steady work.
    first_batch_at: float | None = None
    records: int = 0
    predictions: int = 0
    dead_letters: int = 0
    batches: int = 0
    checkpoints: int = 0
    #: Seconds spent checkpointing (sealing and storing), and the last checkpoint's size.
    checkpoint_s: float = 0.0
    checkpoint_bytes: int = 0
    #: Durations of checkpoints and of batches (poll to written), in seconds.
    checkpoint_seconds: DurationHistogram = field(default_factory=DurationHistogram)
    batch_seconds: DurationHistogram = field(default_factory=DurationHistogram)
    batch_s: float = 0.0
    #: The last checkpoint's size per partition, and the consumer lag per partition held
    #: (asked every ``WorkerConfig.lag_interval_s``).
    checkpoint_sizes: dict[int, int] = field(default_factory=dict)
    lags: dict[int, int] = field(default_factory=dict)
    restored: int = 0
    replayed_skipped: int = 0
    #: Offsets skipped because they hold no record (transaction markers, compaction).
    offset_gaps: int = 0
    ticks_read: int = 0
    ticks_written: int = 0
    #: Outages waited out, retries made, and what is awaited now (``None``: nothing).
    outages: int = 0
    retries: int = 0
    #: Predictions Redis could never hold (a key of another type): dead-lettered.
    redis_refused: int = 0
    #: Alerts raised (drift, promotions, rollbacks), control commands obeyed, and the
    #: event-time window points written.
    alerts: int = 0
    controls: int = 0
    points: int = 0
    waiting_for: str | None = None
    waiting_since: float | None = None

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed_s
        return self.records / elapsed if elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "predictions": self.predictions,
            "dead_letters": self.dead_letters,
            "elapsed_s": round(self.elapsed_s, 3),
            "records_per_s": round(self.rate, 1),
            "restored": self.restored,
            "replayed_skipped": self.replayed_skipped,
            "offset_gaps": self.offset_gaps,
            "checkpoints": self.checkpoints,
            "checkpoint_s": round(self.checkpoint_s, 3),
            "checkpoint_bytes": self.checkpoint_bytes,
            "ticks_written": self.ticks_written,
            "outages": self.outages,
            "retries": self.retries,
            "redis_refused": self.redis_refused,
            "alerts": self.alerts,
            "controls": self.controls,
            "points": self.points,
        }


@dataclass
class _Plan:
    """What the lock-free step decided for one partition's records."""

    task: PartitionTask
    records: Sequence[InputRecord]
    start: int | None
    beginning: int | None = None


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
    ) -> None:
        self.source = source
        self.store = tasks
        self.sink = sink
        self.dead_letters = dead_letters
        self.ticks = ticks
        self.alerts = alerts
        self.config = config or WorkerConfig()
        self.on_batch = on_batch
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self._jitter = random.Random()  # jitter only: no state depends on it
        self.tasks: dict[int, PartitionTask] = {}
        #: Every partition this worker has processed records of, whether it holds it or not.
        self.partitions_seen: set[int] = set()
        self.stats = WorkerStats(started=monotonic())
        #: Times every broker call from a thread of its own (wall clock, not ``monotonic``:
        #: a test's clock stands still while a call hangs).
        self.watch = CallWatch(self.config.stall_s, on_stall)
        self._watched: WatchedSource | None = None
        self._unassigned_since: float | None = None
        self._rejoined_at: float | None = None
        self._lock = threading.RLock()  # held while tasks change; never around source calls
        self._quiet_since: dict[int, float] = {}  # partition -> last arrival or tick written
        self._unsaved: dict[int, int] = {}
        self._saved_at: dict[int, float] = {}
        self._to_commit: dict[int, int] = {}
        self._idle_since: float | None = None
        self._lags_at = -float("inf")
        #: Partitions whose task holds a batch not yet written out: never checkpointed.
        self._dirty: set[int] = set()
        #: Partitions the source reads from their task's next offset (sought there, or
        #: read on from its last batch): a batch above that offset skips offsets that
        #: hold no record (transaction markers, compaction), never records.
        self._in_step: set[int] = set()
        self._adopt: set[int] = set()  # assigned, task not set up yet
        #: The partitions the group gave this worker and has not taken back (the
        #: rebalance callbacks keep it): only these get a task, ticks or commits.
        self._assigned: set[int] = set()
        #: Event-to-Redis latency per partition held (seconds, bucketed like lateness).
        self._latency: dict[int, DurationHistogram] = {}
        #: Per partition: when the current minute of quality rates began, the findings
        #: counted then, and the last whole minute's rates (see _quality_rates).
        self._rates: dict[int, tuple[float, Counter[str], dict[str, float]]] = {}

    @property
    def _calls(self) -> Any:
        """The source, with its broker calls timed by :attr:`watch`."""
        if self._watched is None or self._watched._source is not self.source:
            self._watched = WatchedSource(self.source, self.watch)
        return self._watched

    def waiting(self) -> tuple[str, float] | None:
        """What this worker waits for now and for how many seconds (``None``: nothing):
        a service being retried, a broker call past its limit, or an assignment."""
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
                self._adopt_assigned()
                budget = self.config.max_poll_records
                if self.config.max_events is not None:
                    budget = min(budget, self.config.max_events - self.stats.records)
                    if budget <= 0:
                        break
                batch = self._calls.poll(self.config.poll_timeout_ms, budget)
                if batch and self.stats.first_batch_at is None:
                    self.stats.first_batch_at = self.monotonic()
                events = self._handle(batch) if batch else 0
                self._checkpoint_due()
                self._commit()
                self._refresh_lags()
                if self._should_stop(events, finished):  # before ticking: a fresh tick lags
                    break
                self._write_ticks()
        finally:
            self.shutdown()

    def _refresh_lags(self) -> None:
        """Ask the source for the lag per partition, every ``lag_interval_s`` (in this
        thread: a Kafka consumer serves one thread; a scrape reads what this wrote)."""
        now = self.monotonic()
        if now - self._lags_at < self.config.lag_interval_s:
            return
        self._lags_at = now
        try:
            self.stats.lags = self._calls.lags()
        except Exception as exc:  # a gauge is not worth a failed loop: keep the last one
            log.debug("the consumer lag was not read (%s)", exc)

    def _should_stop(self, events: int, finished: Callable[[], bool] | None) -> bool:
        """Idle and drained checks: only while partitions are held and nothing lags."""
        assigned = bool(self._calls.assignment())
        self._watch_assignment(assigned, bounded=finished is not None)
        if events or not assigned:
            self._idle_since = None
            return False
        now = self.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        idle = now - self._idle_since
        until = self.config.until_idle_s
        wants_idle = until is not None and idle >= until
        wants_drained = finished is not None and finished()
        if not (wants_idle or wants_drained):
            return False
        if self._calls.lag() > 0:  # caught up only when nothing is left to read
            self._idle_since = now
            return False
        log.info("stream drained: stopping" if wants_drained else f"idle {idle:.1f} s: stopping")
        return True

    def _watch_assignment(self, assigned: bool, bounded: bool) -> None:
        """A member with no partition says so after ``assignment_stall_s`` and rejoins its
        group once per period (an assignment made on metadata that lacked the topic is
        never corrected otherwise); a bounded run fails after two periods, not waits for
        ever. Time is the loop's clock."""
        now = self.monotonic()
        if assigned:
            if self._unassigned_since is not None and self._rejoined_at is not None:
                log.warning("partitions assigned after %.0f s", now - self._unassigned_since)
                if self.stats.waiting_for == _ASSIGNMENT:
                    self.stats.waiting_for = self.stats.waiting_since = None
            self._unassigned_since = self._rejoined_at = None
            return
        if self._unassigned_since is None:
            self._unassigned_since = now
            return
        waited = now - self._unassigned_since
        limit = self.config.assignment_stall_s
        if waited < limit or (self._rejoined_at is not None and now - self._rejoined_at < limit):
            return
        if bounded and self._rejoined_at is not None:
            raise ServiceUnavailable(
                f"no partition of the topic was assigned to this worker in {waited:.0f} s "
                "(the group coordinator did not answer, or the topic has no partition)"
            )
        log.warning(
            "no partition assigned for %.0f s (more workers than partitions, or a stale "
            "assignment): rejoining the group",
            waited,
        )
        self.stats.waiting_for, self.stats.waiting_since = _ASSIGNMENT, self._unassigned_since
        self._rejoined_at = now
        rejoin = getattr(self.source, "rejoin", None)
        if rejoin is not None:
            with self.watch.calling("rejoin"):
                rejoin(self)

    def shutdown(self) -> None:
        """Checkpoint every task with unsaved progress, commit, leave the group.

        A task holding a batch that was not written out (the worker is stopped at once
        while waiting for a service) is not checkpointed: its next owner replays it.
        """
        with self._lock:
            for partition in list(self.tasks):
                if partition not in self._dirty:
                    self._checkpoint(partition)
            # The last batch's latency is written with the next batch: there is none now.
            final = [
                self._snapshot(task)
                for partition, task in self.tasks.items()
                if partition in self.partitions_seen and partition not in self._dirty
            ]
        self._commit()
        if final:
            try:
                self.sink.write([], final)
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
            for partition in partitions:
                if partition in self.tasks and partition not in self._dirty:
                    self._checkpoint(partition)
                self._assigned.discard(partition)
                # its next owner restores the checkpoint and seeks to its offset: a
                # commit from here, after the revocation, could only move the group back
                self._to_commit.pop(partition, None)
                self.tasks.pop(partition, None)
                self._dirty.discard(partition)
                self._in_step.discard(partition)
                self._adopt.discard(partition)
                self._quiet_since.pop(partition, None)
                self._unsaved.pop(partition, None)
                self._latency.pop(partition, None)
                self.stats.lags.pop(partition, None)
                self._saved_at.pop(partition, None)
                self._rates.pop(partition, None)
                self.stats.checkpoint_sizes.pop(partition, None)
        if partitions:
            log.info("released partitions %s", sorted(partitions))

    def on_assigned(self, partitions: set[int]) -> None:
        now = self.monotonic()
        with self._lock:
            for partition in partitions:
                self._quiet_since.setdefault(partition, now)
            self._adopt |= partitions
            self._assigned |= partitions
            self._in_step -= partitions  # the group may have moved the source's position
        if partitions:
            log.info("assigned partitions %s", sorted(partitions))

    def snapshots(self) -> list[dict[str, Any]]:
        """The metrics snapshots of the tasks held now (safe against a rebalance)."""
        with self._lock:
            return [self._snapshot(task) for task in self.tasks.values()]

    def _snapshot(self, task: PartitionTask) -> dict[str, Any]:
        """The task's snapshot plus this worker's event-to-Redis latency for its partition
        (up to the last batch written: the wall clock is the worker's, not the task's)."""
        snap = task.snapshot()
        latency = self._latency_of(task.partition)
        snap["latency_buckets"] = list(latency.counts)
        snap["latency_sum_s"] = latency.total
        now = self.clock()
        watermark = task.watermark
        # how far event time (the watermark) trails the wall clock: a stalled source shows
        snap["watermark_lag_s"] = (
            None if watermark is None else round((now - watermark).total_seconds(), 3)
        )
        snap["quality"]["per_minute"] = self._quality_rates(task, self.monotonic())
        return snap | {"latency_seconds": _quantiles(snap["latency_buckets"])}

    def _quality_rates(self, task: PartitionTask, now: float) -> dict[str, float]:
        """Findings per minute by "dimension/rule", over the last whole minute of wall time
        (the worker's clock, so not part of the task's state)."""
        held = self._rates.get(task.partition)
        rules = task.quality.rules
        if held is None:
            self._rates[task.partition] = (now, Counter(rules), {})
            return {}
        since, base, rates = held
        if now - since >= 60.0:
            minutes = (now - since) / 60.0
            rates = {
                name: round((n - base.get(name, 0)) / minutes, 3)
                for name, n in rules.items()
                if n > base.get(name, 0)
            }
            self._rates[task.partition] = (now, Counter(rules), rates)
        return rates

    def _latency_of(self, partition: int) -> DurationHistogram:
        found = self._latency.get(partition)
        if found is None:
            found = self._latency[partition] = DurationHistogram()
        return found

    def _observe_latency(self, predictions: Sequence[Prediction]) -> None:
        """Event-to-Redis latency: from the broker's ingest time (``LogAppendTime``) to the
        acknowledged write, one value per prediction."""
        if not predictions:
            return
        written = self.clock()
        histograms: dict[int, DurationHistogram] = {}
        for prediction in predictions:
            histogram = histograms.get(prediction.partition)
            if histogram is None:
                histogram = histograms[prediction.partition] = self._latency_of(
                    prediction.partition
                )
            histogram.add((written - prediction.ingest_time).total_seconds())

    # -- a batch -------------------------------------------------------------------------------
    def _handle(self, batch: Mapping[int, Sequence[InputRecord]]) -> int:
        """Process a batch and write it out; return how many records were events (not ticks).

        The tasks' new state is *dirty* until the batch's outputs are written: a dirty
        task is never checkpointed, so no checkpoint holds a batch that is not in Redis.
        """
        began = time.perf_counter()
        plans = self._plan(batch)
        processed_at = self.clock()
        predictions: list[Prediction] = []
        letters: list[DeadLetter] = []
        alerts: list[Alert] = []
        points: list[dict[str, Any]] = []
        findings: list[QualityFinding] = []
        seeks: dict[int, int] = {}
        snapshots: list[dict[str, Any]] = []
        done: set[int] = set()
        count = ticks = 0
        now = self.monotonic()
        with self._lock:
            for partition, plan in plans.items():
                if self.tasks.get(partition) is not plan.task:
                    continue  # revoked meanwhile: its new owner reads these records
                usable = self._usable(partition, plan, seeks)
                if not usable:
                    continue
                out = plan.task.process(usable, processed_at)
                predictions += out.predictions
                letters += out.dead_letters
                alerts += out.alerts
                points += out.points
                findings += out.findings
                snapshots.append(self._snapshot(plan.task))
                done.add(partition)
                count += len(usable)
                ticks += out.ticks + out.controls
                self.stats.controls += out.controls
                self._unsaved[partition] = self._unsaved.get(partition, 0) + len(usable)
                if len(usable) > out.ticks:
                    self._quiet_since[partition] = now
            self._dirty |= done
            self.partitions_seen |= done
            self._in_step |= done
        for partition, offset in seeks.items():
            self._calls.seek(partition, offset)
        with self._lock:
            self._in_step |= {p for p in seeks if p in self.tasks}
        try:
            self._retry("Redis (predictions)", lambda: self.sink.write(predictions, snapshots))
        except WriteRefused as refused:  # the rest is written: these become dead letters
            letters += self._refused_letters(refused, plans)
        self._observe_latency(predictions)
        if points or alerts or findings:
            self._retry(
                "Redis (series, alerts, quality log)",
                lambda: self.sink.record(points, alerts, findings),
            )
        if alerts and self.alerts is not None:
            self._retry("Kafka (alerts)", lambda: self.alerts.publish(alerts))  # type: ignore[union-attr]
        self.stats.alerts += len(alerts)
        self.stats.points += len(points)
        for alert in alerts:
            if alert.kind == "timeliness":  # learning stopped (or resumed) for lateness
                log.warning(
                    "partition %s: %s of the last %s observations came later than the "
                    "allowed lateness (%s s): learning %s",
                    alert.partition,
                    f"{alert.statistic['late_share']:.0%}",
                    alert.window,
                    alert.statistic["allowed_lateness_s"],
                    "stalled" if alert.signal == "starved" else "resumed",
                )
        if letters:
            self._retry("Kafka (dead letters)", lambda: self.dead_letters.publish(letters))
        with self._lock:
            self._dirty -= done
        self.stats.records += count - ticks
        self.stats.ticks_read += ticks
        self.stats.predictions += len(predictions)
        self.stats.dead_letters += len(letters)
        self.stats.batches += 1
        took = time.perf_counter() - began
        self.stats.batch_seconds.add(took)
        self.stats.batch_s += took
        if self.on_batch is not None:
            self.on_batch(self, predictions)
        return count - ticks

    def _refused_letters(self, refused: WriteRefused, plans: dict[int, _Plan]) -> list[DeadLetter]:
        """Dead letters for the predictions Redis can never hold (a key of another type):
        waiting would not help, and the records stay on the dead-letter topic."""
        records = {
            (partition, record.offset): record
            for partition, plan in plans.items()
            for record in plan.records
        }
        letters = []
        for prediction, why in refused.refused:
            record = records[(prediction.partition, prediction.offset)]
            letters.append(
                DeadLetter(
                    "redis-refused",
                    f"{prediction.event_id}: {why}"[:1000],
                    record.partition,
                    record.offset,
                    record.key,
                    record.value,
                    record.timestamp_ms,
                    "observation",
                )
            )
        self.stats.redis_refused += len(letters)
        log.error(
            "Redis refused %s prediction(s) of this batch (%s): dead-lettered",
            len(letters),
            refused.refused[0][1],
        )
        return letters

    def _plan(self, batch: Mapping[int, Sequence[InputRecord]]) -> dict[int, _Plan]:
        """Tasks for the batch's partitions (restored on first sight), then, outside the
        lock, the beginning offsets that the offset check needs from the source."""
        self._restore([p for p, records in batch.items() if records])
        plans: dict[int, _Plan] = {}
        with self._lock:
            for partition, records in batch.items():
                task = self.tasks.get(partition)
                if records and task is not None:
                    plans[partition] = _Plan(task, records, task.next_offset)
        for partition, plan in plans.items():
            if plan.start is None or plan.records[0].offset > plan.start:
                plan.beginning = self._calls.beginning_offset(partition)
        return plans

    def _restore(self, partitions: Iterable[int]) -> list[PartitionTask]:
        """Set up the tasks of ``partitions`` that have none: from their checkpoints (read
        outside the lock, waiting out an outage of the store) or fresh. Returns them."""
        made = []
        for partition in partitions:
            if partition in self.tasks:
                continue
            task = self._retry("checkpoint store", functools.partial(self.store.restore, partition))
            if task is not None:
                self.stats.restored += 1
                log.info(
                    "partition %s restored at offset %s (model version %s)",
                    partition,
                    task.next_offset,
                    task.model_version,
                )
            else:
                task = self.store.fresh(partition)
            with self._lock:
                if partition in self.tasks:
                    continue
                if partition not in self._assigned:  # revoked since the poll: not ours
                    log.info("partition %s was revoked before its batch: not restored", partition)
                    continue
                self.tasks[partition] = task
                self._saved_at[partition] = self.monotonic()
                self._quiet_since.setdefault(partition, self.monotonic())
            made.append(task)
        return made

    def _adopt_assigned(self) -> None:
        """Newly assigned partitions: set up their tasks and read from where their state
        is, at once, traffic or not (a lost checkpoint is rebuilt by replaying)."""
        with self._lock:
            partitions, self._adopt = sorted(self._adopt), set()
        held = self._calls.assignment()
        for task in self._restore(p for p in partitions if p in held):
            if task.next_offset is None:
                task.next_offset = self._calls.beginning_offset(task.partition)
            self._calls.seek(task.partition, task.next_offset)
            with self._lock:
                if self.tasks.get(task.partition) is task:
                    self._in_step.add(task.partition)

    def _usable(self, partition: int, plan: _Plan, seeks: dict[int, int]) -> Sequence[InputRecord]:
        """The records the task has not seen (lock held).

        The checkpoint's offset is the truth: records below it are already in the state
        (skipped); if the source starts above it (committed ahead of a checkpoint that
        was then lost, or no checkpoint at all), it is sent back and the batch dropped.
        Once the source reads from the task's offset, a batch that starts above it has
        skipped offsets that hold no record (a transaction's commit marker, a record
        removed by compaction): it is used, and the gap counted.
        """
        task, records = plan.task, plan.records
        start = task.next_offset
        if start is None:
            assert plan.beginning is not None
            start = task.next_offset = plan.beginning
        first = records[0].offset
        if first > start:
            assert plan.beginning is not None
            if plan.beginning > start:  # retention deleted what the state still needed
                log.warning(
                    "partition %s: records %s..%s were deleted before they were "
                    "learned; going on from %s",
                    partition,
                    start,
                    plan.beginning - 1,
                    first,
                )
                task.next_offset = first
                return records
            if partition in self._in_step:
                self.stats.offset_gaps += first - start + _gaps(records)
                return records
            log.info(
                "partition %s: read from %s, its state is at %s: seeking back",
                partition,
                first,
                start,
            )
            seeks[partition] = start
            return []
        usable = records if first >= start else [r for r in records if r.offset >= start]
        self.stats.replayed_skipped += len(records) - len(usable)
        self.stats.offset_gaps += _gaps(usable)
        return usable

    # -- ticks, checkpoints and commits ---------------------------------------------------------
    def _write_ticks(self) -> None:
        """Tick each held partition quiet for ``idle_watermark_s`` (busy ones do not matter)."""
        limit = self.config.idle_watermark_s
        if limit is None or self.ticks is None:
            return
        now = self.monotonic()
        with self._lock:
            due = [
                p
                for p, task in self.tasks.items()
                if task.max_event_time is not None and now - self._quiet_since.get(p, now) >= limit
            ]
            for partition in due:
                self._quiet_since[partition] = now
        if due:
            self.stats.ticks_written += self.ticks.tick(due)

    def _checkpoint_due(self) -> None:
        now = self.monotonic()
        with self._lock:
            for partition, unsaved in list(self._unsaved.items()):
                age = now - self._saved_at.get(partition, now)
                if unsaved >= self.config.checkpoint_every or (
                    unsaved and age >= self.config.checkpoint_interval_s
                ):
                    self._checkpoint(partition)

    def _checkpoint(self, partition: int) -> None:
        """Save one task (lock held) and queue its offset for commit.

        A store that does not answer is not waited for here: the task stays unsaved,
        nothing is committed, and the next checkpoint tries again.
        """
        task = self.tasks.get(partition)
        if task is None or task.next_offset is None or not self._unsaved.get(partition):
            return
        began = time.perf_counter()
        try:
            size = self.store.save(task)
        except TransientError as exc:
            log.warning("partition %s not checkpointed (%s); trying again later", partition, exc)
            return
        finally:
            took = time.perf_counter() - began
            self.stats.checkpoint_s += took
            self.stats.checkpoint_seconds.add(took)
        self.stats.checkpoints += 1
        self.stats.checkpoint_bytes = size
        self.stats.checkpoint_sizes[partition] = size
        self._unsaved[partition] = 0
        self._saved_at[partition] = self.monotonic()
        self._to_commit[partition] = task.next_offset

    def _retry(self, what: str, action: Callable[[], _T]) -> _T:
        """``action()``, waiting out a :class:`TransientError` with capped exponential
        back-off and jitter. Meanwhile the group membership is kept alive, nothing is
        checkpointed for the batch in hand and no offset moves; a stop request waits too
        (a second signal ends the process at once)."""
        failures = 0
        while True:
            try:
                result = action()
            except TransientError as exc:
                failures += 1
                self.stats.retries += 1
                if failures == 1:
                    self.stats.outages += 1
                    self.stats.waiting_for = what
                    self.stats.waiting_since = self.monotonic()
                    log.warning(
                        "%s unavailable (%s): waiting, with state and offsets held", what, exc
                    )
                first, cap = self.config.retry_first_s, self.config.retry_max_s
                delay = min(cap, first * 2 ** min(failures - 1, 30))
                self.sleep(delay * self._jitter.uniform(0.5, 1.0))
                self._calls.keepalive()
                continue
            if failures:
                waited = self.monotonic() - (self.stats.waiting_since or self.monotonic())
                log.warning("%s is back after %.1f s (%s retries)", what, waited, failures)
                self.stats.waiting_for = None
                self.stats.waiting_since = None
            return result

    def _commit(self) -> None:
        """Commit the offsets of saved checkpoints (never more than a checkpoint holds)."""
        with self._lock:
            offsets, self._to_commit = self._to_commit, {}
            offsets = {p: o for p, o in offsets.items() if p in self._assigned}
        if offsets:
            self._calls.commit(offsets)


_ASSIGNMENT = "a partition assignment (Kafka group coordinator)"


def _gaps(records: Sequence[InputRecord]) -> int:
    """Offsets between the first and the last of ``records`` that hold none of them."""
    return records[-1].offset - records[0].offset + 1 - len(records) if records else 0


def _quantiles(buckets: list[int]) -> dict[str, float | None]:
    histogram = DurationHistogram(buckets)
    return {"p50": histogram.quantile(0.5), "p99": histogram.quantile(0.99)}
