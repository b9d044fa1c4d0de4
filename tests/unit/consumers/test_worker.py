"""The worker loop on in-memory parts: batching, checkpoints before commits, revoke and
restore, watermark ticks for idle partitions, every way it stops, stalls reported
instead of hanging, offsets that hold no record, a partition revoked inside a poll,
and figures kept only for the partitions held."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import generate_latest

from driftline.consumers.exposition import worker_registry
from driftline.consumers.tasks import TaskStore
from driftline.consumers.worker import Worker, WorkerConfig
from driftline.core.errors import RedisScriptError, ServiceUnavailable, WriteRefused
from driftline.core.events.model import Observation
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.task.checkpoint import model_digest
from driftline.core.task.partition import TaskConfig
from tests.unit.consumers.worker_fakes import (
    MemoryCheckpoints,
    MemorySink,
    MemorySource,
    MemoryTopic,
)
from tests.unit.consumers.worker_rig import CODEC, Rig, publish_flights, task_config


def state(worker_or_store: Any) -> dict[int, tuple[Any, ...]]:
    """What must match between runs: model digest, offset, counts, pending ids."""
    tasks = worker_or_store
    return {
        p: (
            model_digest(t),
            t.next_offset,
            dict(t.metrics.counts),
            sorted(t.pending._entries),
            t.watermark,
        )
        for p, t in sorted(tasks.items())
    }


def final_state(checkpoints: MemoryCheckpoints, tasks: TaskConfig) -> dict[int, tuple[Any, ...]]:
    store = TaskStore(checkpoints, CODEC, tasks, "test")
    restored = {p: store.restore(p) for p in checkpoints.all()}
    return state({p: t for p, t in restored.items() if t is not None})


def test_polls_never_ask_for_more_than_the_batch_or_the_bound() -> None:
    topic = MemoryTopic(1)
    publish_flights(topic, 40)
    rig = Rig(
        topic, MemoryCheckpoints(), WorkerConfig(max_poll_records=7, max_events=30), task_config()
    )
    worker = rig.run()
    assert worker.stats.records == 30
    assert max(rig.source.polls) == 7 and rig.source.polls[-1] <= 7
    assert sum(len(v) for v in [rig.sink.predictions]) > 0


def test_offsets_are_committed_only_after_a_checkpoint_holds_them() -> None:
    topic = MemoryTopic(2)
    publish_flights(topic, 60, partitions=(0, 1))
    checkpoints = MemoryCheckpoints()
    rig = Rig(
        topic, checkpoints, WorkerConfig(max_poll_records=13, checkpoint_every=20), task_config()
    )
    saved: dict[int, int] = {}
    original = rig.store.save

    def save(task: Any) -> None:
        original(task)
        saved[task.partition] = task.next_offset

    rig.store.save = save  # type: ignore[method-assign]
    original_store = rig.store.store_sealed

    def store_sealed(sealed: Any) -> int:  # sealed while its batch's write was in flight
        stored = original_store(sealed)
        saved[sealed.partition] = sealed.next_offset
        return stored

    rig.store.store_sealed = store_sealed  # type: ignore[method-assign]
    original_commit = rig.source.commit

    def commit(offsets: Any) -> bool:
        for p, offset in offsets.items():
            assert offset <= saved[p], "committed past the checkpoint"
        return original_commit(offsets)

    rig.source.commit = commit  # type: ignore[method-assign]
    rig.run(finished=lambda: True)
    assert rig.source.commits and rig.source.committed == {0: topic.end(0), 1: topic.end(1)}
    assert len(checkpoints.saves) > 2


def test_no_source_call_is_made_under_the_worker_lock() -> None:
    topic = MemoryTopic(2)
    publish_flights(topic, 10, partitions=(0, 1))
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(max_poll_records=5), task_config())
    lock = rig.worker._lock
    for name in ("beginning_offset", "seek", "commit", "lag", "poll", "assignment"):
        call = getattr(rig.source, name)

        def guarded(*args: Any, _call: Any = call, _name: str = name) -> Any:
            assert not lock._is_owned(), f"{_name} called under the worker lock"  # type: ignore[attr-defined]
            return _call(*args)

        setattr(rig.source, name, guarded)
    worker = rig.run(finished=lambda: True)
    assert worker.stats.records == topic.end(0) + topic.end(1)


def test_a_revoked_partition_moves_with_its_state_and_ends_as_if_it_never_moved() -> None:
    tasks = task_config()
    config = WorkerConfig(max_poll_records=11, checkpoint_every=1000)
    reference_topic = MemoryTopic(2)
    publish_flights(reference_topic, 80, partitions=(0, 1))
    reference = Rig(reference_topic, MemoryCheckpoints(), config, tasks)
    reference.run(finished=lambda: True)

    topic = MemoryTopic(2)
    publish_flights(topic, 80, partitions=(0, 1))
    checkpoints = MemoryCheckpoints()
    first = Rig(topic, checkpoints, config, tasks)
    second = Rig(topic, checkpoints, config, tasks, assign=set())
    batches = [0]
    poll = first.source.poll

    def hand_over(worker: Worker, _predictions: Any) -> None:
        batches[0] += 1

    def revoking_poll(*args: Any) -> Any:
        # mid-stream, in a poll (where the group's callbacks come) while the last batch's
        # write is in flight: partition 1 moves to the second worker
        if batches[0] == 4 and 1 in first.worker.tasks:
            assert first.worker.writes.in_flight
            first.source.revoke({1})
        return poll(*args)

    first.worker.on_batch = hand_over
    first.source.poll = revoking_poll  # type: ignore[method-assign]
    first.run(finished=lambda: True)
    assert 1 not in first.worker.tasks and 1 in checkpoints.blobs
    second.source.initial = {1}
    second.run(finished=lambda: True)
    assert second.worker.stats.restored == 1
    assert final_state(checkpoints, tasks) == state(reference.worker.tasks)


def test_an_idle_partition_gets_ticks_while_another_stays_busy() -> None:
    """Partition 1 goes quiet while partition 0 keeps the worker busy: only 1 is ticked,
    and its pending predictions expire on the broker's clock."""
    topic = MemoryTopic(2)
    publish_flights(topic, 3, partitions=(1,))  # a few, then silence
    publish_flights(topic, 400, partitions=(0,))
    config = WorkerConfig(max_poll_records=10, idle_watermark_s=2.0)
    rig = Rig(
        topic, MemoryCheckpoints(), config, task_config(idle_s=2.0, ttl_s=5.0), poll_cost_s=0.5
    )
    worker = rig.run(finished=lambda: True)
    assert rig.ticks is not None
    assert set(rig.ticks.written) == {1}
    idle = worker.tasks[1]
    assert idle.metrics.counts["watermark_ticks"] >= 3
    assert idle.metrics.counts["expired"] == 2 and len(idle.pending) == 0
    assert worker.tasks[0].metrics.counts["watermark_ticks"] == 0


def test_without_ticks_an_idle_partition_keeps_its_pending_predictions() -> None:
    topic = MemoryTopic(2)
    publish_flights(topic, 3, partitions=(1,))
    publish_flights(topic, 400, partitions=(0,))
    config = WorkerConfig(max_poll_records=10, idle_watermark_s=None)
    rig = Rig(
        topic, MemoryCheckpoints(), config, task_config(idle_s=2.0, ttl_s=5.0), poll_cost_s=0.5
    )
    worker = rig.run(finished=lambda: True)
    assert len(worker.tasks[1].pending) == 2 and worker.tasks[1].metrics.counts["expired"] == 0


def test_a_crash_with_idle_ticks_on_replays_to_the_uninterrupted_state() -> None:
    """The idle advance is in the log (ticks), so a crash and replay reaches exactly the
    state of one run over the same log (invariant 7)."""
    tasks = task_config(idle_s=2.0, ttl_s=5.0)
    topic = MemoryTopic(2)
    publish_flights(topic, 3, partitions=(1,))
    publish_flights(topic, 300, partitions=(0,))
    checkpoints = MemoryCheckpoints()
    config = WorkerConfig(max_poll_records=10, idle_watermark_s=2.0, checkpoint_every=45)
    crashing = Rig(topic, checkpoints, config, tasks, poll_cost_s=0.5)
    crashing.worker.shutdown = crashing.source.close  # type: ignore[method-assign] # SIGKILL
    crashing.worker.config = WorkerConfig(**(config.__dict__ | {"max_events": 400}))
    crashing.run()
    assert crashing.ticks is not None and crashing.ticks.written
    resumed = Rig(topic, checkpoints, config, tasks, poll_cost_s=0.5)
    resumed.run(finished=lambda: True)
    assert resumed.worker.stats.restored == 2 and resumed.worker.stats.replayed_skipped >= 0
    # One uninterrupted pass over the final log (ticks included), writing no ticks itself.
    again = Rig(topic, MemoryCheckpoints(), config, tasks, ticks=False, group="again")
    again.run(finished=lambda: True)
    assert state(resumed.worker.tasks) == state(again.worker.tasks)
    assert again.worker.tasks[1].metrics.counts["expired"] == 2


def test_until_idle_counts_only_while_partitions_are_held_and_caught_up() -> None:
    topic = MemoryTopic(1)
    rig = Rig(
        topic, MemoryCheckpoints(), WorkerConfig(until_idle_s=3.0), task_config(), assign=set()
    )
    polls = [0]
    original = rig.source.poll

    def poll(timeout_ms: int, max_records: int) -> Any:
        polls[0] += 1
        if polls[0] == 20:  # 10 s with nothing assigned: not idle yet; now the group settles
            rig.source.assign({0})
            publish_flights(topic, 5)
        return original(timeout_ms, max_records)

    rig.source.poll = poll  # type: ignore[method-assign]
    worker = rig.run()
    assert worker.stats.records == topic.end(0)  # it waited for its partition, then read all
    assert polls[0] >= 20 + 6


def test_until_idle_waits_while_there_is_lag() -> None:
    topic = MemoryTopic(1)
    publish_flights(topic, 5)
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(until_idle_s=1.0), task_config())
    lags = iter([3, 2, 0, 0, 0, 0, 0, 0])
    rig.source.lag = lambda: next(lags)  # type: ignore[method-assign]
    rig.source.poll = lambda timeout_ms, max_records: (
        rig.source.clock.__setattr__(  # type: ignore[method-assign]
            "now", rig.source.clock.now + 1
        )
        or {}
    )
    rig.run()
    assert next(lags) == 0  # it asked three times before it stopped: 3, 2, then 0


def test_the_stop_flag_ends_the_loop_with_a_checkpoint_and_a_commit() -> None:
    topic = MemoryTopic(1)
    publish_flights(topic, 50)
    checkpoints = MemoryCheckpoints()
    stop = threading.Event()
    rig = Rig(
        topic, checkpoints, WorkerConfig(max_poll_records=10, checkpoint_every=10**6), task_config()
    )
    # the signal arrives mid-batch: once the first batch is written, while the second one
    # is processed (its write in flight); the second is written, saved and committed
    rig.worker.on_batch = lambda worker, _p: stop.set()
    worker = rig.run(stop=stop)
    assert worker.stats.batches == 2 and worker.stats.records == 20
    assert checkpoints.saves == [0] and rig.source.committed == {0: 20} and rig.source.closed


def test_finished_stops_only_once_everything_is_read() -> None:
    topic = MemoryTopic(1)
    publish_flights(topic, 30)
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(max_poll_records=4), task_config())
    worker = rig.run(finished=lambda: True)
    assert worker.stats.records == topic.end(0)


@pytest.mark.parametrize("bound", [1, 9, 25])
def test_max_events_is_exact(bound: int) -> None:
    topic = MemoryTopic(1)
    publish_flights(topic, 30)
    rig = Rig(
        topic,
        MemoryCheckpoints(),
        WorkerConfig(max_poll_records=4, max_events=bound),
        task_config(),
    )
    assert rig.run().stats.records == bound


class FlakySink(MemorySink):
    """Refuses the writes numbered in ``down`` (a Redis outage), applying nothing."""

    def __init__(self, down: set[int], during: Any = None) -> None:
        super().__init__()
        self.down = down
        self.calls = 0
        self.during = during

    def write(self, predictions: Any, snapshots: Any) -> int:
        self.calls += 1
        if self.calls in self.down:
            if self.during is not None:
                self.during()
            raise ServiceUnavailable("Redis did not take the batch: ConnectionError()")
        return super().write(predictions, snapshots)


def outputs(sink: MemorySink) -> tuple[Any, ...]:
    ids = sorted((p.partition, p.offset, p.event_id) for p in sink.predictions)
    return ids, {p: s["counts"] for p, s in sink.snapshots.items()}


def test_a_redis_outage_is_waited_out_with_state_and_offsets_held() -> None:
    tasks = task_config()
    config = WorkerConfig(max_poll_records=9, checkpoint_every=20, retry_max_s=2.0)
    reference_topic = MemoryTopic(2)
    publish_flights(reference_topic, 50, partitions=(0, 1))
    reference = Rig(reference_topic, MemoryCheckpoints(), config, tasks)
    reference.run(finished=lambda: True)

    topic = MemoryTopic(2)
    publish_flights(topic, 50, partitions=(0, 1))
    checkpoints = MemoryCheckpoints()
    rig = Rig(topic, checkpoints, config, tasks)
    held: list[tuple[int, int]] = []

    def during() -> None:  # nothing may be checkpointed or committed while Redis is down
        held.append((len(checkpoints.saves), len(rig.source.commits)))

    rig.sink = FlakySink(set(range(4, 16)), during)
    rig.worker.outputs.sink = rig.sink
    worker = rig.run(finished=lambda: True)
    assert len(set(held)) == 1  # the same saves and commits through all 12 refusals
    assert worker.stats.outages == 1 and worker.stats.retries == 12
    assert worker.stats.waiting_for is None and rig.source.keepalives == 12
    assert max(rig.slept) <= 2.0 and rig.slept[1] > rig.slept[0] * 1.0  # backing off
    assert outputs(rig.sink) == outputs(reference.sink)
    assert state(worker.tasks) == state(reference.worker.tasks)


class BrokenScriptSink(MemorySink):
    """Writes ``good`` batches, then fails as a Lua error of the batch script would."""

    def __init__(self, good: int) -> None:
        super().__init__()
        self.good = good
        self.calls = 0

    def write(self, predictions: Any, snapshots: Any) -> int:
        self.calls += 1
        if self.calls > self.good:
            raise RedisScriptError("a driftline script failed in Redis: user_script:9: bug")
        return super().write(predictions, snapshots)


def test_a_failing_redis_script_stops_the_worker_instead_of_retrying_for_ever() -> None:
    """A bug is not an outage: the error reaches the caller at once, and nothing of the
    batch it failed on is checkpointed or committed (a restart replays it)."""
    topic = MemoryTopic(1)
    publish_flights(topic, 40)
    checkpoints = MemoryCheckpoints()
    rig = Rig(
        topic, checkpoints, WorkerConfig(max_poll_records=9, checkpoint_every=5), task_config()
    )
    rig.sink = BrokenScriptSink(good=2)
    rig.worker.outputs.sink = rig.sink
    with pytest.raises(RedisScriptError, match="user_script"):
        rig.run(finished=lambda: True)
    assert rig.sink.calls == 3 and rig.worker.stats.outages == 0 and rig.slept == []
    saved = sorted(checkpoints.kept.get(0, {}))
    committed = [offset for commit in rig.source.commits for offset in commit.values()]
    assert saved and max(saved) <= 2 * 9  # nothing past the two batches written
    assert max(committed, default=0) <= max(saved)


def test_a_revoke_during_an_outage_never_checkpoints_the_unwritten_batch() -> None:
    tasks = task_config()
    config = WorkerConfig(max_poll_records=9, checkpoint_every=10**6)
    reference_topic = MemoryTopic(1)
    publish_flights(reference_topic, 40)
    reference = Rig(reference_topic, MemoryCheckpoints(), config, tasks)
    reference.run(finished=lambda: True)

    topic = MemoryTopic(1)
    publish_flights(topic, 40)
    checkpoints = MemoryCheckpoints()
    first = Rig(topic, checkpoints, config, tasks)
    revoked = threading.Event()

    def revoke() -> None:  # the group takes the partition while the batch is unwritten
        if not revoked.is_set():
            revoked.set()  # and this worker is asked to stop: it holds nothing now
            first.source.revoke({0})

    first.sink = FlakySink({3}, revoke)
    first.worker.outputs.sink = first.sink
    first.run(stop=revoked)
    assert checkpoints.saves == []  # two clean batches were never due; the dirty one: never
    second = Rig(topic, checkpoints, config, tasks)
    second.run(finished=lambda: True)
    assert state(second.worker.tasks) == state(reference.worker.tasks)


def test_stopping_at_once_during_an_outage_checkpoints_no_unwritten_state() -> None:
    topic = MemoryTopic(1)
    publish_flights(topic, 30)
    checkpoints = MemoryCheckpoints()
    config = WorkerConfig(max_poll_records=10, checkpoint_every=10)
    rig = Rig(topic, checkpoints, config, task_config())
    rig.sink = FlakySink({3, 4, 5})
    rig.worker.outputs.sink = rig.sink

    def second_signal(_seconds: float) -> None:
        raise SystemExit(130)

    rig.worker.sleep = second_signal
    with pytest.raises(SystemExit):
        rig.run()
    restored = TaskStore(checkpoints, CODEC, task_config(), "test").restore(0)
    assert restored is not None and restored.next_offset == 20  # not the unwritten third batch
    assert rig.source.committed == {0: 20}


class FlakyCheckpoints(MemoryCheckpoints):
    def __init__(self, down: int) -> None:
        super().__init__()
        self.refusals = down

    def save(self, partition: int, blob: bytes, offset: int | None = None) -> None:
        if self.refusals:
            self.refusals -= 1
            raise ServiceUnavailable("checkpoint 0 not saved: ConnectionError()")
        super().save(partition, blob, offset)


def test_a_checkpoint_store_outage_holds_the_commit_until_a_checkpoint_is_saved() -> None:
    topic = MemoryTopic(1)
    publish_flights(topic, 30)
    checkpoints = FlakyCheckpoints(down=3)
    rig = Rig(
        topic, checkpoints, WorkerConfig(max_poll_records=5, checkpoint_every=5), task_config()
    )
    commits_before_first_save: list[int] = []
    original = checkpoints.save

    def save(partition: int, blob: bytes, offset: int | None = None) -> None:
        if not checkpoints.saves and not checkpoints.refusals:
            commits_before_first_save.append(len(rig.source.commits))
        original(partition, blob, offset)

    checkpoints.save = save  # type: ignore[method-assign]
    rig.run(finished=lambda: True)
    assert commits_before_first_save == [0]
    assert rig.source.committed == {0: topic.end(0)}


def test_a_lost_checkpoint_is_rebuilt_on_assignment_without_new_traffic() -> None:
    tasks = task_config()
    topic = MemoryTopic(1)
    publish_flights(topic, 40)
    checkpoints = MemoryCheckpoints()
    first = Rig(topic, checkpoints, WorkerConfig(max_poll_records=7), tasks)
    first.run(finished=lambda: True)
    expected = final_state(checkpoints, tasks)
    checkpoints.clear()  # lost; the group's committed offset is at the end: no new records
    second = Rig(topic, checkpoints, WorkerConfig(max_poll_records=7), tasks)
    second.run(finished=lambda: True)
    assert second.worker.stats.records == topic.end(0)  # replayed from the beginning
    assert final_state(checkpoints, tasks) == expected


def test_event_to_redis_latency_is_measured_per_partition_and_travels_with_the_snapshot():
    """From the broker's ingest time to the acknowledged write, on the worker's clock."""
    topic = MemoryTopic(partitions=2)
    publish_flights(topic, 5, partitions=(0, 1))
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(idle_watermark_s=None), task_config())
    ingest = datetime.fromtimestamp(topic.broker_ms / 1000, tz=UTC)
    rig.worker.clock = lambda: ingest + timedelta(milliseconds=30)
    rig.run(finished=lambda: True)
    snapshots = {s["partition"]: s for s in rig.worker.snapshots()}
    assert sorted(snapshots) == [0, 1]
    for snap in snapshots.values():
        assert sum(snap["latency_buckets"]) == snap["counts"]["predictions"] == 5
        # five values in the 20-50 ms bucket, interpolated within it (histogram_quantile)
        assert snap["latency_seconds"] == pytest.approx({"p50": 0.035, "p99": 0.0497})
    for snap in rig.sink.snapshots.values():  # written with each batch, as of the one before
        assert "latency_buckets" in snap and "latency_seconds" in snap


class RefusingSink(MemorySink):
    """Writes everything but the predictions of ``keys`` (Redis keys of another type)."""

    def __init__(self, keys: set[str]) -> None:
        super().__init__()
        self.keys = keys

    def write(self, predictions: Any, snapshots: Any) -> int:
        refused = [
            (p, f"test:prediction:{p.key} holds another type")
            for p in predictions
            if p.key in self.keys
        ]
        super().write([p for p in predictions if p.key not in self.keys], snapshots)
        if refused:
            raise WriteRefused(len(predictions) - len(refused), refused)
        return len(predictions)


def test_predictions_redis_refuses_become_dead_letters_and_the_worker_goes_on() -> None:
    """A key of another type is not an outage: no retry, no wait; its predictions go to
    the dead-letter topic with their records, and checkpoints and commits go on."""
    topic = MemoryTopic(1)
    publish_flights(topic, 60)
    checkpoints = MemoryCheckpoints()
    rig = Rig(
        topic, checkpoints, WorkerConfig(max_poll_records=9, checkpoint_every=20), task_config()
    )
    reference = Rig(MemoryTopic(1), MemoryCheckpoints(), rig.worker.config, task_config())
    publish_flights(reference.source.topic, 60)
    reference.run(finished=lambda: True)
    refused_key = reference.sink.predictions[0].key
    rig.sink = RefusingSink({refused_key})
    rig.worker.outputs.sink = rig.sink
    worker = rig.run(finished=lambda: True)
    refused = [p for p in reference.sink.predictions if p.key == refused_key]
    letters = [letter for letter in rig.letters.letters if letter.reason == "redis-refused"]
    assert [(x.partition, x.offset) for x in letters] == [(p.partition, p.offset) for p in refused]
    assert all(x.kind == "observation" and x.value for x in letters)
    assert worker.stats.redis_refused == len(refused) and worker.stats.outages == 0
    assert not rig.slept  # nothing was waited for
    assert len(rig.sink.predictions) == len(reference.sink.predictions) - len(refused)
    assert state(worker.tasks) == state(reference.worker.tasks)  # learning is untouched
    assert checkpoints.saves and rig.source.committed


# -- the worker: per-partition figures only for partitions held ----------------------------------
def test_a_worker_keeps_per_partition_figures_only_for_the_partitions_it_holds() -> None:
    topic = MemoryTopic(24)
    publish_flights(topic, 5, partitions=tuple(range(24)))
    rig = Rig(
        topic,
        MemoryCheckpoints(),
        WorkerConfig(max_poll_records=500),
        TaskConfig(features=FeatureConfig(raw_only=True)),
    )
    worker = rig.run(finished=lambda: True)
    assert len(worker.stats.checkpoint_sizes) == 24  # every partition was checkpointed
    rig.source.revoke(set(range(1, 24)))
    held = {0}
    per_partition = {
        "tasks": worker.tasks,
        # one object per partition holds its bookkeeping (quiet since, unsaved, saved at,
        # latency, quality rates): a revoke drops it whole
        "partitions": [held.partition for held in worker.partitions],
        "lags": worker.stats.lags,
        "checkpoint_sizes": worker.stats.checkpoint_sizes,
    }
    assert {name: set(d) - held for name, d in per_partition.items()} == dict.fromkeys(
        per_partition, set()
    )


# -- nothing hangs silently ------------------------------------------------------------------------
def test_a_poll_that_hangs_is_reported_with_what_the_worker_waits_for() -> None:
    topic = MemoryTopic(1)
    publish_flights(topic, 5)
    stalls: list[tuple[str, float]] = []
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(stall_s=0.2), task_config())
    rig.worker.watch.on_stall = lambda call, waited: stalls.append((call, waited))
    release, seen = threading.Event(), threading.Event()
    poll = rig.source.poll

    def hanging(timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        if not rig.source.polls and not release.is_set():  # the first poll hangs
            assert rig.worker.watch.stalled.wait(timeout=30)  # the watchdog saw it
            waiting = rig.worker.waiting()
            assert waiting is not None and waiting[0] == "the Kafka consumer (poll)"
            exposed = generate_latest(worker_registry(rig.worker)).decode()
            assert (
                'driftline_worker_waiting_seconds{namespace="test",'
                'waiting_for="the Kafka consumer (poll)"}'
            ) in exposed
            seen.set()
            release.set()
        return poll(timeout_ms, max_records)

    rig.source.poll = hanging  # type: ignore[method-assign]
    worker = rig.run(finished=lambda: True)
    assert seen.is_set() and [call for call, _ in stalls] == ["poll"]
    assert stalls[0][1] >= 0.2
    assert worker.waiting() is None  # answered: nothing is awaited any more
    assert worker.stats.records == topic.end(0)


class NeverAssigned:
    """Wraps a source whose group never assigns it anything until it rejoins (or never)."""

    def __init__(self, rig: Rig, assign_on_rejoin: bool) -> None:
        self.rig, self.assign_on_rejoin = rig, assign_on_rejoin
        self.rejoins = 0
        rig.source.initial = set()

    def rejoin(self, listener: Any) -> None:
        self.rejoins += 1
        if self.assign_on_rejoin:
            self.rig.source.assign({0})


def unassigned_rig(assign_on_rejoin: bool) -> tuple[MemoryTopic, Rig, NeverAssigned]:
    """A worker on five flights whose group assigns it nothing until it rejoins (or never)."""
    topic = MemoryTopic(1)
    publish_flights(topic, 5)
    config = WorkerConfig(assignment_stall_s=5.0, poll_timeout_ms=500)
    rig = Rig(topic, MemoryCheckpoints(), config, task_config())
    group = NeverAssigned(rig, assign_on_rejoin=assign_on_rejoin)
    rig.source.rejoin = group.rejoin  # type: ignore[attr-defined]
    return topic, rig, group


def test_a_bounded_run_that_is_never_assigned_fails_instead_of_polling_for_ever(
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic, rig, group = unassigned_rig(assign_on_rejoin=False)
    with pytest.raises(ServiceUnavailable, match="no partition of the topic was assigned"):
        rig.run(finished=lambda: True)
    assert group.rejoins == 1
    assert "no partition assigned for" in caplog.text
    assert len(rig.source.polls) < 40  # 10 s of the loop's clock, not for ever
    assert rig.source.closed


def test_a_worker_that_rejoins_gets_its_partitions_and_goes_on() -> None:
    topic, rig, group = unassigned_rig(assign_on_rejoin=True)
    worker = rig.run(finished=lambda: True)
    assert group.rejoins == 1
    assert worker.stats.records == topic.end(0)
    assert worker.stats.waiting_for is None


def observe(topic: MemoryTopic, partition: int, event_id: str) -> None:
    when = datetime.fromtimestamp(topic.broker_ms / 1000, tz=UTC) + timedelta(seconds=1)
    topic.publish(
        Observation(event_id=event_id, key=f"k{partition}", event_time=when, features={"x": 1.0}),
        partition,
    )


def bounded_run(rig: Rig, polls: int = 60) -> Worker:
    """Run until read to the end, or stop after ``polls`` polls (a stalled partition)."""
    stop = threading.Event()
    poll = rig.source.poll

    def counted(timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        if len(rig.source.polls) >= polls:
            stop.set()
        return poll(timeout_ms, max_records)

    rig.source.poll = counted  # type: ignore[method-assign]
    return rig.run(finished=lambda: True, stop=stop)


# -- offsets that hold no record ---------------------------------------------------------
def test_a_commit_marker_between_records_does_not_stall_the_partition() -> None:
    topic = MemoryTopic(1)
    observe(topic, 0, "a")
    observe(topic, 0, "b")
    topic.gap(0)  # offset 2: a transaction's commit marker
    observe(topic, 0, "c")
    observe(topic, 0, "d")
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(max_poll_records=2), task_config())
    worker = bounded_run(rig)
    assert [p.offset for p in rig.sink.predictions] == [0, 1, 3, 4]
    assert worker.tasks[0].next_offset == 5
    assert worker.stats.offset_gaps == 1
    assert len(rig.source.polls) < 60  # it stopped because it was read to the end


def test_a_checkpoint_at_a_missing_offset_resumes_past_it() -> None:
    topic = MemoryTopic(1)
    checkpoints = MemoryCheckpoints()
    observe(topic, 0, "a")
    observe(topic, 0, "b")
    first = Rig(topic, checkpoints, WorkerConfig(), task_config())
    bounded_run(first)
    topic.gap(0, 3)  # a checkpoint at offset 2, which will never hold a record
    observe(topic, 0, "c")
    second = Rig(topic, checkpoints, WorkerConfig(), task_config())
    worker = bounded_run(second)
    assert worker.stats.restored == 1
    assert [p.offset for p in second.sink.predictions] == [5]
    assert worker.tasks[0].next_offset == 6


def test_records_ahead_of_a_lost_checkpoint_are_still_sent_back() -> None:
    """A source positioned by the group (committed past a checkpoint that was lost) is
    sent back once to the task's offset: the gap rule applies only to a source that reads
    from the task's offset."""
    topic = MemoryTopic(1)
    publish_flights(topic, 30)
    topic.committed["workers"] = {0: 20}  # committed, but no checkpoint holds it
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(max_poll_records=500), task_config())
    worker = bounded_run(rig)
    assert worker.stats.offset_gaps == 0
    assert worker.stats.records == topic.end(0)  # all of it, from offset 0


# -- a partition revoked inside a poll ---------------------------------------------------
class RevokingSource(MemorySource):
    """Revokes ``partition`` inside the poll numbered ``at``, after fetching its records
    (the listener runs while the poll is under way, as kafka-python 3 does)."""

    def __init__(self, topic: MemoryTopic, partition: int, at: int) -> None:
        super().__init__(topic)
        self.partition, self.at = partition, at
        self.revoked_after: int | None = None  # the index of the revoking poll

    def poll(self, timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        batch = super().poll(timeout_ms, max_records)
        if len(self.polls) == self.at:
            self.revoke({self.partition})
            self.revoked_after = len(self.polls)
        return batch


def test_a_partition_revoked_inside_a_poll_is_not_taken_back() -> None:
    topic = MemoryTopic(2)
    publish_flights(topic, 10, partitions=(0, 1))
    checkpoints = MemoryCheckpoints()
    config = WorkerConfig(max_poll_records=4, checkpoint_every=1)
    rig = Rig(topic, checkpoints, config, task_config(idle_s=1.0))
    source = RevokingSource(topic, partition=1, at=2)
    rig.source = source
    rig.worker.source = source
    ticked: list[tuple[int, int]] = []  # (poll count, partition)
    tick = rig.ticks.tick  # type: ignore[union-attr]

    def tick_logged(partitions: Any) -> int:
        partitions = list(partitions)
        ticked.extend((len(source.polls), p) for p in partitions)
        return tick(partitions)

    rig.ticks.tick = tick_logged  # type: ignore[union-attr,method-assign]
    saves: list[tuple[int, int]] = []
    save = checkpoints.save

    def save_logged(partition: int, blob: bytes, offset: int | None = None) -> None:
        saves.append((len(source.polls), partition))
        save(partition, blob, offset)

    checkpoints.save = save_logged  # type: ignore[method-assign]
    worker = bounded_run(rig, polls=40)
    assert source.revoked_after == 2
    assert sorted(worker.tasks) == [0]
    assert source.assignment() == {0}
    after = source.revoked_after
    late_predictions = [p for p in rig.sink.predictions if p.partition == 1]
    assert all(p.offset < 4 for p in late_predictions)  # only the first poll's records
    assert [t for t in ticked if t[1] == 1 and t[0] >= after] == []
    assert [s for s in saves if s[1] == 1 and s[0] > after] == []
    assert all(1 not in c for c in source.commits[1:])
