"""A direct reader of the two event bodies this version ships, for the common case.

fastavro decodes a schemaless body by walking the parsed schema value by value, reading
the body through a file object a byte at a time: the largest share of a worker's decode
(``docs/performance.md``, change 10). The wire format of ``observation.avsc`` and
``outcome.avsc`` is fixed and small, so this module reads it straight from the bytes:
zig-zag varints, length-prefixed UTF-8, little-endian doubles, map blocks, union branch
indexes.

It is only a fast path. It answers ``None`` for anything it does not read exactly as
fastavro would (a truncated or malformed body, trailing bytes, a varint beyond 64 bits,
invalid UTF-8, an unknown union branch) and the caller then asks fastavro, whose answer
or error is the reference. When it does answer, its fields equal fastavro's: a
hypothesis test compares the two on generated events and on corrupted bodies
(``tests/unit/core/events/test_avro_direct.py``), and would fail if a shipped schema changed.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["read_observation", "read_outcome"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOUBLE = struct.Struct("<d").unpack_from
_ERRORS = (IndexError, ValueError, struct.error, OverflowError)


class _Unread(Exception):
    """Not read here: fastavro decides."""


def _long(raw: bytes, i: int) -> tuple[int, int]:
    """A zig-zag varint at ``i`` that fits 64 bits (fastavro's ``long64``), and the index
    after it. A longer one, which fastavro would wrap around, is left to it."""
    byte = raw[i]
    n = byte & 0x7F
    shift = 7
    i += 1
    while byte & 0x80:
        byte = raw[i]
        if shift == 63 and byte > 1:  # the tenth byte holds the 64th bit and no more
            raise _Unread
        n |= (byte & 0x7F) << shift
        shift += 7
        i += 1
    return (n >> 1) ^ -(n & 1), i


def _text(raw: bytes, i: int) -> tuple[str, int]:
    size = raw[i]
    if size < 0x80:  # one byte: shorter than 64 bytes, the usual case
        i += 1
        size = (size >> 1) ^ -(size & 1)
    else:
        size, i = _long(raw, i)
    end = i + size
    if size < 0 or end > len(raw):
        raise _Unread
    return raw[i:end].decode(), end


def _value(raw: bytes, i: int, branch: int) -> tuple[Any, int]:
    """A value of the union ``[null, boolean, long, double, string]`` by branch index."""
    if branch == 3:
        return _DOUBLE(raw, i)[0], i + 8
    if branch == 4:
        return _text(raw, i)
    if branch == 2:
        return _long(raw, i)
    if branch == 1:
        return raw[i] != 0, i + 1
    if branch == 0:
        return None, i
    raise _Unread


def _branch(byte: int, shift: int) -> int:
    """The branch of a one-byte union index (``shift``: the union's first branch in
    ``_value``'s numbering); 9, which ``_value`` refuses, for anything else."""
    return (byte >> 1) + shift if byte < 10 - 2 * shift and not byte & 1 else 9


def _head(raw: bytes, i: int) -> tuple[dict[str, Any], int]:
    """``event_id``, ``key`` and ``event_time`` (timestamp-micros), as fastavro gives them."""
    event_id, i = _text(raw, i)
    key, i = _text(raw, i)
    micros, i = _long(raw, i)
    return {"event_id": event_id, "key": key, "event_time": _EPOCH + timedelta(0, 0, micros)}, i


def read_observation(raw: bytes, start: int) -> dict[str, Any] | None:
    """The fields of the observation body at ``raw[start:]``, or ``None`` (ask fastavro)."""
    try:
        fields, i = _head(raw, start)
        features: dict[str, Any] = {}
        count, i = _long(raw, i)
        while count:
            if count < 0:  # a block with its size in bytes: the size is not needed
                count = -count
                _, i = _long(raw, i)
            for _ in range(count):
                size = raw[i]
                if size < 0x80 and not size & 1:  # a name shorter than 64 bytes
                    end = i + 1 + (size >> 1)
                    name = raw[i + 1 : end].decode()
                else:
                    name, end = _text(raw, i)
                branch = raw[end]  # one byte: the indexes 0..4 zig-zag to 0..8
                if branch == 6:  # a double, the usual case
                    features[name] = _DOUBLE(raw, end + 1)[0]
                    i = end + 9
                else:
                    features[name], i = _value(raw, end + 1, _branch(branch, 0))
            count, i = _long(raw, i)
    except (_Unread, *_ERRORS):
        return None
    if i != len(raw):
        return None
    fields["features"] = features
    return fields


def read_outcome(raw: bytes, start: int) -> dict[str, Any] | None:
    """The fields of the outcome body at ``raw[start:]``, or ``None`` (ask fastavro)."""
    try:
        fields, i = _head(raw, start)
        branch = raw[i]  # [boolean, long, double, string]: the null-less union, shifted
        label, i = _value(raw, i + 1, _branch(branch, 1))
    except (_Unread, *_ERRORS):
        return None
    if i != len(raw):
        return None
    fields["label"] = label
    return fields
