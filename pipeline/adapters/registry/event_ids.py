"""driftline's own records on a schema registry: the four schemas registered once, under
record-name subjects, and their global ids used on the wire.

The events topic holds four record types (observation, outcome, tick, control), so each is
registered under its record's full name (Confluent's ``RecordNameStrategy``:
``dev.driftline.events.Observation``...), not ``<topic>-value``. Ids are global and assigned
by the registry: never 1, 2, 3, 4 unless it says so. They are resolved when the codec is
made (:func:`event_codec`); encoding and decoding then never ask the registry.

>>> subject_for("tick")
'dev.driftline.events.WatermarkTick'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from driftline.adapters.registry.client import RegistryClient
from driftline.adapters.settings import SchemaRegistrySettings
from driftline.core.events import schemas
from driftline.core.events.codec import RECORD_KINDS, EventCodec, RecordKind

__all__ = ["RegistrySchemaIds", "event_codec", "registry_client", "subject_for"]

log = logging.getLogger(__name__)


def schema_of(kind: RecordKind) -> dict[str, Any]:
    """The Avro schema (parsed JSON) this version writes records of ``kind`` with."""
    return schemas.load(kind)


def subject_for(kind: RecordKind) -> str:
    """The record-name subject of ``kind``: its record's namespace and name."""
    schema = schema_of(kind)
    return f"{schema['namespace']}.{schema['name']}"


class RegistrySchemaIds:
    """A :class:`~driftline.core.events.codec.SchemaRegistry` whose ids a real registry
    gave: the four schemas are registered when it is made (an existing identical schema
    keeps its id), so its answers are dict look-ups."""

    def __init__(self, client: RegistryClient) -> None:
        self.url = client.url
        self._ids: dict[RecordKind, int] = {
            kind: client.register(subject_for(kind), schema_of(kind)) for kind in RECORD_KINDS
        }
        self._kinds: dict[int, RecordKind] = {i: k for k, i in self._ids.items()}
        log.info("schema ids from %s: %s", self.url, self._ids)

    @property
    def ids(self) -> Mapping[RecordKind, int]:
        return dict(self._ids)

    def id_for(self, kind: RecordKind) -> int:
        return self._ids[kind]

    def kind_for(self, schema_id: int) -> RecordKind | None:
        return self._kinds.get(schema_id)


def registry_client(
    settings: SchemaRegistrySettings, stack_url: str | None = None
) -> RegistryClient | None:
    """The registry the settings name, else the local stack's (``stack_url``), else none."""
    if settings.url is None and stack_url is not None:
        settings = settings.model_copy(update={"url": stack_url})
    return RegistryClient.from_settings(settings)


def event_codec(settings: SchemaRegistrySettings, stack_url: str | None = None) -> EventCodec:
    """The codec of driftline's events topic: the registry's ids when one is configured
    (``DRIFTLINE_SCHEMA_REGISTRY_URL``, else the local stack's ``stack_url``), else the
    fixed ids of the local-only mode.

    >>> from driftline.core.events.ticks import WatermarkTick
    >>> event_codec(SchemaRegistrySettings()).encode_tick(WatermarkTick(source="w"))[:5].hex()
    '0000000003'
    """
    client = registry_client(settings, stack_url)
    if client is None:
        return EventCodec()
    return EventCodec(RegistrySchemaIds(client))
