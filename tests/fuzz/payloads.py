"""Arbitrary bytes read as a stream of Kafka records for one partition.

A :class:`ByteSource` reads choices from the fuzzer's bytes (zeros once they run out, as
atheris' ``FuzzedDataProvider`` does), so atheris, hypothesis and a seeded
:class:`random.Random` all drive the same generator. :class:`RecordFactory` keeps the
stream's state (its clock, recent ids, recent values) across batches, so outcomes find
their observations, duplicates repeat real records and times move on.

Each record is one of: no value (a tombstone), raw random bytes, the wire header over a
random body, a valid observation or outcome (ids that match, come early, repeat), a valid
encoding mutated (bits flipped, truncated, extended, schema id swapped), an event written
straight to Avro past the model's rules (non-finite and extreme numbers, int64 edges, long
and odd text, many features, times at and beyond the bounds), a watermark tick, an exact
copy of a recent record, or (rarely) a value over the size limit; keys match, mismatch, are
missing or are not UTF-8; ingest times are mostly near the event time, sometimes at the
edges of what a Kafka timestamp can hold.

>>> factory = RecordFactory()
>>> records = factory.batch(ByteSource(bytes(range(200))), limit=8)
>>> 1 <= len(records) <= 8, [r.offset for r in records] == list(range(len(records)))
(True, True)
>>> ByteSource(b"").below(10), ByteSource(b"\\x07").below(5)
(0, 2)
"""

from __future__ import annotations

import io
import struct
from collections import deque
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import fastavro

from driftline.core.events.codec import TICK_SCHEMA_ID, EventCodec
from driftline.core.events.model import Observation, Outcome, avro_schema
from driftline.core.events.records import InputRecord
from driftline.core.events.ticks import WatermarkTick, tick_schema
from driftline.core.learning.models import ModelKind
from driftline.core.times import MAX_EVENT_TIME, MIN_EVENT_TIME, epoch_micros, to_millis

__all__ = ["ByteSource", "RecordFactory"]

T = TypeVar("T")
_KINDS = ("observation", "outcome")

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
T0 = datetime(2024, 1, 1, tzinfo=UTC)
#: The millisecond range a Python datetime holds (Kafka's int64 timestamps go far beyond).
DATETIME_MIN_MS = to_millis(datetime.min.replace(tzinfo=UTC))
DATETIME_MAX_MS = to_millis(datetime.max.replace(tzinfo=UTC))
#: Latest ingest time whose lateness still fits the lateness histogram (~158 years).
HISTOGRAM_SAFE_MS = to_millis(MIN_EVENT_TIME) + 5 * 10**12

FLOATS = [0.0, -0.0, 1.0, -1.5, 0.1, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-300,
          1e6, 1e6 + 1, 999_999_999_999_999.9, 1e15, -1e15, 1.0000000000000002e15, 1e16,
          2.0**53, 2.0**53 + 2, 1e300, 1.7976931348623157e308, -1.7976931348623157e308,
          float("inf"), float("-inf"), float("nan")]  # fmt: skip
INTS = [0, 1, -1, 2, 7, 2**31 - 1, -(2**31), 2**53 + 1, 10**15, 10**15 + 1, -(10**15) - 1,
        INT64_MAX, INT64_MIN, INT64_MAX - 1]  # fmt: skip
ODD_TEXT = ["", " ", "\x00", "é", "e\u0301", "\u202eevil", "\u200b", "\ufeff", "\uffff",
            "\U0001f600", "\U0001d54f", "\U0010ffff", "中文", "a\nb", "\\", '"', "null",
            "NaN", "-inf", "1e308", "2024-01-01T00:00:00Z", "ｘ", "İ", "ß"]  # fmt: skip
NAMES = ["x", "y", "carrier", "distance", "temp", "flag", "key", "hour", "lateness_s",
         "recent_label[key]", "month_sin"]  # fmt: skip
KEYS = ["k0", "k1", "k2", "EWR", "é\u0301", "\U0001f600"]
TIME_EDGES_US = [epoch_micros(MIN_EVENT_TIME) - 1, epoch_micros(MIN_EVENT_TIME),
                 epoch_micros(MAX_EVENT_TIME) - 1, epoch_micros(MAX_EVENT_TIME), 0, -1,
                 INT64_MIN, INT64_MAX, epoch_micros(datetime.max.replace(tzinfo=UTC)),
                 epoch_micros(datetime.max.replace(tzinfo=UTC)) + 1]  # fmt: skip
#: Steps of the stream's clock per record: mostly small, now and then past the pending TTL.
#: Record timestamps at the edges: of event times, of the histogram, of datetime, of int64.
INGEST_EDGES_MS = [0, -1, to_millis(MIN_EVENT_TIME) - 1, to_millis(MAX_EVENT_TIME),
                   HISTOGRAM_SAFE_MS + 1, DATETIME_MAX_MS - 1, DATETIME_MAX_MS,
                   DATETIME_MIN_MS, DATETIME_MAX_MS + 1, DATETIME_MIN_MS - 1, 10**15,
                   INT64_MAX, INT64_MIN]  # fmt: skip
CLOCK_STEPS_MS = [0, 0, 1, 10, 1_000, 1_000, 5_000, 30_000, 30_000, 600_000] * 6 + [
    3_600_000,
    8 * 86_400_000,
]
LATENESS_MS = [0, 0, 5, 1_000, 60_000, 3_600_000, 10 * 86_400_000, -100_000, -400_000]


class ByteSource:
    """Choices read from fuzz bytes, little-endian; zeros once the bytes run out."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return max(0, len(self._data) - self._pos)

    def take(self, n: int) -> bytes:
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk.ljust(n, b"\x00")

    def uint(self, nbytes: int) -> int:
        return int.from_bytes(self.take(nbytes), "little")

    def below(self, n: int) -> int:
        """An int in ``[0, n)``."""
        return 0 if n <= 1 else self.uint(((n - 1).bit_length() + 7) // 8) % n

    def pick(self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]

    def chance(self, percent: int) -> bool:
        return self.below(100) < percent

    def double(self) -> float:
        value: float = struct.unpack("<d", self.take(8))[0]
        return value

    def int64(self) -> int:
        return int.from_bytes(self.take(8), "little", signed=True)

    def text(self, max_len: int = 24) -> str:
        n = self.below(max_len + 1)
        return "".join(self.pick(ODD_TEXT) or "a" for _ in range(min(n, 8))) + "x" * max(0, n - 8)


#: Record categories with their weights (out of 100).
CATEGORIES: list[tuple[str, int]] = [
    ("observation", 24), ("outcome", 20), ("mutated", 15), ("tombstone", 3), ("random", 7),
    ("header", 7), ("extreme-observation", 8), ("extreme-outcome", 6), ("tick", 5),
    ("copy", 5),
]  # fmt: skip


class RecordFactory:
    """The records of one partition, built from fuzz bytes; state carries across batches.

    ``avoid`` names findings (see :data:`tests.fuzz.harness.KNOWN_FINDINGS`) whose
    triggers are not generated, so a long campaign can look past a defect already filed.
    """

    def __init__(
        self,
        kind: ModelKind = "classification",
        max_record_bytes: int = 1 << 20,
        avoid: Collection[str] = (),
        max_batch: int = 32,
    ) -> None:
        self.kind = kind
        self.max_record_bytes = max_record_bytes
        self.avoid = frozenset(avoid)
        self.max_batch = max_batch
        self.codec = EventCodec()
        self._schemas = {k: fastavro.parse_schema(avro_schema(k)) for k in _KINDS}
        self._tick_schema = fastavro.parse_schema(tick_schema())
        self.clock_ms = to_millis(T0)
        self.offset = 0
        self.serial = 0
        self.observed: deque[tuple[str, str]] = deque(maxlen=64)
        self.resolved: deque[tuple[str, str]] = deque(maxlen=16)
        self.early: deque[tuple[str, str]] = deque(maxlen=32)
        self.values: deque[tuple[bytes | None, bytes | None]] = deque(maxlen=32)
        upper = HISTOGRAM_SAFE_MS if "lateness-beyond-histogram" in self.avoid else None
        if "tick-at-datetime-max" in self.avoid:
            upper = min(upper or DATETIME_MAX_MS, DATETIME_MAX_MS - 86_400_000)
        edges = [*INGEST_EDGES_MS]
        if "ingest-time-out-of-range" in self.avoid:
            edges = [e for e in edges if DATETIME_MIN_MS <= e <= DATETIME_MAX_MS]
        self.ingest_edges = [e for e in edges if upper is None or e <= upper]

    # -- the stream ------------------------------------------------------------------------
    def batch(self, src: ByteSource, limit: int | None = None) -> list[InputRecord]:
        """One batch of 1 to ``max_batch`` records (at most ``limit``)."""
        size = 1 + src.below(self.max_batch)
        if limit is not None:
            size = max(1, min(size, limit))
        return [self.record(src) for _ in range(size)]

    def record(self, src: ByteSource) -> InputRecord:
        self.clock_ms += src.pick(CLOCK_STEPS_MS)
        if self.clock_ms >= to_millis(MAX_EVENT_TIME) - 10**11:
            self.clock_ms = to_millis(T0)  # a replay from the start: times go back
        category = _weighted(src, CATEGORIES)
        event_ms = self.clock_ms
        key: bytes | None
        value: bytes | None
        if category == "copy" and self.values:
            key, value = src.pick(list(self.values))
        elif category == "tombstone":
            key, value = self._key(src, src.pick(KEYS)), None
        elif category == "random":
            key, value = self._key(src, src.pick(KEYS)), src.take(src.below(96))
        elif category == "header":
            schema_id = src.pick([1, 2, TICK_SCHEMA_ID, 0, 4, 2**32 - 1])
            head = struct.pack(">bI", src.pick([0, 0, 0, 1, -1]), schema_id)
            key, value = self._key(src, src.pick(KEYS)), head + src.take(src.below(64))
        elif category in ("tick", "observation", "outcome", "mutated"):
            valid = category
            if category == "mutated":
                valid = _weighted(src, [("observation", 50), ("outcome", 35), ("tick", 15)])
            if valid == "tick":
                key, value = None, self._tick("worker-1" if src.chance(90) else "w" * 257)
            elif valid == "observation":
                text_key, value = self._observation(src, event_ms)
                key = self._key(src, text_key)
            else:
                text_key, value = self._outcome(src, event_ms)
                key = self._key(src, text_key)
        elif category == "extreme-observation":
            key, value = self._extreme(src, "observation", event_ms)
        else:
            key, value = self._extreme(src, "outcome", event_ms)
        if category == "mutated" and value is not None:
            value = _mutate(src, value)
        if src.below(4000) == 3999:  # rare: over the size limit
            value = struct.pack(">bI", 0, 1) + bytes(self.max_record_bytes)
        self.values.append((key, value))
        record = InputRecord(0, self.offset, key, value, self._ingest(src, event_ms))
        self.offset += 1
        return record

    # -- parts -----------------------------------------------------------------------------
    def _ingest(self, src: ByteSource, event_ms: int) -> int:
        if not src.chance(96):
            return src.pick(self.ingest_edges)
        return event_ms + src.pick(LATENESS_MS) + src.below(1000)

    def _key(self, src: ByteSource, text_key: str) -> bytes | None:
        if src.chance(88):
            return text_key.encode()
        options: list[bytes | None] = [None, b"", b"\xff\xfe", text_key.encode() + b"\x00"]
        return src.pick([*options, src.pick(KEYS).encode()])

    def _fresh_id(self) -> str:
        self.serial += 1
        return f"e{self.serial}"

    def _observation(self, src: ByteSource, event_ms: int) -> tuple[str, bytes]:
        if self.early and src.chance(25):
            event_id, key = self.early.popleft()  # its outcome came first
        elif self.observed and not src.chance(97):
            event_id, key = src.pick(list(self.observed))  # same id, new content
        else:
            event_id, key = self._fresh_id(), src.pick(KEYS)
        features: dict[str, Any] = {}
        for name in NAMES[: src.below(6)]:
            features[name] = src.pick(
                [
                    src.below(100) / 10,
                    src.below(1000),
                    src.pick(["UA", "AA", "DL"]),
                    None,
                    src.chance(50),
                ]  # fmt: skip
            )
        when = datetime.fromtimestamp(event_ms / 1000, tz=UTC)
        obs = Observation(event_id=event_id, key=key, event_time=when, features=features)
        self.observed.append((event_id, key))
        return key, self.codec.encode(obs)

    def _outcome(self, src: ByteSource, event_ms: int) -> tuple[str, bytes]:
        roll = src.below(100)
        if roll < 65 and self.observed:
            event_id, key = src.pick(list(self.observed))
        elif roll < 75 and self.resolved:
            event_id, key = src.pick(list(self.resolved))
        elif roll < 92:
            event_id, key = self._fresh_id(), src.pick(KEYS)
            self.early.append((event_id, key))
        else:
            event_id, key = f"never-{src.below(50)}", src.pick(KEYS)
        label: Any = src.chance(50) if self.kind == "classification" else src.below(200) - 100.5
        if self.kind == "classification" and not src.chance(95):
            label = src.pick([0, 1])
        when = datetime.fromtimestamp(event_ms / 1000, tz=UTC) + timedelta(
            seconds=src.pick([0, 1, 60, -60])
        )
        outcome = Outcome(event_id=event_id, key=key, event_time=when, label=label)
        self.resolved.append((event_id, key))
        return key, self.codec.encode(outcome)

    def _tick(self, source: str) -> bytes:
        if len(source) <= 256:
            return self.codec.encode_tick(WatermarkTick(source=source))
        buffer = io.BytesIO(struct.pack(">bI", 0, TICK_SCHEMA_ID))
        buffer.seek(0, io.SEEK_END)
        fastavro.schemaless_writer(buffer, self._tick_schema, {"source": source})
        return buffer.getvalue()

    def _extreme(self, src: ByteSource, kind: str, event_ms: int) -> tuple[bytes | None, bytes]:
        """An event written straight to Avro: the model's rules are for the decoder to apply."""
        pool = [*self.observed, *self.early] if kind == "outcome" else list(self.early)
        if pool and src.chance(50):
            event_id, key = src.pick(pool)
        else:
            event_id = src.pick([self._fresh_id(), "", "i" * 256, "i" * 257, src.text()])
            key = src.pick([*KEYS, "", "k" * 257, src.text()])
        micros = event_ms * 1000 if src.chance(75) else src.pick(TIME_EDGES_US)
        fields: dict[str, Any] = {"event_id": event_id, "key": key, "event_time": micros}
        if kind == "observation":
            count = (
                src.pick([0, 1, 2, 3, 5, 8, 30])
                if src.chance(97)
                else src.pick([999, 1000, 1001, 1100])
            )
            fields["features"] = {self._name(src, i): self._value(src) for i in range(count)}
        else:
            fields["label"] = self._label(src)
        buffer = io.BytesIO()
        buffer.write(struct.pack(">bI", 0, 1 if kind == "observation" else 2))
        try:
            fastavro.schemaless_writer(buffer, self._schemas[kind], fields)
        except (ValueError, TypeError, UnicodeError, OverflowError):
            return key.encode(errors="replace"), src.take(src.below(64))
        return self._key(src, key), buffer.getvalue()

    def _name(self, src: ByteSource, index: int) -> str:
        roll = src.below(10)
        if roll < 6:
            return f"{src.pick(NAMES)}{index}" if roll else src.pick(NAMES)
        return src.pick(["", "n" * 128, "n" * 129, src.text(), f"f{index}"])

    def _value(self, src: ByteSource) -> Any:
        roll = src.below(7)
        if roll == 0:
            return src.pick(FLOATS)
        if roll == 1:
            return src.pick(INTS)
        if roll == 2:
            return src.double()  # any 64 bits: NaNs with payloads, subnormals
        if roll == 3:
            return src.int64()
        if roll == 4:
            return src.pick(["", "x" * 1024, "x" * 1025, "y" * 3000, src.text(40)])
        return src.pick([None, True, False, src.below(100) / 7])

    def _label(self, src: ByteSource) -> Any:
        texts = ["", "yes", "x" * 1025, src.text()]
        if "text-label-on-classifier" in self.avoid and self.kind == "classification":
            texts = ["x" * 1025, "y" * 5000]  # refused for length before the model sees them
        roll = src.below(5)
        if roll == 0:
            return src.pick(FLOATS)
        if roll == 1:
            return src.pick(INTS)
        if roll == 2:
            return src.pick(texts)
        return src.pick([True, False, src.double(), src.int64()])


def _weighted(src: ByteSource, options: list[tuple[str, int]]) -> str:
    roll = src.below(sum(w for _, w in options))
    for name, weight in options:
        if roll < weight:
            return name
        roll -= weight
    return options[-1][0]


def _mutate(src: ByteSource, value: bytes) -> bytes:
    """1 to 4 edits: flip a bit, set a byte, truncate, extend, insert, delete, swap the id."""
    out = bytearray(value)
    for _ in range(1 + src.below(4)):
        op = src.below(7)
        at = src.below(len(out) + 1)
        if op == 0 and out:
            out[min(at, len(out) - 1)] ^= 1 << src.below(8)
        elif op == 1 and out:
            out[min(at, len(out) - 1)] = src.pick([0x00, 0xFF, 0x7F, 0x80, 0x01, src.below(256)])
        elif op == 2:
            del out[at:]
        elif op == 3:
            out += src.take(1 + src.below(16))
        elif op == 4:
            out[at:at] = src.take(1 + src.below(8))
        elif op == 5:
            del out[at : at + 1 + src.below(8)]
        elif len(out) >= 5:
            out[4] = src.pick([1, 2, TICK_SCHEMA_ID])
    return bytes(out)
