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
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation, Outcome, avro_schema

PARSED = {kind: fastavro.parse_schema(avro_schema(kind)) for kind in ("observation", "outcome")}
READERS = {"observation": read_observation, "outcome": read_outcome}
HEADER = b"\x00\x00\x00\x00\x01"

TEXT = st.one_of(st.text(max_size=4), st.text(min_size=60, max_size=200))
MICROS = st.one_of(
    st.integers(min_value=-(2**62), max_value=2**62),
    st.integers(min_value=-(10**17), max_value=10**17),
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


def _same(kind: str, raw: bytes) -> dict[str, Any] | None:
    direct = READERS[kind](raw, len(HEADER))
    if direct is not None:  # an answer must be fastavro's, to the last field
        reference = _fastavro(kind, raw)
        assert reference is not None, raw
        assert repr(direct) == repr(reference)  # repr: NaN equals NaN, 0.0 differs from -0.0
        assert type(direct["event_time"].tzinfo) is type(reference["event_time"].tzinfo)
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
    # A body fastavro reads is read directly (one it refuses, such as a time beyond
    # datetime's range, is left to it).
    assert (_same("observation", raw) is None) == (_fastavro("observation", raw) is None)


@settings(max_examples=300, deadline=None)
@given(event_id=TEXT, key=TEXT, micros=MICROS, label=VALUES.filter(lambda v: v is not None))
def test_outcomes_read_as_fastavro_does(event_id, key, micros, label):
    raw = HEADER + _body(
        "outcome", {"event_id": event_id, "key": key, "event_time": micros, "label": label}
    )
    assert (_same("outcome", raw) is None) == (_fastavro("outcome", raw) is None)


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
    head = _body("outcome", {"event_id": "e", "key": "k", "event_time": 5, "label": True})[:-2]
    entry = _varint(1) + b"x" + _varint(3) + struct.pack("<d", 2.0)
    body = head + _varint(-1) + _varint(len(entry)) + entry + _varint(0)
    assert _same("observation", HEADER + body) == {
        "event_id": "e",
        "key": "k",
        "event_time": datetime(1970, 1, 1, 0, 0, 0, 5, tzinfo=UTC),
        "features": {"x": 2.0},
    }


@pytest.mark.parametrize(
    "body",
    [
        b"",  # nothing
        _varint(1),  # a string cut short
        _varint(-3) + b"abc",  # a negative length
        b"\x02e\x02k" + b"\xff" * 9 + b"\x02" + b"\x00",  # a varint beyond 64 bits
        b"\x02e\x02k\x02" + _varint(1) + b"\x02x" + b"\x0a" + b"\x00",  # union branch 5
        b"\x02e\x02k\x02" + _varint(1) + b"\x02\xff" + b"\x00" + b"\x00",  # invalid UTF-8
        b"\x02e\x02k\x02\x00\x00",  # trailing bytes after the map
    ],
)
def test_what_it_cannot_read_exactly_is_left_to_fastavro(body: bytes):
    assert read_observation(HEADER + body, len(HEADER)) is None


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
