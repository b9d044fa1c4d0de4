"""In-memory implementations of the worker's Protocols, for pure unit tests of the loop.

:class:`MemoryTopic` is a topic (per-partition logs, a broker clock stamping ingest times)
shared by :class:`MemorySource` members of one group; :class:`MemoryTicks` appends ticks to
it, as the broker would.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from driftline.consumers.ports import RebalanceListener
from driftline.consumers.tasks import SealedTask
from driftline.core.errors import ServiceUnavailable
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation, Outcome
from driftline.core.events.records import Alert, DeadLetter, InputRecord, Prediction
from driftline.core.events.ticks import WatermarkTick
from driftline.core.quality.figures import QualityFinding


@dataclass
class Clock:
    """Monotonic seconds, moved by the tests and by empty polls."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class MemoryTopic:
    """Partitioned logs with a broker clock (ms) that stamps each appended record."""

    partitions: int
    clock: Clock = field(default_factory=Clock)
    base_ms: int = 1_700_000_000_000
    logs: dict[int, list[InputRecord]] = field(default_factory=dict)
    committed: dict[str, dict[int, int]] = field(default_factory=dict)  # by group
    codec: EventCodec = field(default_factory=EventCodec)
    #: The next offset of each partition (above the last record's after a gap).
    ends: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.logs = {p: [] for p in range(self.partitions)}
        self.ends = {p: 0 for p in range(self.partitions)}

    def append(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        offset = self.ends[partition]
        self.logs[partition].append(InputRecord(partition, offset, key, value, self.broker_ms))
        self.ends[partition] = offset + 1

    def gap(self, partition: int, offsets: int = 1) -> None:
        """Offsets that hold no record, as a transaction's commit marker takes one."""
        self.ends[partition] += offsets

    def read(self, partition: int, position: int, count: int) -> list[InputRecord]:
        """Up to ``count`` records at or above offset ``position``."""
        log = self.logs[partition]
        first = bisect.bisect_left([r.offset for r in log], position)
        return log[first : first + count]

    @property
    def broker_ms(self) -> int:
        """The broker's clock: LogAppendTime of a record appended now."""
        return self.base_ms + int(self.clock.now * 1000)

    def publish(self, event: Observation | Outcome, partition: int = 0) -> None:
        self.append(partition, event.key.encode(), self.codec.encode(event))

    def end(self, partition: int) -> int:
        return self.ends[partition]


class MemorySource:
    """One group member reading a :class:`MemoryTopic`; the test decides the assignment."""

    def __init__(
        self,
        topic: MemoryTopic,
        assign: Iterable[int] | None = None,
        poll_cost_s: float = 0.0,
        group: str = "workers",
    ):
        self.topic = topic
        self.committed = topic.committed.setdefault(group, {})
        self.clock = topic.clock
        self.poll_cost_s = poll_cost_s
        self.initial = set(range(topic.partitions)) if assign is None else set(assign)
        self.assigned: set[int] = set()
        self.positions: dict[int, int] = {}
        self.listener: RebalanceListener | None = None
        self.polls: list[int] = []  # the max_records of each poll
        self.commits: list[dict[int, int]] = []
        self.closed = False
        self.keepalives = 0

    def subscribe(self, listener: RebalanceListener) -> None:
        self.listener = listener
        self.assign(self.initial)

    def assign(self, partitions: Iterable[int]) -> None:
        added = set(partitions) - self.assigned
        for p in added:
            self.positions[p] = self.committed.get(p, 0)
        self.assigned |= added
        assert self.listener is not None
        self.listener.on_assigned(added)

    def revoke(self, partitions: Iterable[int]) -> None:
        gone = set(partitions) & self.assigned
        assert self.listener is not None
        self.listener.on_revoked(gone)
        self.assigned -= gone

    def poll(self, timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        self.polls.append(max_records)
        batch: dict[int, list[InputRecord]] = {}
        budget = max_records
        share = max(1, max_records // max(1, len(self.assigned)))  # every partition gets a turn
        for p in sorted(self.assigned):
            take = self.topic.read(p, self.positions[p], min(share, budget))
            if take:
                batch[p] = take
                self.positions[p] = take[-1].offset + 1
                budget -= len(take)
            if budget <= 0:
                break
        self.clock.now += self.poll_cost_s if batch else timeout_ms / 1000
        return batch

    def assignment(self) -> set[int]:
        return set(self.assigned)

    def beginning_offset(self, partition: int) -> int:
        return 0

    def lag(self) -> int:
        return sum(self.lags().values())

    def lags(self, fresh: bool = False) -> dict[int, int]:
        return {p: self.topic.end(p) - self.positions[p] for p in self.assigned}

    def seek(self, partition: int, offset: int) -> None:
        self.positions[partition] = offset

    def commit(self, offsets: Mapping[int, int]) -> bool:
        self.commits.append(dict(offsets))
        self.committed.update(offsets)
        return True

    def keepalive(self) -> None:
        self.keepalives += 1

    def close(self) -> None:
        self.closed = True


class MemorySink:
    def __init__(self) -> None:
        self.predictions: list[Prediction] = []
        self.snapshots: dict[int, dict[str, Any]] = {}
        self.points: list[dict[str, Any]] = []
        self.findings: list[QualityFinding] = []
        self.alerts: dict[str, Alert] = {}

    def write(self, predictions: Sequence[Prediction], snapshots: Iterable[dict[str, Any]]) -> int:
        self.predictions += predictions
        for snap in snapshots:
            self.snapshots[snap["partition"]] = snap
        return len(predictions)

    def record(
        self,
        points: Sequence[dict[str, Any]],
        alerts: Sequence[Alert],
        findings: Sequence[QualityFinding] = (),
    ) -> None:
        self.findings += findings
        self.points += points
        for alert in alerts:  # kept once per id, as the Redis alerts stream does
            self.alerts.setdefault(alert.alert_id, alert)


class MemoryDeadLetters:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def publish(self, letters: Sequence[DeadLetter]) -> None:
        self.letters += letters


class MemoryCheckpoints:
    """A checkpoint store that remembers every save, in order, and the last ``keep`` of
    each partition by offset."""

    def __init__(self, keep: int = 10) -> None:
        self.blobs: dict[int, bytes] = {}
        self.saves: list[int] = []
        self.kept: dict[int, dict[int, bytes]] = {}
        self.keep = max(keep, 1)

    def load(self, partition: int) -> bytes | None:
        return self.blobs.get(partition)

    def save(self, partition: int, blob: bytes, offset: int | None = None) -> None:
        self.blobs[partition] = blob
        self.saves.append(partition)
        if offset is not None and self.keep > 1:
            entries = self.kept.setdefault(partition, {})
            entries[offset] = blob
            for old in sorted(entries)[: -self.keep]:
                del entries[old]

    def all(self) -> dict[int, bytes]:
        return dict(self.blobs)

    def history(self, partition: int) -> list[tuple[int, bytes]]:
        return sorted(self.kept.get(partition, {}).items(), reverse=True)

    def load_at(self, partition: int, offset: int) -> bytes | None:
        return self.kept.get(partition, {}).get(offset)

    def partitions(self) -> list[int]:
        return sorted(set(self.blobs) | {p for p, e in self.kept.items() if e})

    def clear(self) -> int:
        n = len(self.blobs)
        self.blobs.clear()
        self.kept.clear()
        return n


class MemoryTicks:
    """Appends watermark ticks to the topic, stamped by its broker clock."""

    def __init__(self, topic: MemoryTopic) -> None:
        self.topic = topic
        self.value = topic.codec.encode_tick(WatermarkTick(source="test"))
        self.written: list[int] = []

    def tick(self, partitions: Iterable[int]) -> int:
        count = 0
        for p in partitions:
            self.topic.append(p, None, self.value)
            self.written.append(p)
            count += 1
        return count


class StubTask:
    """A stand-in for a partition's task with what the loop's collaborators read of it:
    its partition and next offset, event time seen, watermark, snapshot and quality counts."""

    def __init__(self, partition: int, next_offset: int | None = None) -> None:
        self.partition = partition
        self.next_offset = next_offset
        self.model_version = 1
        self.max_event_time: Any = None
        self.watermark: Any = None
        self.quality = _StubQuality()

    def snapshot(self) -> dict[str, Any]:
        return {"partition": self.partition, "quality": {}, "next_offset": self.next_offset}


@dataclass
class _StubQuality:
    rules: dict[str, int] = field(default_factory=dict)


class StubTaskStore:
    """Tasks by partition as their checkpoints hold them: ``saved`` has each save's
    (partition, next offset), in order; ``down`` refusals come first (an outage)."""

    def __init__(self, checkpoints: dict[int, int] | None = None, down: int = 0) -> None:
        self.checkpoints = dict(checkpoints or {})
        self.saved: list[tuple[int, int | None]] = []
        self.down = down

    def _outage(self) -> None:
        if self.down:
            self.down -= 1
            raise ServiceUnavailable("the checkpoint store did not answer")

    def restore(self, partition: int) -> StubTask | None:
        self._outage()
        offset = self.checkpoints.get(partition)
        return None if offset is None else StubTask(partition, offset)

    def fresh(self, partition: int) -> StubTask:
        return StubTask(partition)

    def save(self, task: StubTask) -> int:
        self._outage()
        self.saved.append((task.partition, task.next_offset))
        if task.next_offset is not None:
            self.checkpoints[task.partition] = task.next_offset
        return 100 + task.partition

    def seal(self, task: StubTask) -> SealedTask:
        return SealedTask(task.partition, b"", task.next_offset)

    def store_sealed(self, sealed: SealedTask) -> int:
        return self.save(StubTask(sealed.partition, sealed.next_offset))


class MemoryFence:
    """Claims in memory: ``claimed`` is each partition's latest epoch."""

    def __init__(self, claimed: dict[int, int]) -> None:
        self.claimed = claimed
        self.asked: list[dict[int, int]] = []

    def claim(self, partition: int) -> int:
        self.claimed[partition] = self.claimed.get(partition, 0) + 1
        return self.claimed[partition]

    def taken(self, epochs: Any) -> set[int]:
        self.asked.append(dict(epochs))
        return {p for p, epoch in epochs.items() if self.claimed.get(p, epoch) != epoch}
