"""The worker loop on in-memory parts: batching, checkpoints before commits, revoke and
restore, watermark ticks for idle partitions, and every way it stops."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.consumers.tasks import TaskStore
from driftline.consumers.worker import Worker, WorkerConfig
from driftline.core.errors import ServiceUnavailable, WriteRefused
from driftline.core.task.checkpoint import model_digest
from driftline.core.task.partition import TaskConfig
from tests.unit.consumers.worker_fakes import MemoryCheckpoints, MemorySink, MemoryTopic
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

    def hand_over(worker: Worker, _predictions: Any) -> None:
        batches[0] += 1
        if batches[0] == 4:  # mid-stream: partition 1 moves to the second worker
            first.source.revoke({1})

    first.worker.on_batch = hand_over
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
    rig.worker.on_batch = lambda worker, _p: stop.set()  # the signal arrives mid-batch
    worker = rig.run(stop=stop)
    assert worker.stats.batches == 1 and worker.stats.records == 10
    assert checkpoints.saves == [0] and rig.source.committed == {0: 10} and rig.source.closed


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
    rig.worker.sink = rig.sink
    worker = rig.run(finished=lambda: True)
    assert len(set(held)) == 1  # the same saves and commits through all 12 refusals
    assert worker.stats.outages == 1 and worker.stats.retries == 12
    assert worker.stats.waiting_for is None and rig.source.keepalives == 12
    assert max(rig.slept) <= 2.0 and rig.slept[1] > rig.slept[0] * 1.0  # backing off
    assert outputs(rig.sink) == outputs(reference.sink)
    assert state(worker.tasks) == state(reference.worker.tasks)


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
    first.worker.sink = first.sink
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
    rig.worker.sink = rig.sink

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
        assert snap["latency_seconds"] == {"p50": 0.05, "p99": 0.05}  # the 20-50 ms bucket
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
    rig.worker.sink = rig.sink
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
