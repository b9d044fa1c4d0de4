"""A direct reader of the two event bodies this version ships, for the common case.

fastavro decodes a schemaless body by walking the parsed schema value by value, reading
the body through a file object a byte at a time: the largest share of a worker's decode
(``docs/performance.md``, change 10). The wire format of ``observation.avsc`` and
``outcome.avsc`` is fixed and small, so this module reads it straight from the bytes:
zig-zag varints, length-prefixed UTF-8, little-endian doubles, map blocks, union branch
indexes.

It is only a fast path. It answers ``None`` for anything it does not read exactly as
fastavro would (a truncated or malformed body, trailing bytes, a varint beyond 64 bits,
invalid UTF-8, an unknown union branch) and for any event the codec's cheap checks would
refuse (an empty or over-long id, key or feature name, a non-finite double, an event time
outside [MIN_EVENT_TIME, MAX_EVENT_TIME)): the checks are made as the bytes are read, so an
answer is an event's fields ready to be set, and the caller asks fastavro, then pydantic,
for anything else, whose answer or error is the reference. When it does answer, its fields
equal fastavro's and pass the codec's checks: a hypothesis test compares the two on
generated events and on corrupted bodies (``tests/unit/core/events/test_avro_direct.py``),
and would fail if a shipped schema changed.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from driftline.core.events.model import ID_MAX, NAME_MAX
from driftline.core.times import MAX_EVENT_TIME, MIN_EVENT_TIME

__all__ = ["read_observation", "read_outcome"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOUBLE = struct.Struct("<d").unpack_from
_ERRORS = (IndexError, ValueError, struct.error, OverflowError)
_MICROSECOND = timedelta(microseconds=1)
#: The event time's bounds in microseconds since the epoch, as the body carries it.
_MIN_MICROS = (MIN_EVENT_TIME - _EPOCH) // _MICROSECOND
_MAX_MICROS = (MAX_EVENT_TIME - _EPOCH) // _MICROSECOND


class _Unread(Exception):
    """Not read here: fastavro decides."""


#: What makes a body unreadable here (then fastavro reads it): one name, so that the
#: except clauses compile with Cython too (it refuses ``except (_Unread, *_ERRORS)``).
_UNREADABLE = (_Unread, *_ERRORS)


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


def _id(raw: bytes, i: int) -> tuple[str, int]:
    """An event id or key at ``i``: 1 to ``ID_MAX`` characters, else :class:`_Unread`."""
    size = raw[i]
    if size < 0x80 and not size & 1:  # shorter than 64 bytes, the usual case
        if not size:
            raise _Unread
        end = i + 1 + (size >> 1)  # beyond the body: the next read at ``end`` fails
        return raw[i + 1 : end].decode(), end
    text, end = _text(raw, i)
    if not 0 < len(text) <= ID_MAX:
        raise _Unread
    return text, end


def _time(raw: bytes, i: int) -> tuple[datetime, int]:
    """``event_time`` (timestamp-micros) as fastavro gives it, within the codec's bounds."""
    n = int.from_bytes(raw[i : i + 8], "little")
    if n & 0x8080808080808080 == 0x0080808080808080:  # eight bytes, as every time in bounds
        n &= 0x7F7F7F7F7F7F7F7F  # the seven-bit groups, gathered pairwise: no loop
        n = (n & 0x007F007F007F007F) | ((n & 0x7F007F007F007F00) >> 1)
        n = (n & 0x00003FFF00003FFF) | ((n & 0x3FFF00003FFF0000) >> 2)
        n = (n & 0x0FFFFFFF) | ((n & 0x0FFFFFFF00000000) >> 4)
        micros, i = (n >> 1) ^ -(n & 1), i + 8
    else:
        micros, i = _long(raw, i)
    if not _MIN_MICROS <= micros < _MAX_MICROS:
        raise _Unread
    return _EPOCH + timedelta(0, 0, micros), i


def read_observation(raw: bytes, start: int) -> dict[str, Any] | None:
    """The fields of the observation body at ``raw[start:]``, or ``None`` (ask fastavro)."""
    try:
        event_id, i = _id(raw, start)
        key, i = _id(raw, i)
        event_time, i = _time(raw, i)
        features: dict[str, Any] = {}
        count, i = _long(raw, i)
        while count:
            if count < 0:  # a block with its size in bytes: the size is not needed
                count = -count
                _, i = _long(raw, i)
            for _ in range(count):
                size = raw[i]
                if size < 0x80 and not size & 1:  # a name shorter than 64 bytes
                    if not size:
                        return None
                    end = i + 1 + (size >> 1)
                    name = raw[i + 1 : end].decode()
                else:
                    name, end = _text(raw, i)
                    if not 0 < len(name) <= NAME_MAX:
                        return None
                branch = raw[end]  # one byte: the indexes 0..4 zig-zag to 0..8
                if branch == 6:  # a double, the usual case
                    value = _DOUBLE(raw, end + 1)[0]
                    if value - value != 0.0:  # inf or NaN
                        return None
                    features[name] = value
                    i = end + 9
                else:
                    features[name], i = _value(raw, end + 1, _branch(branch, 0))
            count, i = _long(raw, i)
    except _UNREADABLE:
        return None
    if i != len(raw):
        return None
    return {"event_id": event_id, "key": key, "event_time": event_time, "features": features}


def read_outcome(raw: bytes, start: int) -> dict[str, Any] | None:
    """The fields of the outcome body at ``raw[start:]``, or ``None`` (ask fastavro)."""
    try:
        event_id, i = _id(raw, start)
        key, i = _id(raw, i)
        event_time, i = _time(raw, i)
        branch = raw[i]  # [boolean, long, double, string]: the null-less union, shifted
        label, i = _value(raw, i + 1, _branch(branch, 1))
    except _UNREADABLE:
        return None
    if i != len(raw) or (type(label) is float and label - label != 0.0):
        return None
    return {"event_id": event_id, "key": key, "event_time": event_time, "label": label}
