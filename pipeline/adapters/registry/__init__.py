"""A Confluent-compatible schema registry: a small HTTP client, the decoder of users'
Confluent-framed Avro records, and driftline's own records' ids on a registry."""

from driftline.adapters.registry.avro_decoder import WIRE_HEADER, RegistryAvroDecoder
from driftline.adapters.registry.client import SCHEMA_NOT_FOUND, SUBJECT_NOT_FOUND, RegistryClient
from driftline.adapters.registry.event_ids import (
    RegistrySchemaIds,
    event_codec,
    registry_client,
    subject_for,
)

__all__ = [
    "SCHEMA_NOT_FOUND",
    "SUBJECT_NOT_FOUND",
    "WIRE_HEADER",
    "RegistryAvroDecoder",
    "RegistryClient",
    "RegistrySchemaIds",
    "event_codec",
    "registry_client",
    "subject_for",
]
