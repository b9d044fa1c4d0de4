"""Events on the wire: the Confluent wire format around a schemaless Avro body.

A record value is ``0x00`` (magic byte), a 4-byte big-endian schema id, then the Avro
body. Where the ids come from is a :class:`SchemaRegistry`, asked for each of the four
record kinds (observation, outcome, tick, control); the codec holds no id of its own:

- with a schema registry configured (``DRIFTLINE_SCHEMA_REGISTRY_URL``, or the local
  stack's ``--registry``), the four schemas are registered once at start under their
  record-name subjects (``dev.driftline.events.Observation``...) and the registry's global
  ids are used (:class:`driftline.adapters.registry.RegistrySchemaIds`), so any
  Confluent-compatible reader decodes the topic;
- without one, :class:`LocalSchemaRegistry` gives fixed ids (observation 1, outcome 2,
  tick 3, control 4): a **local-only mode**, for a topic only driftline reads. On a real
  registry those ids belong to other schemas (docs/decisions.md, "Issue 21").

Ids are resolved before the first record: decoding never asks a registry. Schemas are
parsed once.

>>> codec = EventCodec()
>>> from driftline.core.events.model import Outcome
>>> raw = codec.encode(Outcome(event_id="f1", key="EWR",
...                            event_time="2013-01-01T14:30:00Z", label=True))
>>> raw[:5].hex()
'0000000002'
>>> codec.decode(raw).label
True
>>> codec.decode(b"nope")
Traceback (most recent call last):
...
driftline.core.errors.DecodeError: truncated: 4 bytes, a record needs at least 5
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any, Literal, Protocol

import fastavro
from pydantic import BaseModel, ValidationError

from driftline.core.errors import DecodeError, EventValidationError, SchemaViolation
from driftline.core.events.avro_direct import read_observation, read_outcome
from driftline.core.events.control import CONTROL_SCHEMA_ID, ControlCommand, control_schema
from driftline.core.events.model import (
    ID_MAX,
    NAME_MAX,
    Event,
    EventKind,
    Observation,
    Outcome,
    avro_schema,
)
from driftline.core.events.ticks import TICK_SCHEMA_ID, WatermarkTick, tick_schema
from driftline.core.times import MAX_EVENT_TIME, MIN_EVENT_TIME

__all__ = [
    "CONTROL_SCHEMA_ID",
    "KIND_HEADER",
    "MAGIC_BYTE",
    "RECORD_KINDS",
    "TICK_SCHEMA_ID",
    "EventCodec",
    "LocalSchemaRegistry",
    "RecordKind",
    "SchemaRegistry",
]

MAGIC_BYTE = 0
#: Header naming the event kind, for tools that do not decode Avro (kafka-console-consumer).
KIND_HEADER = "driftline.kind"
_HEADER = struct.Struct(">bI")
_BODY = _HEADER.size  # where the Avro body starts
_MODELS: dict[EventKind, type[Observation] | type[Outcome]] = {
    "observation": Observation,
    "outcome": Outcome,
}


# Avro has already checked the shape (strings, a UTC timestamp, a map of null, boolean,
# long, double or string; a boolean, long, double or string label). What it cannot say is
# checked here, cheaply: id and name lengths, finite doubles, the event time's bounds. An
# event that passes is built without a second validation, a large share of a decode's cost
# (docs/performance.md, change 4); any other goes through pydantic, whose error names the
# rule broken. The direct readers make the same checks as they read (an event they answer
# for is built at once); these functions make them on fastavro's fields.
_ID_MAX = ID_MAX
_NAME_MAX = NAME_MAX


def _fast_common(fields: dict[str, Any]) -> bool:
    when = fields["event_time"]
    return (
        0 < len(fields["event_id"]) <= _ID_MAX
        and 0 < len(fields["key"]) <= _ID_MAX
        and when.tzinfo is UTC
        and MIN_EVENT_TIME <= when < MAX_EVENT_TIME
    )


def _fast_observation(fields: dict[str, Any]) -> Observation | None:
    if not _fast_common(fields):
        return None
    for name, value in fields["features"].items():
        if not 0 < len(name) <= _NAME_MAX:
            return None
        if type(value) is float and not math.isfinite(value):
            return None
    return _built(Observation, fields)


def _fast_outcome(fields: dict[str, Any]) -> Outcome | None:
    if not _fast_common(fields):
        return None
    label = fields["label"]
    if type(label) is float and not math.isfinite(label):
        return None
    return _built(Outcome, fields)


def _plain(model: type[Observation] | type[Outcome]) -> bool:
    """Whether ``model_construct`` of ``model`` amounts to setting its fields: no aliases,
    defaults, extras, private attributes or post-init hook (checked once, at import)."""
    return (
        not model.__pydantic_post_init__
        and not model.__private_attributes__
        and model.model_config.get("extra") != "allow"
        and all(
            f.alias is None and f.validation_alias is None and f.is_required()
            for f in model.__pydantic_fields__.values()
        )
    )


_PLAIN = {model: _plain(model) for model in (Observation, Outcome)}
_set = object.__setattr__
# BaseModel's slots, set through their descriptors: no look-up by name per event.
_SLOTS = vars(BaseModel)
_set_fields_set = _SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _SLOTS["__pydantic_extra__"].__set__
_set_private = _SLOTS["__pydantic_private__"].__set__


def _built(model: Any, fields: dict[str, Any]) -> Any:
    """``model.model_construct(**fields)`` for a plain model whose fields ``fields`` holds
    exactly, in order (fastavro's record of the model's schema): a quarter of the time."""
    if not _PLAIN[model]:
        return model.model_construct(**fields)
    event = model.__new__(model)
    _set(event, "__dict__", fields)
    _set_fields_set(event, set(fields))
    _set_extra(event, None)
    _set_private(event, None)
    return event


#: The direct readers of the shipped bodies (:mod:`driftline.core.events.avro_direct`).
_DIRECT: dict[EventKind, Callable[[bytes, int], dict[str, Any] | None]] = {
    "observation": read_observation,
    "outcome": read_outcome,
}

_FAST: dict[EventKind, Callable[[dict[str, Any]], Observation | Outcome | None]] = {
    "observation": _fast_observation,
    "outcome": _fast_outcome,
}


#: What a record of driftline's events topic is: an event, a watermark tick, a control command.
RecordKind = Literal["observation", "outcome", "tick", "control"]
RECORD_KINDS: tuple[RecordKind, ...] = ("observation", "outcome", "tick", "control")


class SchemaRegistry(Protocol):
    """Where schema ids come from: fixed locally, or a Confluent-compatible registry.

    Both answers must be ready when the codec is made (no I/O per record).
    """

    def id_for(self, kind: RecordKind) -> int: ...

    def kind_for(self, schema_id: int) -> RecordKind | None: ...


class LocalSchemaRegistry:
    """Fixed ids, for a topic only driftline reads: observation 1, outcome 2, tick 3,
    control 4 (see the module's docstring).

    >>> LocalSchemaRegistry().kind_for(4), LocalSchemaRegistry().id_for("tick")
    ('control', 3)
    """

    IDS: Mapping[RecordKind, int] = {
        "observation": 1,
        "outcome": 2,
        "tick": TICK_SCHEMA_ID,
        "control": CONTROL_SCHEMA_ID,
    }
    _KINDS: Mapping[int, RecordKind] = {schema_id: kind for kind, schema_id in IDS.items()}

    def id_for(self, kind: RecordKind) -> int:
        return self.IDS[kind]

    def kind_for(self, schema_id: int) -> RecordKind | None:
        return self._KINDS.get(schema_id)


class EventCodec:
    """Encode events to wire bytes and decode them back, validating on the way in."""

    def __init__(self, registry: SchemaRegistry | None = None) -> None:
        self._registry = registry or LocalSchemaRegistry()
        self._kind_for = self._registry.kind_for
        self._parsed = {
            kind: fastavro.parse_schema(avro_schema(kind)) for kind in ("observation", "outcome")
        }
        self._tick = fastavro.parse_schema(tick_schema())
        self._control = fastavro.parse_schema(control_schema())
        # The headers of the two event kinds, to their direct reader and model: the common
        # case's look-ups in one (the registry's answers are fixed when it is made).
        self._direct: dict[bytes, tuple[Callable[[bytes, int], Any], Any]] = {}
        for kind in ("observation", "outcome"):
            schema_id = self._registry.id_for(kind)
            if self._kind_for(schema_id) == kind:
                header = _HEADER.pack(MAGIC_BYTE, schema_id)
                self._direct[header] = (_DIRECT[kind], _MODELS[kind])

    def encode(self, event: Event) -> bytes:
        """The wire bytes of an event."""
        kind = event.kind
        buffer = io.BytesIO()
        buffer.write(_HEADER.pack(MAGIC_BYTE, self._registry.id_for(kind)))
        try:
            fastavro.schemaless_writer(buffer, self._parsed[kind], event.model_dump())
        except (UnicodeEncodeError, ValueError, TypeError) as exc:
            raise EventValidationError(
                f"{kind} {event.event_id!r} cannot be encoded: {exc}"
            ) from exc
        return buffer.getvalue()

    def encode_tick(self, tick: WatermarkTick) -> bytes:
        """The wire bytes of a watermark tick."""
        buffer = io.BytesIO()
        buffer.write(_HEADER.pack(MAGIC_BYTE, self._registry.id_for("tick")))
        fastavro.schemaless_writer(buffer, self._tick, tick.model_dump())
        return buffer.getvalue()

    def encode_control(self, command: ControlCommand) -> bytes:
        """The wire bytes of a control command (:mod:`driftline.core.events.control`)."""
        buffer = io.BytesIO()
        buffer.write(_HEADER.pack(MAGIC_BYTE, self._registry.id_for("control")))
        fastavro.schemaless_writer(buffer, self._control, command.model_dump())
        return buffer.getvalue()

    def decode(self, raw: bytes | None) -> Event | WatermarkTick | ControlCommand:
        """The event (or tick) in ``raw``; a defect raises :class:`DecodeError` with a reason."""
        if raw is not None:
            direct = self._direct.get(raw[:_BODY])
            if direct is not None:  # an event's header: read it straight, checked as read
                fields = direct[0](raw, _BODY)
                if fields is not None:
                    return _built(direct[1], fields)  # type: ignore[no-any-return]
        return self._decode(raw)

    def _decode(self, raw: bytes | None) -> Event | WatermarkTick | ControlCommand:
        """:meth:`decode` of anything the direct readers leave: ticks, control commands,
        defects, events they do not read or whose checks fail (pydantic's error)."""
        if raw is None:
            raise DecodeError("empty-value", "the record has no value (a tombstone?)")
        if len(raw) < _HEADER.size:
            raise DecodeError(
                "truncated", f"{len(raw)} bytes, a record needs at least {_HEADER.size}"
            )
        magic, schema_id = _HEADER.unpack_from(raw)
        if magic != MAGIC_BYTE:
            raise DecodeError("bad-magic-byte", f"first byte is {magic}, expected {MAGIC_BYTE}")
        kind = self._kind_for(schema_id)
        if kind is None:
            raise DecodeError("unknown-schema", f"schema id {schema_id} is not known")
        if kind == "tick":
            return self._decode_tick(raw)
        if kind == "control":
            return self._decode_control(raw)
        fields = self._read(raw, kind)  # fastavro's answer, or its error
        fast = _FAST[kind](fields)
        if fast is not None:
            return fast
        try:
            return _MODELS[kind].model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise SchemaViolation("schema-violation", f"{kind}.{where}: {first['msg']}") from exc

    def _read(self, raw: bytes, kind: EventKind) -> dict[str, Any]:
        body = io.BytesIO(raw)
        body.seek(_HEADER.size)
        try:
            fields: dict[str, Any] = fastavro.schemaless_reader(  # type: ignore[assignment]
                body, self._parsed[kind], None
            )
        except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeError...
            raise DecodeError("avro-decode", f"{kind} body does not decode: {exc!r}") from exc
        if body.tell() != len(raw):
            raise DecodeError(
                "trailing-bytes", f"{len(raw) - body.tell()} bytes after the {kind} body"
            )
        return fields

    def _decode_tick(self, raw: bytes) -> WatermarkTick:
        return self._decode_small(raw, self._tick, WatermarkTick, "tick")

    def _decode_control(self, raw: bytes) -> ControlCommand:
        return self._decode_small(raw, self._control, ControlCommand, "control")

    @staticmethod
    def _decode_small(raw: bytes, schema: Any, model: Any, what: str) -> Any:
        """A worker-written record (tick, control): the whole body, validated by ``model``."""
        body = io.BytesIO(raw)
        body.seek(_HEADER.size)
        try:
            fields: Any = fastavro.schemaless_reader(body, schema, None)
            if body.tell() != len(raw):
                raise ValueError(f"{len(raw) - body.tell()} trailing bytes")
            return model.model_validate(fields)
        except Exception as exc:  # fastavro and pydantic raise many kinds
            raise DecodeError("avro-decode", f"{what} body does not decode: {exc!r}") from exc
