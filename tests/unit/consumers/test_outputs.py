"""driftline.consumers.outputs: a batch's outputs written in order, outages waited out,
predictions Redis can never hold dead-lettered with their records."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from driftline.consumers import retry as retry_module
from driftline.consumers.outputs import BatchOutputs, Outputs
from driftline.consumers.retry import Retry
from driftline.consumers.stats import WorkerStats
from driftline.core.errors import PublishError, ServiceUnavailable, WriteRefused
from driftline.core.events.records import Alert, DeadLetter, InputRecord, Prediction
from driftline.core.task.partition import TaskOutput
from tests.unit.consumers.worker_fakes import MemoryDeadLetters, MemoryFence, MemorySink

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def prediction(offset: int, key: str = "k") -> Prediction:
    return Prediction(
        key=key,
        event_id=f"e{offset}",
        partition=0,
        offset=offset,
        event_time=T0,
        ingest_time=T0,
        predicted_time=T0,
        prediction=True,
        probabilities={True: 0.5, False: 0.5},
        model_version=1,
    )


def alert(kind: str = "concept") -> Alert:
    return Alert(
        alert_id=f"0@1:{kind}",
        partition=0,
        offset=1,
        kind=kind,
        subject="main",
        signal="drift",
        detector="ADWIN",
        statistic={"late_share": 0.5, "allowed_lateness_s": 60},
        window=100,
        event_time=T0,
        model="main",
        model_version=1,
        action="none",
    )


def record(offset: int) -> InputRecord:
    return InputRecord(0, offset, b"k", b"value-%d" % offset, 1_700_000_000_000 + offset)


class Journal:
    """Sinks that note each call in one list, in order; ``down`` fails calls by number."""

    def __init__(self, down: set[int] | None = None) -> None:
        self.calls: list[str] = []
        self.down = down or set()
        self.sink = MemorySink()
        self.letters = MemoryDeadLetters()
        self.alerts: list[Alert] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if len(self.calls) in self.down:
            raise ServiceUnavailable(f"{name} did not answer")

    def write(self, predictions: Sequence[Prediction], snapshots: Any) -> int:
        self._call("predictions")
        return self.sink.write(predictions, snapshots)

    def record(self, points: Any, alerts: Any, findings: Any = ()) -> None:
        self._call("series, alerts, quality log")
        self.sink.record(points, alerts, findings)

    def publish_alerts(self, alerts: Sequence[Alert]) -> None:
        self._call("alerts topic")
        self.alerts += alerts

    def publish_letters(self, letters: Sequence[DeadLetter]) -> None:
        self._call("dead letters")
        self.letters.publish(letters)


class _Publisher:
    def __init__(self, publish: Any) -> None:
        self.publish = publish


def outputs(journal: Journal, stats: WorkerStats, slept: list[float]) -> Outputs:
    retry = Retry(stats, first_s=0.1, max_s=1.0, sleep=slept.append)
    return Outputs(
        journal,
        _Publisher(journal.publish_letters),
        _Publisher(journal.publish_alerts),
        retry,
        stats,
        on_predictions=lambda predictions, at: journal.calls.append(f"told of {len(predictions)}"),
    )


def batch() -> BatchOutputs:
    out = BatchOutputs()
    letter = DeadLetter("undecodable", "?", 0, 3, b"k", b"?", 0, "undecodable")
    made = TaskOutput(
        predictions=[prediction(1), prediction(2)],
        dead_letters=[letter],
        alerts=[alert()],
        points=[{"window_s": 60, "model": "main", "start_s": 0}],
    )
    out.add(made, {"partition": 0})
    return out


def test_a_batch_is_written_in_order_predictions_first_dead_letters_last() -> None:
    journal, stats, slept = Journal(), WorkerStats(), []
    outputs(journal, stats, slept).flush(batch(), {0: [record(o) for o in (1, 2, 3)]})
    assert journal.calls == [
        "predictions",
        "series, alerts, quality log",
        "alerts topic",
        "dead letters",
        "told of 2",  # once the batch is written whole, with the time Redis took it
    ]
    assert journal.sink.snapshots == {0: {"partition": 0}}
    assert len(journal.sink.predictions) == 2 and list(journal.sink.alerts) == ["0@1:concept"]
    assert [letter.offset for letter in journal.letters.letters] == [3]
    assert (stats.predictions, stats.dead_letters, stats.alerts, stats.points) == (2, 1, 1, 1)
    assert slept == []


def test_an_empty_batch_writes_only_its_metrics() -> None:
    journal, stats, slept = Journal(), WorkerStats(), []
    empty = BatchOutputs()
    empty.snapshots.append({"partition": 1})
    outputs(journal, stats, slept).flush(empty, {})
    assert journal.calls == ["predictions", "told of 0"]


@pytest.mark.parametrize("failing", [1, 2, 3, 4])
def test_each_write_waits_out_an_outage_and_only_the_failed_write_is_repeated(
    failing: int,
) -> None:
    journal, stats, slept = Journal(down={failing}), WorkerStats(), []
    outputs(journal, stats, slept).flush(batch(), {0: [record(o) for o in (1, 2, 3)]})
    assert journal.calls.count(journal.calls[failing - 1]) == 2  # the failed call, again
    assert len(journal.calls) == 6
    assert stats.outages == 1 and stats.retries == 1 and len(slept) == 1
    assert stats.waiting_for is None


def test_an_error_that_waiting_will_not_mend_is_raised() -> None:
    journal, stats = Journal(), WorkerStats()

    def refuse(letters: Sequence[DeadLetter]) -> None:
        raise ValueError("not a dead letter")

    out = outputs(journal, stats, [])
    out.dead_letters = _Publisher(refuse)
    with pytest.raises(ValueError):
        out.flush(batch(), {0: [record(o) for o in (1, 2, 3)]})


def test_a_publish_error_is_waited_out_as_an_outage() -> None:
    journal, stats, slept = Journal(), WorkerStats(), []
    failures = [PublishError("1 dead letter(s) not acknowledged", 1, None)]

    def flaky(letters: Sequence[DeadLetter]) -> None:
        if failures:
            raise failures.pop()
        journal.publish_letters(letters)

    out = outputs(journal, stats, slept)
    out.dead_letters = _Publisher(flaky)
    out.flush(batch(), {0: [record(o) for o in (1, 2, 3)]})
    assert stats.outages == 1 and len(journal.letters.letters) == 1


class RefusingSink(MemorySink):
    """Holds every prediction but those of ``key`` (its Redis key holds another type)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def write(self, predictions: Sequence[Prediction], snapshots: Any) -> int:
        refused = [(p, f"{p.key} holds another type") for p in predictions if p.key == self.key]
        kept = [p for p in predictions if p.key != self.key]
        super().write(kept, snapshots)
        if refused:
            raise WriteRefused(len(kept), refused)
        return len(kept)


def test_predictions_redis_refuses_become_dead_letters_with_their_records() -> None:
    sink, letters, stats, slept = RefusingSink("bad"), MemoryDeadLetters(), WorkerStats(), []
    retry = Retry(stats, first_s=0.1, max_s=1.0, sleep=slept.append)
    out = BatchOutputs()
    out.add(TaskOutput(predictions=[prediction(1), prediction(2, key="bad")]), {"partition": 0})
    Outputs(sink, letters, None, retry, stats).flush(out, {0: [record(1), record(2)]})
    assert [p.offset for p in sink.predictions] == [1]
    [letter] = letters.letters
    assert (letter.reason, letter.partition, letter.offset, letter.kind) == (
        "redis-refused",
        0,
        2,
        "observation",
    )
    assert letter.value == b"value-2" and letter.detail.startswith("e2: bad holds another type")
    assert stats.redis_refused == 1 and stats.dead_letters == 1 and stats.predictions == 2
    assert slept == [] and stats.outages == 0  # not an outage: nothing was waited for


def test_without_an_alert_sink_alerts_go_to_redis_only() -> None:
    sink, letters, stats = MemorySink(), MemoryDeadLetters(), WorkerStats()
    retry = Retry(stats, first_s=0.1, max_s=1.0, sleep=lambda s: None)
    out = BatchOutputs()
    out.add(TaskOutput(alerts=[alert("timeliness")]), {"partition": 0})
    Outputs(sink, letters, None, retry, stats).flush(out, {})
    assert list(sink.alerts) == ["0@1:timeliness"] and stats.alerts == 1


def _two_partitions() -> tuple[BatchOutputs, dict[int, list[InputRecord]]]:
    out = batch()  # partition 0: an alert and a dead letter
    moved = DeadLetter("undecodable", "?", 1, 7, b"k", b"?", 0, "undecodable")
    out.add(
        TaskOutput(dead_letters=[moved], alerts=[replace(alert(), partition=1)]), {"partition": 1}
    )
    records = {0: [record(o) for o in (1, 2, 3)], 1: [InputRecord(1, 7, b"k", b"?", 0)]}
    return out, records


def test_a_partition_claimed_by_another_worker_publishes_none_of_its_outputs() -> None:
    journal, stats, slept = Journal(), WorkerStats(), []
    writer = outputs(journal, stats, slept)
    writer.fence = fence = MemoryFence({0: 4, 1: 5})  # partition 1 claimed again since epoch 4
    out, records = _two_partitions()
    write = writer.start(out, records, {0: 4, 1: 4})
    writer.finish(write)
    assert write.fenced == {1} and fence.asked == [{0: 4, 1: 4}]
    assert [(a.partition, a.alert_id) for a in journal.alerts] == [(0, "0@1:concept")]
    assert [(x.partition, x.offset) for x in journal.letters.letters] == [(0, 3)]
    assert list(journal.sink.alerts) == ["0@1:concept"]  # Redis's alert log too
    assert len(journal.sink.predictions) == 2  # predictions are idempotent: written


def test_the_claims_are_asked_only_of_a_batch_with_dead_letters_or_alerts() -> None:
    journal, stats, slept = Journal(), WorkerStats(), []
    writer = outputs(journal, stats, slept)
    writer.fence = fence = MemoryFence({0: 9})
    quiet = BatchOutputs()
    quiet.add(TaskOutput(predictions=[prediction(1)]), {"partition": 0})
    write = writer.start(quiet, {0: [record(1)]}, {0: 1})
    writer.finish(write)
    assert fence.asked == [] and write.fenced == set()  # no round trip for a quiet batch
    mine = writer.start(batch(), {0: [record(o) for o in (1, 2, 3)]}, {0: 9})
    writer.finish(mine)
    assert fence.asked == [{0: 9}] and mine.fenced == set() and len(journal.alerts) == 1


def test_a_written_batch_is_freed_without_the_cyclic_collector() -> None:
    # A write whose steps pointed back at it made every batch, its records and its
    # predictions a reference cycle: freed only by the collector, tens of ms at a time.
    journal, stats, slept = Journal(), WorkerStats(), []
    made = batch()
    freed = weakref.ref(made)
    with _collector_off():
        writes = outputs(journal, stats, slept)
        write = writes.start(made, {0: [record(o) for o in (1, 2, 3)]})
        write.attempt()
        writes.finish(write)
        del write, made
        assert freed() is None


def test_a_batch_whose_write_failed_once_is_freed_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest keeps each log record, and the retry's warning holds the error, its frames
    # and through them the write: kept out of pytest's capture here
    monkeypatch.setattr(logging.getLogger(retry_module.__name__), "propagate", False)
    journal, stats, slept = Journal(down={1}), WorkerStats(), []
    made = batch()
    freed = weakref.ref(made)
    with _collector_off():
        writes = outputs(journal, stats, slept)
        write = writes.start(made, {0: [record(o) for o in (1, 2, 3)]})
        write.attempt()  # the first write fails: kept, then retried by finish
        assert write.failure is not None
        writes.finish(write)
        assert stats.retries == 1
        del write, made
        assert freed() is None


@contextmanager
def _collector_off() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
