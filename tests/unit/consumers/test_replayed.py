"""Exactly-once outputs, the pure pieces: the ids of outputs already published are held
per partition, left out of a replay's publication and dropped once the replay is past
them; a restored task reads back from its checkpoint's positions (an outage waited
out), a fresh one and an old checkpoint read nothing; a checkpoint keeps the positions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from driftline.adapters.kafka.dead_letters import dead_letter_id
from driftline.adapters.kafka.published import OutputPositions, Published, cause_of
from driftline.consumers.outputs import BatchOutputs, Outputs
from driftline.consumers.partitions import Partitions
from driftline.consumers.replayed import ReplayedOutputs
from driftline.consumers.restorer import TaskRestorer
from driftline.consumers.retry import Retry
from driftline.consumers.stats import WorkerStats
from driftline.consumers.tasks import TaskStore
from driftline.core.errors import ServiceUnavailable
from driftline.core.events.records import DeadLetter, InputRecord
from driftline.core.task.checkpoint import restore_task, seal_task
from driftline.core.task.partition import PartitionTask, TaskConfig
from driftline.core.task.seal import CheckpointCodec
from tests.unit.consumers.test_outputs import Journal, _Publisher, alert
from tests.unit.consumers.worker_fakes import Clock, MemoryCheckpoints, StubTask, StubTaskStore

SOURCE = "ns.events"
SINCE = {"ns.dead-letter": {"0": 5}, "ns.alerts": {"0": 2}}


def letter(partition: int, offset: int, reason: str = "empty-value") -> DeadLetter:
    return DeadLetter(reason, "", partition, offset, b"k", b"", 0)


def test_held_ids_are_left_out_of_their_partition_only() -> None:
    replayed = ReplayedOutputs(SOURCE)
    ids = {dead_letter_id(letter(0, 3), SOURCE), "0-4-concept-main-drift"}
    replayed.hold(0, Published(frozenset(ids), 4))
    letters = [letter(0, 3), letter(0, 3, "truncated"), letter(1, 3), letter(0, 6)]
    assert replayed.unpublished_letters(letters) == letters[1:]
    same = _alert("0-4-concept-main-drift", 0, 4)
    other = _alert("1-4-concept-main-drift", 1, 4)
    assert replayed.unpublished_alerts([same, other]) == [other]
    assert replayed.skipped == 2


def test_the_ids_are_dropped_once_the_replay_is_past_them() -> None:
    replayed = ReplayedOutputs(SOURCE)
    replayed.hold(0, Published(frozenset({dead_letter_id(letter(0, 9), SOURCE)}), 9))
    replayed.passed({0: 8, 1: 100})
    assert replayed.held() == {0: 1}
    replayed.passed({0: 9})
    assert replayed.held() == {}
    assert replayed.unpublished_letters([letter(0, 9)]) == [letter(0, 9)]  # a new run's own
    replayed.hold(0, Published(frozenset({"x"}), 1))
    replayed.hold(0, Published(frozenset(), -1))  # nothing found: nothing held
    assert replayed.held() == {}


def test_a_batch_write_leaves_out_what_was_published_and_then_forgets_it() -> None:
    journal = Journal()
    stats = WorkerStats()
    replayed = ReplayedOutputs(SOURCE)
    published = [letter(0, 3), letter(0, 4)]
    replayed.hold(0, Published(frozenset({dead_letter_id(published[0], SOURCE), "0-4-concept"}), 4))
    outputs = Outputs(
        journal,
        _Publisher(journal.publish_letters),
        _Publisher(journal.publish_alerts),
        Retry(stats, first_s=0.1, max_s=1.0, sleep=lambda s: None),
        stats,
        replayed=replayed,
    )
    out = BatchOutputs(dead_letters=published, alerts=[_alert("0-4-concept", 0, 4)])
    records = {0: [InputRecord(0, offset, b"k", b"v", 0) for offset in (3, 4, 5)]}
    outputs.flush(out, records)
    assert journal.letters.letters == [letter(0, 4)] and journal.alerts == []
    assert replayed.held() == {} and replayed.skipped == 2
    assert stats.dead_letters == 2  # the batch made two (the worker's own count)


class Reader:
    """The output topics read back: ``down`` failures first, then ``found``."""

    source_topic = SOURCE

    def __init__(self, found: Published, down: int = 0) -> None:
        self.found = found
        self.down = down
        self.calls: list[Any] = []

    def baseline(self) -> None:
        self.calls.append("baseline")

    def read(
        self, partition: int, since: Mapping[str, Mapping[str, int]], next_offset: int
    ) -> Published:
        self.calls.append((partition, dict(since), next_offset))
        if self.down:
            self.down -= 1
            raise ServiceUnavailable("Kafka did not answer")
        return self.found


class HeaderStore(StubTaskStore):
    """Stub tasks whose checkpoint header is ``header`` (``None``: a fresh task)."""

    def __init__(self, checkpoints: dict[int, int], header: dict[str, Any]) -> None:
        super().__init__(checkpoints)
        self.header = header

    def restore(self, partition: int) -> StubTask | None:
        task = super().restore(partition)
        if task is not None:
            task.restored_from = self.header  # type: ignore[attr-defined]
        return task


def _restorer(store: StubTaskStore, reader: Reader) -> tuple[TaskRestorer, list[float]]:
    partitions = Partitions()
    partitions.assign({0, 1}, now=0.0)
    stats, slept = WorkerStats(), []
    retry = Retry(stats, first_s=0.1, max_s=1.0, sleep=slept.append)
    made = TaskRestorer(partitions, store, retry, stats, Clock(0.0), reader)  # type: ignore[arg-type]
    return made, slept


def test_a_restored_task_reads_back_from_its_checkpoints_positions() -> None:
    found = Published(frozenset({"ns.events:0:41:empty-value"}), 41)
    reader = Reader(found, down=2)
    made, slept = _restorer(HeaderStore({0: 40}, {"outputs": SINCE}), reader)
    made.restore([0, 1])  # partition 1 has no checkpoint: fresh, nothing read
    assert reader.calls == ["baseline", (0, SINCE, 40), (0, SINCE, 40), (0, SINCE, 40)]
    assert len(slept) == 2  # the outage was waited out, never published past
    assert made.replayed is not None and made.replayed.held() == {0: 1}


def test_a_checkpoint_without_positions_reads_nothing_back() -> None:
    reader = Reader(Published(frozenset({"x"}), 50))
    made, _ = _restorer(HeaderStore({0: 40}, {"format": 7}), reader)
    made.restore([0])
    assert reader.calls == ["baseline"]
    assert made.replayed is not None and made.replayed.held() == {}


def test_a_checkpoint_keeps_the_positions_and_one_without_them_restores() -> None:
    codec = CheckpointCodec(b"k" * 32)
    positions = OutputPositions()
    positions.raise_to("ns.alerts", {0: 3})
    store = TaskStore(MemoryCheckpoints(), codec, TaskConfig(), "ns", outputs=positions.snapshot)
    task = PartitionTask(0, TaskConfig())
    task.next_offset = 12
    store.save(task)
    restored = store.restore(0)
    assert restored is not None and restored.restored_from is not None
    assert restored.restored_from["outputs"] == {"ns.alerts": {"0": 3}}
    old = seal_task(task, codec, "ns")  # as a driftline before recorded positions sealed it
    again = restore_task(old, codec, TaskConfig(), 0)
    assert again.next_offset == 12 and "outputs" not in (again.restored_from or {})


def test_an_alerts_cause_is_in_its_headers_or_its_id() -> None:
    headers = {"driftline.source.partition": b"2", "driftline.source.offset": b"8"}
    assert cause_of(headers, "whatever") == (2, 8)
    assert cause_of({}, "2-8-promotion-fast-promoted") == (2, 8)
    assert cause_of({}, "not-an-id") is None


def _alert(alert_id: str, partition: int, offset: int) -> Any:
    return dataclasses.replace(alert(), alert_id=alert_id, partition=partition, offset=offset)
