"""The direct reader of event bodies answers exactly what fastavro does, or leaves it to it."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.core.events.avro_direct import read_observation, read_outcome
from driftline.core.events.codec import _FAST, EventCodec
from driftline.core.events.model import Observation, Outcome, avro_schema

PARSED = {kind: fastavro.parse_schema(avro_schema(kind)) for kind in ("observation", "outcome")}
READERS = {"observation": read_observation, "outcome": read_outcome}
HEADER = b"\x00\x00\x00\x00\x01"

TEXT = st.one_of(st.text(max_size=4), st.text(min_size=60, max_size=200))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The codec's bounds on an event's time (1990 to 2100), in microseconds since the epoch.
LOW, HIGH = 631_152_000_000_000, 4_102_444_800_000_000
MICROS = st.one_of(
    st.integers(min_value=-(2**62), max_value=2**62),
    st.integers(min_value=-(10**17), max_value=10**17),
    st.integers(min_value=LOW, max_value=HIGH - 1),  # in bounds: the usual case
    st.sampled_from([LOW - 1, LOW, HIGH - 1, HIGH, 2**55 - 1, 2**55]),  # the edges
)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.text(max_size=70),
)


def _body(kind: str, fields: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, PARSED[kind], fields)
    return out.getvalue()


def _fastavro(kind: str, raw: bytes) -> dict[str, Any] | None:
    """fastavro's fields for ``raw`` (after a header), ``None`` if it refuses or leaves bytes."""
    body = io.BytesIO(raw)
    body.seek(len(HEADER))
    try:
        fields = fastavro.schemaless_reader(body, PARSED[kind], None)
    except Exception:  # noqa: BLE001 - any refusal
        return None
    return fields if body.tell() == len(raw) else None  # type: ignore[return-value]


def _checked(kind: str, raw: bytes) -> dict[str, Any] | None:
    """fastavro's fields for ``raw`` if the codec's cheap checks pass them, else ``None``."""
    fields = _fastavro(kind, raw)
    return fields if fields is not None and _FAST[kind](dict(fields)) is not None else None


def _same(kind: str, raw: bytes) -> dict[str, Any] | None:
    direct = READERS[kind](raw, len(HEADER))
    if direct is not None:  # an answer must be fastavro's, to the last field, and pass
        reference = _checked(kind, raw)
        assert reference is not None, raw
        assert repr(direct) == repr(reference)  # repr: NaN equals NaN, 0.0 differs from -0.0
        assert type(direct["event_time"].tzinfo) is type(reference["event_time"].tzinfo)
        assert list(direct) == list(reference)  # the model's field order
    return direct


@settings(max_examples=400, deadline=None)
@given(
    event_id=TEXT,
    key=TEXT,
    micros=MICROS,
    features=st.dictionaries(TEXT, VALUES, max_size=12),
)
def test_observations_read_as_fastavro_does(event_id, key, micros, features):
    raw = HEADER + _body(
        "observation",
        {"event_id": event_id, "key": key, "event_time": micros, "features": features},
    )
    # A body fastavro reads and the codec's checks pass is read directly (one fastavro
    # refuses, such as a time beyond datetime's range, or the checks refuse, such as an
    # empty name or a NaN, is left to it).
    assert (_same("observation", raw) is None) == (_checked("observation", raw) is None)


@settings(max_examples=300, deadline=None)
@given(event_id=TEXT, key=TEXT, micros=MICROS, label=VALUES.filter(lambda v: v is not None))
def test_outcomes_read_as_fastavro_does(event_id, key, micros, label):
    raw = HEADER + _body(
        "outcome", {"event_id": event_id, "key": key, "event_time": micros, "label": label}
    )
    assert (_same("outcome", raw) is None) == (_checked("outcome", raw) is None)


@settings(max_examples=1500, deadline=None)
@given(
    kind=st.sampled_from(["observation", "outcome"]),
    features=st.dictionaries(st.text(max_size=3), VALUES, max_size=4),
    cuts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=400), st.integers(0, 255)), max_size=4
    ),
    trim=st.integers(min_value=0, max_value=3),
    tail=st.binary(max_size=3),
)
def test_corrupted_bodies_are_read_as_fastavro_reads_them_or_left_to_it(
    kind, features, cuts, trim, tail
):
    fields: dict[str, Any] = {"event_id": "e1", "key": "k", "event_time": 1_700_000_000_000_000}
    fields |= {"features": features} if kind == "observation" else {"label": 3.5}
    raw = bytearray(HEADER + _body(kind, fields))
    for at, byte in cuts:
        if len(HEADER) <= at < len(raw):
            raw[at] = byte
    _same(kind, bytes(raw[: len(raw) - trim]) + tail)


def _varint(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def test_a_map_in_sized_blocks_reads_as_fastavro_reads_it():
    # Avro lets a writer announce a block with a negative count followed by its size.
    head = _body("outcome", {"event_id": "e", "key": "k", "event_time": LOW + 5, "label": True})
    head = head[:-2]
    entry = _varint(1) + b"x" + _varint(3) + struct.pack("<d", 2.0)
    body = head + _varint(-1) + _varint(len(entry)) + entry + _varint(0)
    assert _same("observation", HEADER + body) == {
        "event_id": "e",
        "key": "k",
        "event_time": datetime(1990, 1, 1, 0, 0, 0, 5, tzinfo=UTC),
        "features": {"x": 2.0},
    }


PREFIX = b"\x02e\x02k" + _varint(LOW)  # event_id "e", key "k", the earliest time allowed
DOUBLE = b"\x06"  # the union branch of a double


@pytest.mark.parametrize(
    "body",
    [
        b"",  # nothing
        _varint(1),  # a string cut short
        _varint(-3) + b"abc",  # a negative length
        b"\x02e\x02k" + b"\xff" * 9 + b"\x02" + b"\x00",  # a varint beyond 64 bits
        PREFIX + _varint(1) + b"\x02x" + b"\x0a" + b"\x00",  # union branch 5
        PREFIX + _varint(1) + b"\x02\xff" + b"\x00" + b"\x00",  # invalid UTF-8
        PREFIX + b"\x00\x00",  # trailing bytes after the map
    ],
)
def test_what_it_cannot_read_exactly_is_left_to_fastavro(body: bytes):
    assert read_observation(HEADER + body, len(HEADER)) is None


def _feature(name: str, value: bytes) -> bytes:
    return _varint(1) + _varint(len(name.encode())) + name.encode() + value + _varint(0)


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x02k" + _varint(LOW) + b"\x00",  # an empty event id
        b"\x02e" + _varint(257) + b"k" * 257 + _varint(LOW) + b"\x00",  # a key too long
        b"\x02e\x02k" + _varint(LOW - 1) + b"\x00",  # a time before 1990
        b"\x02e\x02k" + _varint(HIGH) + b"\x00",  # a time from 2100
        PREFIX + _feature("", DOUBLE + struct.pack("<d", 1.0)),  # an empty name
        PREFIX + _feature("n" * 129, DOUBLE + struct.pack("<d", 1.0)),  # a name too long
        PREFIX + _feature("x", DOUBLE + struct.pack("<d", float("nan"))),
        PREFIX + _feature("x", DOUBLE + struct.pack("<d", -float("inf"))),
    ],
)
def test_what_the_codec_checks_refuse_is_left_to_it(body: bytes):
    raw = HEADER + body
    assert _fastavro("observation", raw) is not None  # fastavro reads it...
    assert read_observation(raw, len(HEADER)) is None  # ...and pydantic will say what is wrong


@pytest.mark.parametrize("label", [float("nan"), float("inf")])
def test_a_non_finite_label_is_left_to_the_codec(label: float):
    raw = HEADER + PREFIX + b"\x04" + struct.pack("<d", label)
    assert _fastavro("outcome", raw) is not None
    assert read_outcome(raw, len(HEADER)) is None


def test_the_longest_names_allowed_are_read():
    body = b"\x02e" + _varint(256) + b"k" * 256 + _varint(HIGH - 1)
    body += _feature("n" * 128, DOUBLE + struct.pack("<d", -0.0))
    fields = _same("observation", HEADER + body)
    assert fields is not None and fields["features"] == {"n" * 128: -0.0}


def test_the_codec_decodes_the_same_events_either_way():
    codec = EventCodec()
    fields = {"event_id": "e", "key": "k", "event_time": "2024-01-01T00:00:00Z"}
    for kind, event in (
        ("observation", Observation(**fields, features={"a": 1.5, "b": "x", "c": None, "d": 3})),
        ("outcome", Outcome(**fields, label="late")),
    ):
        raw = codec.encode(event)
        assert READERS[kind](raw, len(HEADER)) is not None  # the direct path is the one taken
        assert codec.decode(raw) == event == type(event).model_validate(codec._read(raw, kind))
