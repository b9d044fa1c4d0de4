"""The ingest stage on in-memory ports: mapped, published, acknowledged, then committed."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from driftline.consumers.ingest import Ingest
from driftline.core.errors import PublishError
from driftline.core.events.model import Event
from driftline.core.events.records import SourceRecord
from driftline.core.sources.json_values import decode_json
from driftline.core.sources.mapping import RecordMapper
from driftline.core.sources.spec import SourceSpec
from tests.unit.consumers.worker_fakes import MemoryDeadLetters

T = 1_700_000_000  # event times in seconds since the epoch
SPEC = SourceSpec.model_validate(
    {
        "topics": {"observations": ["loans"], "outcomes": ["repaid"]},
        "format": {"type": "json"},
        "observation": {
            "key": "customer",
            "event_id": "loan",
            "event_time": "at",
            "time": "epoch_s",
            "features": ["amount"],
        },
        "outcome": {"event_id": "loan", "event_time": "at", "time": "epoch_s", "label": "bad"},
    }
)


def _decode(topic: str, raw: bytes | None) -> Any:
    return decode_json(raw)


def _record(topic: str, offset: int, body: Any, partition: int = 0) -> SourceRecord:
    value = body if isinstance(body, bytes) else json.dumps(body).encode()
    return SourceRecord(topic, partition, offset, b"k", value, 1_700_000_000_000 + offset)


class Reader:
    def __init__(self, batches: list[list[SourceRecord]]) -> None:
        self.batches = batches
        self.committed: list[dict[tuple[str, int], int]] = []
        self.rewound: list[dict[tuple[str, int], int]] = []
        self.closed = False
        self.has_partitions = True
        self.rejoined = 0
        #: Partitions with records the broker has and this reader has not returned yet.
        self.unread: set[tuple[str, int]] = set()

    def subscribe(self, on_revoked: Any) -> None:
        self.on_revoked = on_revoked

    def poll(self, timeout_ms: int, max_records: int) -> Sequence[SourceRecord]:
        return self.batches.pop(0) if self.batches else []

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> bool:
        self.committed.append(dict(offsets))
        return True

    def rewind(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.rewound.append(dict(offsets))

    def lag(self) -> int:
        return len(self.batches)

    def lagging(self) -> set[tuple[str, int]]:
        return set(self.unread)

    def close(self) -> None:
        self.closed = True

    def assigned(self) -> bool:
        return self.has_partitions

    def rejoin(self) -> None:
        self.rejoined += 1
        self.has_partitions = True


class Writer:
    def __init__(self, failures: int = 0) -> None:
        self.queued: list[tuple[Event, int, str]] = []
        self.sent: list[tuple[Event, int, str]] = []
        self.failures = failures

    def send(self, event: Event, *, timestamp_ms: int, route: str) -> None:
        self.queued.append((event, timestamp_ms, route))

    def discard(self) -> None:
        self.queued = []

    def flush(self) -> int:
        queued, self.queued = self.queued, []
        if self.failures:
            self.failures -= 1
            raise PublishError("not acknowledged", len(queued), None)
        self.sent.extend(queued)
        return len(queued)


def _ingest(reader: Reader, writer: Writer, letters: MemoryDeadLetters) -> Ingest:
    return Ingest(reader, writer, letters, _decode, RecordMapper(SPEC))


def test_records_are_mapped_published_and_only_then_committed():
    reader = Reader(
        [
            [
                _record("loans", 0, {"customer": "c1", "loan": 7, "at": T + 100, "amount": 5.0}),
                _record("repaid", 3, {"loan": 7, "at": T + 200, "bad": False}, partition=1),
            ]
        ]
    )
    writer, letters = Writer(), MemoryDeadLetters()
    ingest = _ingest(reader, writer, letters)
    assert ingest.step() == 2
    (obs, obs_ts, obs_route), (out, _, out_route) = writer.sent
    assert (obs.kind, obs.key, obs.event_id, obs.features) == (
        "observation",
        "c1",
        "7",
        {"amount": 5.0},
    )
    assert obs_ts == 1_700_000_000_000  # the user's record timestamp, not the republication
    # the outcome names its observation by event id only: both kinds route by it
    assert (out.kind, out.label, obs_route, out_route) == ("outcome", False, "7", "7")
    assert reader.committed == [{("loans", 0): 1, ("repaid", 1): 4}]
    assert ingest.stats.to_dict() == {
        "read": 2,
        "published": 2,
        "dead_lettered": 0,
        "retries": 0,
    }


def test_a_record_that_cannot_be_decoded_or_mapped_is_a_dead_letter_naming_its_place():
    reader = Reader(
        [
            [
                _record("loans", 4, b"{oops", partition=2),
                _record("loans", 5, {"customer": "c1", "loan": 8, "amount": 1.0}, partition=2),
                _record("loans", 6, {"customer": "c2", "loan": 9, "at": T + 1, "amount": 2.0}, 2),
            ]
        ]
    )
    writer, letters = Writer(), MemoryDeadLetters()
    _ingest(reader, writer, letters).step()
    assert [event.event_id for event, _, _ in writer.sent] == ["9"]
    assert [(d.topic, d.partition, d.offset) for d in letters.letters] == [
        ("loans", 2, 4),
        ("loans", 2, 5),
    ]
    assert letters.letters[0].reason == "source-undecodable"
    assert letters.letters[1].reason == "source-field-missing"
    assert "at" in letters.letters[1].detail and "loans[2]@5" in letters.letters[1].detail
    assert letters.letters[0].value == b"{oops"  # the original bytes, untouched
    assert reader.committed == [{("loans", 2): 7}]  # dead letters are accounted for


def test_a_batch_not_acknowledged_is_read_again_and_not_committed():
    batch = [_record("loans", 0, {"customer": "c1", "loan": 1, "at": T + 1, "amount": 1.0})]
    reader = Reader([batch])
    writer, letters = Writer(failures=1), MemoryDeadLetters()
    ingest = _ingest(reader, writer, letters)
    with pytest.raises(PublishError):
        ingest.step()
    assert reader.rewound == [{("loans", 0): 0}] and reader.committed == []
    reader.batches.append(batch)  # the rewound records come again
    assert ingest.step() == 1
    assert reader.committed == [{("loans", 0): 1}] and len(writer.sent) == 1


def test_run_waits_out_an_outage_and_stops_when_told():
    batch = [_record("loans", 0, {"customer": "c1", "loan": 1, "at": T + 1, "amount": 1.0})]
    reader = Reader([batch, batch])
    writer, letters = Writer(failures=1), MemoryDeadLetters()
    ingest = Ingest(reader, writer, letters, _decode, RecordMapper(SPEC), retry_first_s=0)
    stop = threading.Event()
    original = ingest.step

    def step() -> int:
        done = original()
        if ingest.caught_up.is_set():
            stop.set()
        return done

    ingest.step = step  # type: ignore[method-assign]
    ingest.run(stop)
    assert ingest.stats.retries == 1 and len(writer.sent) == 1 and reader.closed
    assert ingest.backlog() == 0


def test_a_backlog_of_two_topics_is_republished_in_timestamp_order():
    def at(topic: str, offset: int, ts: int, body: dict[str, Any]) -> SourceRecord:
        return SourceRecord(topic, 0, offset, b"k", json.dumps(body).encode(), ts)

    observations = [
        at("loans", i, 1000 * i, {"customer": "c", "loan": i, "at": T + i, "amount": 1.0})
        for i in range(4)
    ]
    outcomes = [
        at("repaid", i, 1000 * i + 500, {"loan": i, "at": T + i, "bad": True}) for i in range(4)
    ]
    # the observations' whole backlog comes first; the outcome topic still has unread records
    reader = Reader([observations, outcomes])
    reader.unread = {("repaid", 0)}
    writer, letters = Writer(), MemoryDeadLetters()
    ingest = _ingest(reader, writer, letters)
    assert ingest.step() == 0  # nothing goes while the outcomes may be older
    reader.unread = set()
    assert ingest.step() == 8
    assert [(e.kind, e.event_id) for e, _, _ in writer.sent] == [
        (kind, str(i)) for i in range(4) for kind in ("observation", "outcome")
    ]
    assert reader.committed == [{("loans", 0): 4, ("repaid", 0): 4}]


def test_revoked_partitions_drop_what_is_held_of_them():
    reader = Reader([[_record("loans", 0, {"customer": "c", "loan": 1, "at": T, "amount": 1.0})]])
    reader.unread = {("repaid", 0)}
    ingest = _ingest(reader, Writer(), MemoryDeadLetters())
    ingest.reader.subscribe(ingest.merge.forget)
    assert ingest.step() == 0 and ingest.merge.held() == {("loans", 0): 1}
    reader.on_revoked({("loans", 0)})
    assert ingest.merge.held() == {}


def test_held_records_are_released_anyway_past_the_bound():
    records = [
        _record("loans", i, {"customer": "c", "loan": i, "at": T + i, "amount": 1.0})
        for i in range(3)
    ]
    reader = Reader([records])
    reader.unread = {("repaid", 0)}  # for ever behind
    writer = Writer()
    ingest = Ingest(reader, writer, MemoryDeadLetters(), _decode, RecordMapper(SPEC), max_held=2)
    assert ingest.step() == 3 and len(writer.sent) == 3


def test_a_member_left_without_partitions_rejoins_its_group():
    reader = Reader([])
    reader.has_partitions = False
    clock = [0.0]
    ingest = Ingest(
        reader,
        Writer(),
        MemoryDeadLetters(),
        _decode,
        RecordMapper(SPEC),
        rejoin_after_s=10,
        monotonic=lambda: clock[0],
    )
    stop = threading.Event()
    original = ingest.step

    def step() -> int:
        clock[0] += 4
        if reader.rejoined:
            stop.set()
        return original()

    ingest.step = step  # type: ignore[method-assign]
    ingest.run(stop)
    assert reader.rejoined == 1 and clock[0] >= 12
