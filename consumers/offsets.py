"""Which records of a batch a partition's task has not seen: the checkpoint's offset is the
truth.

Records below the task's next offset are already in its state (a replay after a crash
reads them again): they are skipped. If the source starts above that offset (committed
ahead of a checkpoint that was then lost, or no checkpoint at all), it is sent back and
the batch dropped. Once the source reads from the task's offset, a batch that starts above
it has skipped offsets that hold no record (a transaction's commit marker, a record
removed by compaction): it is used, and the gap counted. Kafka offsets are not
contiguous, so a worker that sent the consumer back to such an offset would read the same
batch for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from driftline.consumers.stats import WorkerStats
from driftline.core.events.records import InputRecord
from driftline.core.task.partition import PartitionTask

__all__ = ["Plan", "gaps", "unseen"]

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """One partition's records of a batch, with its task and what the offset check needs:
    the task's next offset when the batch came, and the partition's oldest offset still
    in the log (asked of the source, without the lock, only when :attr:`needs_beginning`)."""

    task: PartitionTask
    records: Sequence[InputRecord]
    start: int | None
    beginning: int | None = None

    @property
    def needs_beginning(self) -> bool:
        return self.start is None or self.records[0].offset > self.start


def unseen(
    plan: Plan, in_step: bool, stats: WorkerStats
) -> tuple[Sequence[InputRecord], int | None]:
    """The records of ``plan`` its task has not seen, and the offset to send the source back
    to (``None``: read on). ``in_step``: the source reads from the task's offset.

    A task with no offset yet starts at the partition's beginning; one whose next records
    were deleted by retention goes on from the first record there is (said loudly).
    Replayed records and offset gaps are counted in ``stats``.
    """
    task, records = plan.task, plan.records
    start = task.next_offset
    if start is None:
        assert plan.beginning is not None
        start = task.next_offset = plan.beginning
    first = records[0].offset
    if first > start:
        assert plan.beginning is not None
        partition = task.partition
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
            return records, None
        if in_step:
            stats.offset_gaps += first - start + gaps(records)
            return records, None
        log.info(
            "partition %s: read from %s, its state is at %s: seeking back", partition, first, start
        )
        return [], start
    usable = records if first >= start else [r for r in records if r.offset >= start]
    stats.replayed_skipped += len(records) - len(usable)
    stats.offset_gaps += gaps(usable)
    return usable, None


def gaps(records: Sequence[InputRecord]) -> int:
    """Offsets between the first and the last of ``records`` that hold none of them.

    >>> gaps([InputRecord(0, 4, None, b"", 0), InputRecord(0, 7, None, b"", 0)])
    2
    """
    return records[-1].offset - records[0].offset + 1 - len(records) if records else 0
