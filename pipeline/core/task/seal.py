"""Checkpoints: a task's whole state and the offset it reached, sealed under an HMAC.

A checkpoint is one blob, written in one atomic step::

    b"DLCK" | header length (4 bytes, big-endian) | header (JSON) | payload | HMAC-SHA256

The header says what the state is (partition, model version and the version it grew
from, River and driftline versions, the config fingerprint, counters, the next offset,
a digest of the model) and the payload is the pickled state. The HMAC covers everything
before it and is checked, in constant time, before anything is unpickled: a blob that
fails the check is refused. Pickle runs code, so an unchecked blob would be a remote
code execution; the key (``DRIFTLINE_CHECKPOINT_KEY``) is what makes a blob trusted.

>>> codec = CheckpointCodec(b"k" * 32)
>>> blob = codec.seal({"partition": 3, "next_offset": 10}, b"state")
>>> codec.open(blob)
({'next_offset': 10, 'partition': 3}, b'state')
>>> tampered = blob[:-40] + bytes([blob[-40] ^ 1]) + blob[-39:]
>>> try:
...     codec.open(tampered)
... except CheckpointError as exc:
...     print(exc)
checkpoint refused: its HMAC does not match (tampered, or sealed with another key)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from typing import Any, Protocol

from driftline.core.errors import CheckpointRefused, ConfigError, ExitCode

__all__ = [
    "CheckpointCodec",
    "CheckpointError",
    "CheckpointKeyError",
    "CheckpointStore",
]

_MAGIC = b"DLCK"
_LENGTH = struct.Struct(">I")
_MAC = hashlib.sha256().digest_size


class CheckpointError(CheckpointRefused):
    """A checkpoint that cannot be trusted or used (bad HMAC, malformed, other config)."""


class CheckpointKeyError(CheckpointError, ConfigError):
    """A key too short to seal with: a setting to fix (exit status 2), no checkpoint read."""

    exit_code = ExitCode.USAGE


class CheckpointCodec:
    """Seal and open checkpoint blobs with an HMAC key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise CheckpointKeyError("the checkpoint key must be at least 16 bytes")
        self._key = key

    def seal(self, header: dict[str, Any], payload: bytes) -> bytes:
        head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        body = _MAGIC + _LENGTH.pack(len(head)) + head + payload
        return body + hmac.new(self._key, body, hashlib.sha256).digest()

    def open(self, blob: bytes) -> tuple[dict[str, Any], bytes]:
        """Verify then split a blob; nothing is unpickled here."""
        if len(blob) < len(_MAGIC) + _LENGTH.size + _MAC or not blob.startswith(_MAGIC):
            raise CheckpointError("checkpoint refused: not a driftline checkpoint")
        body, mac = blob[:-_MAC], blob[-_MAC:]
        expected = hmac.new(self._key, body, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise CheckpointError(
                "checkpoint refused: its HMAC does not match (tampered, or sealed with another key)"
            )
        (length,) = _LENGTH.unpack_from(body, len(_MAGIC))
        start = len(_MAGIC) + _LENGTH.size
        header: dict[str, Any] = json.loads(body[start : start + length])
        return header, body[start + length :]

    def header(self, blob: bytes) -> dict[str, Any]:
        """The verified header alone."""
        return self.open(blob)[0]


class CheckpointStore(Protocol):
    """Where checkpoints live: the latest blob per partition, replaced atomically, and a
    bounded history of the last few, each named by its next offset (``P@offset``).

    ``save(p, blob, offset)`` replaces the latest and keeps ``blob`` as history entry
    ``offset`` (the checkpoint's next offset: increasing per partition), dropping the
    oldest beyond the store's ``history``; with no offset (a task that read nothing yet)
    only the latest is replaced.
    """

    def load(self, partition: int) -> bytes | None: ...

    def save(self, partition: int, blob: bytes, offset: int | None = None) -> None: ...

    def all(self) -> dict[int, bytes]:
        """The latest checkpoint of each partition (no history entry)."""
        ...

    def history(self, partition: int) -> list[tuple[int, bytes]]:
        """The kept checkpoints of ``partition``, newest (highest offset) first."""
        ...

    def load_at(self, partition: int, offset: int) -> bytes | None:
        """History entry ``offset`` of ``partition`` (``None``: not kept)."""
        ...

    def partitions(self) -> list[int]:
        """Partitions with a latest checkpoint or a history, ascending."""
        ...

    def clear(self) -> int:
        """Forget every checkpoint of the namespace, history included; return how many
        partitions had a latest one."""
        ...
