"""CheckpointCodec: the sealed blob round-trips; arbitrary bytes and short keys are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.task.seal import CheckpointCodec, CheckpointError

KEY = b"k" * 32
CODEC = CheckpointCodec(KEY)


def test_seal_then_open_round_trips() -> None:
    header = {"partition": 3, "next_offset": 10, "nested": {"b": [1, 2.5, None]}, "text": "é"}
    payload = bytes(range(256)) * 3
    assert CODEC.open(CODEC.seal(header, payload)) == (header, payload)
    assert CODEC.header(CODEC.seal(header, payload)) == header
    assert CODEC.open(CODEC.seal({}, b"")) == ({}, b"")


@given(blob=st.binary(max_size=200))
def test_arbitrary_bytes_are_refused(blob: bytes) -> None:
    with pytest.raises(CheckpointError):
        CODEC.open(blob)
    with pytest.raises(CheckpointError):
        CODEC.open(b"DLCK" + blob)


@given(key=st.binary(max_size=15))
def test_a_key_shorter_than_16_bytes_is_refused(key: bytes) -> None:
    with pytest.raises(CheckpointError, match="at least 16 bytes"):
        CheckpointCodec(key)


def test_a_16_byte_key_is_enough() -> None:
    codec = CheckpointCodec(b"s" * 16)
    assert codec.open(codec.seal({"a": 1}, b"x")) == ({"a": 1}, b"x")
