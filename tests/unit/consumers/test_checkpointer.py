"""driftline.consumers.checkpointer: checkpoints every N records or T seconds, never of a
dirty task, and offsets committed only once a checkpoint holds them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driftline.consumers.checkpointer import Checkpointer
from driftline.consumers.partitions import AssignedPartition, Partitions
from driftline.consumers.stats import WorkerStats
from tests.unit.consumers.worker_fakes import Clock, StubTask, StubTaskStore


class Rig:
    """A checkpointer over in-memory partitions, a stub store and a recorded commit."""

    def __init__(self, every: int = 10, interval_s: float = 5.0, down: int = 0) -> None:
        #: Partitions whose last batch's write is in flight (see write_behind).
        self.writing: set[int] = set()
        self.clock = Clock(0.0)
        self.partitions = Partitions()
        self.store = StubTaskStore(down=down)
        self.stats = WorkerStats()
        self.commits: list[dict[int, int]] = []
        self.checkpointer = Checkpointer(
            self.partitions,
            self.store,  # type: ignore[arg-type]
            self.stats,
            self.commit,
            every=every,
            interval_s=interval_s,
            monotonic=self.clock,
            in_flight=lambda held: held.partition in self.writing,
        )

    def commit(self, offsets: Mapping[int, int]) -> bool:
        assert not self.partitions.lock._is_owned(), "committed under the lock"  # type: ignore[attr-defined]
        self.commits.append(dict(offsets))
        return True

    def hold(self, partition: int, next_offset: int | None = 0) -> AssignedPartition:
        self.partitions.assign({partition}, self.clock())
        self.partitions.set_task(partition, StubTask(partition, next_offset), self.clock())  # type: ignore[arg-type]
        held = self.partitions.get(partition)
        assert held is not None
        return held

    def process(self, held: AssignedPartition, records: int) -> None:
        """What the loop does with a batch: the task moves on, its outputs are written."""
        task: Any = held.task
        task.next_offset += records
        held.unsaved += records


def test_a_partition_is_saved_every_n_records_and_then_its_offset_committed() -> None:
    rig = Rig(every=10)
    held = rig.hold(0)
    rig.process(held, 9)
    rig.checkpointer.save_due()
    assert rig.checkpointer.commit() == {} and rig.store.saved == []
    rig.process(held, 1)
    rig.checkpointer.save_due()
    assert rig.store.saved == [(0, 10)] and held.unsaved == 0
    assert rig.checkpointer.commit() == {0: 10}
    assert rig.checkpointer.commit() == {}  # sent once
    assert rig.commits == [{0: 10}]


def test_a_partition_with_unsaved_records_is_saved_after_the_interval() -> None:
    rig = Rig(every=1000, interval_s=5.0)
    held, quiet = rig.hold(0), rig.hold(1)
    rig.process(held, 3)
    rig.clock.now = 4.9
    rig.checkpointer.save_due()
    assert rig.store.saved == []
    rig.clock.now = 5.0
    rig.checkpointer.save_due()
    assert rig.store.saved == [(0, 3)] and held.saved_at == 5.0
    assert quiet.unsaved == 0  # nothing to save: never saved, however old
    rig.clock.now = 9.0
    rig.process(held, 1)
    rig.checkpointer.save_due()  # 4 s since the last checkpoint
    assert rig.store.saved == [(0, 3)]


def test_a_dirty_task_is_never_checkpointed() -> None:
    rig = Rig(every=1)
    held = rig.hold(0)
    rig.process(held, 5)
    held.dirty = True  # its batch's outputs are not written yet
    rig.checkpointer.save_due()
    rig.checkpointer.save_clean()
    assert not rig.checkpointer.save(held)
    assert rig.store.saved == [] and rig.checkpointer.commit() == {}
    held.dirty = False
    rig.checkpointer.save_clean()
    assert rig.store.saved == [(0, 5)] and rig.checkpointer.commit() == {0: 5}


def test_a_store_outage_holds_the_commit_until_a_checkpoint_is_saved() -> None:
    rig = Rig(every=1, down=2)
    held = rig.hold(0)
    rig.process(held, 4)
    for _ in range(2):  # not waited for: the loop goes on, nothing is committed
        rig.checkpointer.save_due()
        assert rig.checkpointer.commit() == {} and held.unsaved == 4
    rig.checkpointer.save_due()
    assert rig.checkpointer.commit() == {0: 4}
    assert rig.stats.checkpoints == 1


def test_a_revoked_partition_is_saved_but_its_offset_never_committed_from_here() -> None:
    rig = Rig(every=1000)
    held = rig.hold(0)
    rig.process(held, 7)
    with rig.partitions.lock:  # as the worker's rebalance callback does
        for gone in rig.partitions.revoke({0}):
            assert rig.checkpointer.save(gone)
    assert rig.store.saved == [(0, 7)]
    assert rig.checkpointer.commit() == {} and rig.commits == []


def test_checkpoints_are_timed_and_measured() -> None:
    rig = Rig(every=1)
    for p in (0, 1):
        rig.process(rig.hold(p), 2)
    rig.checkpointer.save_due()
    stats = rig.stats
    assert stats.checkpoints == 2 and stats.checkpoint_seconds.count == 2
    assert stats.checkpoint_sizes == {0: 100, 1: 101} and stats.checkpoint_bytes == 101
    assert stats.checkpoint_s >= 0.0


def test_a_task_without_an_offset_is_not_saved() -> None:
    rig = Rig(every=1)
    held = rig.hold(0, next_offset=None)
    held.unsaved = 3
    rig.checkpointer.save_due()
    assert rig.store.saved == []


def test_a_partition_whose_write_is_in_flight_is_sealed_now_and_stored_once_written() -> None:
    rig = Rig(every=10)
    held = rig.hold(0)
    rig.process(held, 10)
    held.dirty = True  # its batch's write is in flight
    rig.writing.add(0)
    rig.checkpointer.save_due()
    assert rig.store.saved == [] and rig.checkpointer.commit() == {}  # sealed, not stored
    rig.process(held, 4)  # the next batch, processed meanwhile: not in the checkpoint
    rig.checkpointer.save_due()  # already sealed: not again
    rig.checkpointer.written()
    assert rig.store.saved == [(0, 10)] and held.unsaved == 4
    assert rig.checkpointer.commit() == {0: 10}


def test_nothing_sealed_is_stored_when_the_write_failed_or_the_partition_went() -> None:
    rig = Rig(every=10)
    failed, revoked = rig.hold(0), rig.hold(1)
    for held in (failed, revoked):
        rig.process(held, 10)
        held.dirty = True
        rig.writing.add(held.partition)
    rig.checkpointer.save_due()
    rig.checkpointer.forget_sealed()
    rig.checkpointer.written()
    assert rig.store.saved == []
    rig.checkpointer.save_due()  # sealed again
    rig.partitions.revoke({1})
    rig.checkpointer.written()
    assert rig.store.saved == [(0, 10)] and rig.checkpointer.commit() == {0: 10}


def test_a_dirty_partition_without_a_write_in_flight_is_not_saved() -> None:
    rig = Rig(every=10)
    held = rig.hold(0)
    rig.process(held, 10)
    held.dirty = True  # processed, its write not sent yet
    rig.checkpointer.save_due()
    rig.checkpointer.written()
    assert rig.store.saved == [] and held.unsaved == 10


def test_a_partition_another_worker_claimed_is_never_checkpointed_from_here() -> None:
    rig = Rig(every=1)
    held = rig.hold(0)
    rig.process(held, 5)
    held.fenced = True  # its last batch found the partition claimed by another worker
    rig.checkpointer.save_due()
    rig.checkpointer.save_clean()
    assert not rig.checkpointer.save(held)
    assert rig.store.saved == [] and rig.checkpointer.commit() == {}
