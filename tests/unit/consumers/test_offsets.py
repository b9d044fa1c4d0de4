"""driftline.consumers.offsets: the checkpoint's offset is the truth; records below it are
skipped, a source ahead of it is sent back, offsets that hold no record are skipped."""

from __future__ import annotations

from typing import Any

import pytest

from driftline.consumers.offsets import Plan, gaps, unseen
from driftline.consumers.stats import WorkerStats
from driftline.core.events.records import InputRecord
from tests.unit.consumers.worker_fakes import StubTask


def records(*offsets: int) -> list[InputRecord]:
    return [InputRecord(0, o, b"k", b"v", 0) for o in offsets]


def plan(next_offset: int | None, batch: list[InputRecord], beginning: int | None = 0) -> Plan:
    task: Any = StubTask(0, next_offset)
    made = Plan(task, batch, next_offset)
    if made.needs_beginning:
        made.beginning = beginning
    return made


def test_records_the_checkpoint_holds_are_skipped() -> None:
    stats = WorkerStats()
    usable, seek = unseen(plan(12, records(10, 11, 12, 13)), in_step=False, stats=stats)
    assert [r.offset for r in usable] == [12, 13] and seek is None
    assert stats.replayed_skipped == 2 and stats.offset_gaps == 0


def test_a_batch_from_the_tasks_offset_is_used_whole() -> None:
    stats = WorkerStats()
    batch = records(12, 13, 15)  # 14 holds no record (a transaction's commit marker)
    usable, seek = unseen(plan(12, batch), in_step=False, stats=stats)
    assert usable is batch and seek is None and stats.offset_gaps == 1


def test_a_source_ahead_of_the_checkpoint_is_sent_back_and_its_batch_dropped() -> None:
    stats = WorkerStats()
    usable, seek = unseen(plan(12, records(20, 21)), in_step=False, stats=stats)
    assert list(usable) == [] and seek == 12
    assert stats.offset_gaps == 0 and stats.replayed_skipped == 0


def test_in_step_a_batch_above_the_offset_skipped_offsets_without_records() -> None:
    stats = WorkerStats()
    made = plan(12, records(14, 16))
    usable, seek = unseen(made, in_step=True, stats=stats)
    assert [r.offset for r in usable] == [14, 16] and seek is None
    assert stats.offset_gaps == 2 + 1  # 12 and 13 before the batch, 15 inside it
    assert made.task.next_offset == 12  # the task moves on as it processes them


def test_a_fresh_task_starts_at_the_partitions_beginning() -> None:
    stats = WorkerStats()
    made = plan(None, records(5, 6, 7), beginning=5)
    usable, seek = unseen(made, in_step=False, stats=stats)
    assert [r.offset for r in usable] == [5, 6, 7] and seek is None
    assert made.task.next_offset == 5


def test_records_deleted_before_they_were_learned_are_gone_on_from(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stats = WorkerStats()
    made = plan(12, records(40, 41), beginning=30)  # retention took 12..29
    usable, seek = unseen(made, in_step=False, stats=stats)
    assert [r.offset for r in usable] == [40, 41] and seek is None
    assert made.task.next_offset == 40
    assert "records 12..29 were deleted before they were learned" in caplog.text


def test_the_beginning_is_needed_only_for_a_batch_above_the_offset_or_a_fresh_task() -> None:
    task: Any = StubTask(0, 12)
    assert not Plan(task, records(12), 12).needs_beginning
    assert not Plan(task, records(11, 12), 12).needs_beginning
    assert Plan(task, records(13), 12).needs_beginning
    assert Plan(task, records(0), None).needs_beginning


def test_gaps_count_offsets_without_records() -> None:
    assert gaps([]) == 0 and gaps(records(3)) == 0 and gaps(records(3, 4, 9)) == 4
