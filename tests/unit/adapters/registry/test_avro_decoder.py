"""The decoder of Confluent-framed Avro records: writer/reader resolution, every defect."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import Any

import fastavro
import pytest

from driftline.adapters.registry import RegistryAvroDecoder, RegistryClient
from driftline.core.errors import DecodeError, SchemaRegistryUnavailable
from driftline.stack.processes import free_port
from tests.unit.adapters.registry.fake_registry import FakeRegistry, serving

V1: dict[str, Any] = {
    "type": "record",
    "name": "Loan",
    "namespace": "com.example",
    "fields": [{"name": "customer", "type": "string"}, {"name": "amount", "type": "double"}],
}
#: v1 with a field added, with a default: a compatible evolution either way
TERM = {"name": "term", "type": "int", "default": 36}
V2: dict[str, Any] = V1 | {"fields": [*V1["fields"], TERM]}


def framed(schema_id: int, schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    buffer.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    with serving(FakeRegistry(first_id=41)) as fake:
        yield fake


def test_a_record_is_read_with_its_writer_schema(registry: FakeRegistry) -> None:
    v1 = registry.add("loans-value", V1)
    decoder = RegistryAvroDecoder(RegistryClient(registry.url))
    raw = framed(v1, V1, {"customer": "c1", "amount": 1200.0})
    assert decoder.decode(raw) == {"customer": "c1", "amount": 1200.0}
    assert decoder.decode(raw) == {"customer": "c1", "amount": 1200.0}
    assert len(registry.requests) == 1  # the writer schema is fetched once


def test_a_producer_adding_a_defaulted_field_is_read_by_a_v1_reader(
    registry: FakeRegistry,
) -> None:
    v1, v2 = registry.add("loans-value", V1), registry.add("loans-value", V2)
    decoder = RegistryAvroDecoder(RegistryClient(registry.url), reader_schema=V1)
    before = decoder.decode(framed(v1, V1, {"customer": "c1", "amount": 10.0}))
    after = decoder.decode(framed(v2, V2, {"customer": "c2", "amount": 20.0, "term": 12}))
    assert before == {"customer": "c1", "amount": 10.0}
    assert after == {"customer": "c2", "amount": 20.0}  # the new field is dropped


def test_a_v2_reader_fills_the_default_for_v1_records(registry: FakeRegistry) -> None:
    v1, v2 = registry.add("loans-value", V1), registry.add("loans-value", V2)
    decoder = RegistryAvroDecoder(RegistryClient(registry.url), reader_schema=V2)
    old = decoder.decode(framed(v1, V1, {"customer": "c1", "amount": 10.0}))
    new = decoder.decode(framed(v2, V2, {"customer": "c2", "amount": 20.0, "term": 12}))
    assert old == {"customer": "c1", "amount": 10.0, "term": 36}
    assert new == {"customer": "c2", "amount": 20.0, "term": 12}


def test_an_incompatible_writer_is_an_avro_decode_error(registry: FakeRegistry) -> None:
    other = {"type": "record", "name": "Loan", "namespace": "com.example",
             "fields": [{"name": "customer", "type": "long"}]}  # fmt: skip
    schema_id = registry.add("loans-value", other)
    decoder = RegistryAvroDecoder(RegistryClient(registry.url), reader_schema=V1)
    with pytest.raises(DecodeError) as caught:
        decoder.decode(framed(schema_id, other, {"customer": 5}))
    assert caught.value.reason == "avro-decode"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty-value"),
        (b"", "truncated"),
        (b"\x00\x00\x00", "truncated"),
        (b"\x01\x00\x00\x00\x29rest", "bad-magic-byte"),
        (b"\x00\x00\x00\x03\xe7\x02", "unknown-schema"),  # id 999: not in the registry
        (b"\x00\x00\x00\x00\x29", "avro-decode"),  # id 41 (V1), no body
        (b"\x00\x00\x00\x00\x29\x04c1", "avro-decode"),  # the body cut short
    ],
    ids=["none", "empty", "short-header", "magic", "unknown-id", "no-body", "cut-body"],
)
def test_bad_bytes_have_their_reason(
    registry: FakeRegistry, raw: bytes | None, reason: str
) -> None:
    registry.add("loans-value", V1)  # id 41
    decoder = RegistryAvroDecoder(RegistryClient(registry.url))
    with pytest.raises(DecodeError) as caught:
        decoder.decode(raw)
    assert caught.value.reason == reason


def test_trailing_bytes_are_a_defect(registry: FakeRegistry) -> None:
    v1 = registry.add("loans-value", V1)
    decoder = RegistryAvroDecoder(RegistryClient(registry.url))
    with pytest.raises(DecodeError) as caught:
        decoder.decode(framed(v1, V1, {"customer": "c1", "amount": 1.0}) + b"\x00")
    assert caught.value.reason == "trailing-bytes"


def test_a_registry_that_does_not_answer_is_transient_not_a_dead_letter() -> None:
    client = RegistryClient(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(SchemaRegistryUnavailable):
        RegistryAvroDecoder(client).decode(b"\x00\x00\x00\x00\x29\x04c1")
