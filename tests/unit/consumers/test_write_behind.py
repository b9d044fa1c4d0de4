"""driftline.consumers.write_behind: a batch's outputs written in a thread of their own
while the next batch is processed; the partitions dirty until it is collected, outages
waited out and errors raised in the collecting thread."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from driftline.consumers.outputs import BatchOutputs, BatchWrite, Outputs
from driftline.consumers.partitions import AssignedPartition, Partitions
from driftline.consumers.retry import Retry
from driftline.consumers.stats import WorkerStats
from driftline.consumers.write_behind import WriteBehind
from driftline.core.errors import ServiceUnavailable
from driftline.core.events.records import Prediction
from driftline.core.task.partition import TaskOutput
from tests.unit.consumers.test_outputs import prediction
from tests.unit.consumers.worker_fakes import MemoryDeadLetters, MemorySink


class GatedSink(MemorySink):
    """Writes once ``gate`` is open, from whichever thread; ``failures`` first."""

    def __init__(self, failures: Sequence[BaseException] = ()) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.failures = list(failures)
        self.threads: list[str] = []

    def write(self, predictions: Sequence[Prediction], snapshots: Any) -> int:
        assert self.gate.wait(10)
        self.threads.append(threading.current_thread().name)
        if self.failures:
            raise self.failures.pop(0)
        return super().write(predictions, snapshots)


class Setup:
    def __init__(self, sink: GatedSink) -> None:
        self.sink, self.stats, self.slept = sink, WorkerStats(), []
        retry = Retry(self.stats, first_s=0.1, max_s=1.0, sleep=self.slept.append)
        self.told: list[tuple[int, str]] = []
        self.outputs = Outputs(
            sink,
            MemoryDeadLetters(),
            None,
            retry,
            self.stats,
            lambda predictions, at: self.told.append(
                (len(predictions), threading.current_thread().name)
            ),
        )
        self.partitions = Partitions()
        self.partitions.assign({0, 1}, 0.0)
        self.held = {p: self.partitions.get(p) for p in (0, 1)}
        self.writes = WriteBehind(self.outputs, self.partitions, background=True)
        self.collected: list[BatchWrite] = []

    def batch(self, *partitions: int) -> tuple[BatchWrite, list[AssignedPartition]]:
        out = BatchOutputs()
        done = []
        for p in partitions:
            out.add(TaskOutput(predictions=[prediction(p)]), {"partition": p})
            held = self.held[p]
            assert held is not None
            done.append(held)
        with self.partitions.lock:
            self.writes.processed(done)
        return self.outputs.start(out, {}), done

    def send(self, write: BatchWrite, done: list[AssignedPartition]) -> None:
        self.writes.send(write, done, 0.0, self.collected.append)

    def dirty(self) -> dict[int, bool]:
        return {p: held.dirty for p, held in self.held.items() if held is not None}


def test_a_write_runs_in_the_writer_thread_and_its_partitions_stay_dirty_until_collected() -> None:
    rig = Setup(GatedSink())
    write, done = rig.batch(0, 1)
    rig.send(write, done)
    assert rig.writes.in_flight and rig.dirty() == {0: True, 1: True}
    assert rig.collected == [] and rig.told == []
    rig.sink.gate.set()
    rig.writes.collect()
    assert rig.sink.threads[0].startswith("driftline-writer")
    assert rig.dirty() == {0: False, 1: False} and not rig.writes.in_flight
    assert rig.collected == [write] and rig.stats.predictions == 2
    assert rig.told == [(2, threading.current_thread().name)]  # told in the collecting thread
    rig.writes.close()


def test_the_next_write_collects_the_one_in_flight_and_a_newer_batch_stays_dirty() -> None:
    rig = Setup(GatedSink())
    rig.sink.gate.set()
    first, first_done = rig.batch(0, 1)
    rig.send(first, first_done)
    second, second_done = rig.batch(0)  # processed while the first write is in flight
    rig.send(second, second_done)
    assert rig.collected == [first]
    assert rig.dirty() == {0: True, 1: False}  # 0 holds the second batch, not written yet
    rig.writes.collect()
    assert rig.collected == [first, second] and rig.dirty() == {0: False, 1: False}
    rig.writes.close()


def test_settling_a_revocation_cleans_only_what_is_written() -> None:
    rig = Setup(GatedSink())
    rig.sink.gate.set()
    first, first_done = rig.batch(0, 1)
    rig.send(first, first_done)
    rig.batch(1)  # processed, its write not sent: it must stay dirty
    with rig.partitions.lock:
        rig.writes.settle()
    assert rig.dirty() == {0: False, 1: True}
    assert rig.collected == []  # counts and callbacks stay for the worker's thread
    rig.writes.collect()
    assert rig.collected == [first] and rig.dirty() == {0: False, 1: True}
    rig.writes.close()


def test_an_outage_of_the_background_write_is_waited_out_in_the_collecting_thread() -> None:
    rig = Setup(GatedSink([ServiceUnavailable("Redis down")]))
    write, done = rig.batch(0)
    rig.send(write, done)
    rig.sink.gate.set()
    with rig.partitions.lock:
        rig.writes.settle()  # failed: nothing is clean
    assert rig.dirty()[0]
    rig.writes.collect()
    assert rig.sink.threads == ["driftline-writer_0", threading.current_thread().name]
    assert (rig.stats.outages, rig.stats.retries, len(rig.slept)) == (1, 1, 1)
    assert rig.stats.waiting_for is None and not rig.dirty()[0]
    assert [p.offset for p in rig.sink.predictions] == [0]
    rig.writes.close()


def test_an_error_waiting_will_not_mend_is_raised_when_collected_and_leaves_it_dirty() -> None:
    rig = Setup(GatedSink([ValueError("NaN")]))
    rig.sink.gate.set()
    write, done = rig.batch(0)
    rig.send(write, done)
    with pytest.raises(ValueError, match="NaN"):
        rig.writes.collect()
    assert rig.dirty()[0] and rig.collected == [] and not rig.writes.in_flight
    rig.writes.close()


def test_without_a_background_thread_a_write_is_made_and_collected_at_once() -> None:
    rig = Setup(GatedSink())
    rig.writes = WriteBehind(rig.outputs, rig.partitions, background=False)
    rig.sink.gate.set()
    write, done = rig.batch(0)
    rig.send(write, done)
    assert rig.collected == [write] and not rig.writes.in_flight and not rig.dirty()[0]
    assert rig.sink.threads == [threading.current_thread().name]
