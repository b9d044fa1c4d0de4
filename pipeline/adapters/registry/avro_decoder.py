"""Records of users' topics in the Confluent wire format, decoded through a schema registry.

A value is ``0x00``, the writer schema's 4-byte big-endian registry id, then the Avro body.
The writer schema is fetched by id once (then cached); with a ``reader_schema`` the body is
resolved from the writer's schema to the reader's (Avro's schema resolution), so a producer
that adds a field with a default mid-stream, or drops one the reader defaults, goes on being
read. Each defect is a :class:`DecodeError` whose ``reason`` is a dead-letter reason; a
registry that does not answer is a :class:`SchemaRegistryUnavailable` (transient: retry, do
not dead-letter).

>>> decoder = RegistryAvroDecoder(RegistryClient("http://127.0.0.1:9"))
>>> decoder.decode(b"\\x01\\x00\\x00\\x00\\x07")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
driftline.core.errors.DecodeError: bad-magic-byte: first byte is 1, expected 0 (Confluent ...
"""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Mapping
from typing import Any

import fastavro

from driftline.adapters.registry.client import SCHEMA_NOT_FOUND, RegistryClient
from driftline.core.errors import DecodeError, SchemaRegistryError

__all__ = ["WIRE_HEADER", "RegistryAvroDecoder"]

#: Magic byte 0 and the schema id, big-endian.
WIRE_HEADER = struct.Struct(">bI")


class RegistryAvroDecoder:
    """Decode Confluent-framed Avro values into dicts, resolving to ``reader_schema``.

    Without ``reader_schema`` each record is read with its own writer's schema.
    """

    def __init__(
        self, client: RegistryClient, reader_schema: Mapping[str, Any] | None = None
    ) -> None:
        self.client = client
        self._reader = fastavro.parse_schema(dict(reader_schema)) if reader_schema else None
        self._writers: dict[int, Any] = {}
        self._lock = threading.Lock()

    def decode(self, raw: bytes | None) -> dict[str, Any]:
        """The record in ``raw``; a defect raises :class:`DecodeError` with its reason."""
        if raw is None:
            raise DecodeError("empty-value", "the record has no value (a tombstone?)")
        if len(raw) < WIRE_HEADER.size:
            raise DecodeError(
                "truncated", f"{len(raw)} bytes, a record needs at least {WIRE_HEADER.size}"
            )
        magic, schema_id = WIRE_HEADER.unpack_from(raw)
        if magic != 0:
            raise DecodeError(
                "bad-magic-byte", f"first byte is {magic}, expected 0 (Confluent wire format)"
            )
        writer = self._writer(schema_id)
        body = io.BytesIO(raw)
        body.seek(WIRE_HEADER.size)
        try:
            record = fastavro.schemaless_reader(body, writer, self._reader)
        except Exception as exc:  # fastavro raises EOFError, SchemaResolutionError, ...
            raise DecodeError(
                "avro-decode", f"body of schema {schema_id} does not decode: {exc!r}"
            ) from exc
        if body.tell() != len(raw):
            extra = len(raw) - body.tell()
            raise DecodeError(
                "trailing-bytes", f"{extra} bytes after the body of schema {schema_id}"
            )
        if not isinstance(record, dict):
            raise DecodeError("avro-decode", f"schema {schema_id} is not a record schema")
        return record

    def _writer(self, schema_id: int) -> Any:
        """The parsed writer schema of ``schema_id``, asked of the registry once."""
        with self._lock:
            parsed = self._writers.get(schema_id)
        if parsed is not None:
            return parsed
        try:
            schema = self.client.schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.error_code == SCHEMA_NOT_FOUND or exc.status == 404:
                raise DecodeError(
                    "unknown-schema", f"schema id {schema_id} is not in {self.client.url}"
                ) from exc
            raise
        try:
            parsed = fastavro.parse_schema(schema)
        except Exception as exc:  # not Avro (JSON Schema, Protobuf) or not valid
            raise DecodeError(
                "unknown-schema", f"schema id {schema_id} is not a usable Avro schema: {exc}"
            ) from exc
        with self._lock:
            self._writers[schema_id] = parsed
        return parsed
