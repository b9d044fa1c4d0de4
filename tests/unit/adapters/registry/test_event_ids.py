"""driftline's own records on a registry: record-name subjects, the registry's ids."""

from __future__ import annotations

import json

from driftline.adapters.registry import RegistryClient, RegistrySchemaIds, event_codec, subject_for
from driftline.adapters.settings import SchemaRegistrySettings
from driftline.core.events.codec import RECORD_KINDS, EventCodec
from driftline.core.events.control import ControlCommand
from driftline.core.events.model import Observation, Outcome
from driftline.core.events.ticks import WatermarkTick
from tests.unit.adapters.registry.fake_registry import FakeRegistry, serving

OBSERVATION = Observation(
    event_id="e1", key="k", event_time="2024-01-01T00:00:00Z", features={"x": 1.5}
)
OUTCOME = Outcome(event_id="e1", key="k", event_time="2024-01-02T00:00:00Z", label=True)


def test_subjects_are_the_record_names() -> None:
    assert [subject_for(kind) for kind in RECORD_KINDS] == [
        "dev.driftline.events.Observation",
        "dev.driftline.events.Outcome",
        "dev.driftline.events.WatermarkTick",
        "dev.driftline.events.ControlCommand",
    ]


def test_the_codec_uses_the_ids_the_registry_gave() -> None:
    with serving(FakeRegistry(first_id=500)) as registry:
        registry.add("someone-else-value", {"type": "string"})  # id 500 is taken
        codec = event_codec(SchemaRegistrySettings(url=registry.url))
        registered = dict(registry.subjects)
        calls = len(registry.requests)
        raws = [
            codec.encode(OBSERVATION),
            codec.encode(OUTCOME),
            codec.encode_tick(WatermarkTick(source="w")),
            codec.encode_control(ControlCommand(command="promote", argument="nb")),
        ]
        decoded = [codec.decode(raw) for raw in raws]
        assert len(registry.requests) == calls  # encode and decode never ask
        stored = {i: json.loads(registry.by_id[i]) for i in range(501, 505)}
    ids = [int.from_bytes(raw[1:5], "big") for raw in raws]
    assert ids == [501, 502, 503, 504]
    assert {s: v for s, v in registered.items() if s.startswith("dev.")} == {
        subject_for(kind): [schema_id] for kind, schema_id in zip(RECORD_KINDS, ids, strict=True)
    }
    assert [stored[i]["name"] for i in ids] == [
        "Observation",
        "Outcome",
        "WatermarkTick",
        "ControlCommand",
    ]
    assert decoded[0] == OBSERVATION and decoded[1] == OUTCOME
    assert decoded[2].kind == "tick" and decoded[3].kind == "control"
    # the local-only ids mean nothing here, and the registry's mean nothing to a local codec
    assert _reason(codec, EventCodec().encode(OBSERVATION)) == "unknown-schema"
    assert _reason(EventCodec(), raws[0]) == "unknown-schema"


def test_registering_again_keeps_the_ids() -> None:
    with serving(FakeRegistry(first_id=7)) as registry:
        first = RegistrySchemaIds(RegistryClient(registry.url)).ids
        again = RegistrySchemaIds(RegistryClient(registry.url)).ids
    assert first == again == {"observation": 7, "outcome": 8, "tick": 9, "control": 10}


def test_without_a_registry_the_local_ids_stay() -> None:
    codec = event_codec(SchemaRegistrySettings(), stack_url=None)
    assert codec.encode(OBSERVATION)[:5] == b"\x00\x00\x00\x00\x01"
    assert codec.encode_control(ControlCommand(command="rollback", argument="9"))[4] == 4


def test_the_stack_url_is_used_when_the_settings_name_none() -> None:
    with serving(FakeRegistry(first_id=70)) as registry:
        codec = event_codec(SchemaRegistrySettings(), stack_url=registry.url)
        assert codec.encode(OUTCOME)[1:5] == (71).to_bytes(4, "big")


def _reason(codec: EventCodec, raw: bytes) -> str:
    try:
        codec.decode(raw)
    except Exception as exc:  # noqa: BLE001
        return str(getattr(exc, "reason", exc))
    return "decoded"
