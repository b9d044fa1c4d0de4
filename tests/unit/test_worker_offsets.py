"""Offsets that hold no record, and partitions revoked in the middle of a poll (issue 19,
defects 2 and 4), on the worker's in-memory parts.

Kafka offsets are not contiguous: a transactional producer's commit markers take offsets
that are never delivered, and compaction removes records. A worker that sent the consumer
back to the missing offset read the same batch for ever. A partition revoked between
``poll()`` and the batch's handling (kafka-python 3 calls the listener on its I/O thread)
came back: restored, processed, ticked, checkpointed and committed by a worker that no
longer owned it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from driftline.consumers.worker import Worker, WorkerConfig
from driftline.core.events.model import Observation
from driftline.core.events.records import InputRecord
from tests.unit.consumers.worker_fakes import MemoryCheckpoints, MemorySource, MemoryTopic
from tests.unit.consumers.worker_rig import Rig, publish_flights, task_config


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


# -- defect 2: offsets that hold no record ---------------------------------------------------------
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


# -- defect 4: a partition revoked inside a poll ---------------------------------------------------
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
