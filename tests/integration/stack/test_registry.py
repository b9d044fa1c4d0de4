"""The local stack's schema registry (``stack up --registry``): the real Apicurio Registry,
written to by confluent_kafka's own serializer, read by driftline.

One stack per module (its own Kafka, Redis and registry in a temporary home). The tests are
skipped, with the reason, only when Maven cannot build the registry (no Maven, no network
on a first build); anything else fails.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from kafka.admin import NewTopic

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka_clients import admin_client
from driftline.adapters.registry import RegistryAvroDecoder, RegistryClient, event_codec
from driftline.adapters.settings import KafkaSettings, SchemaRegistrySettings, StackSettings
from driftline.core.errors import StackError
from driftline.core.events.model import Observation, Outcome
from driftline.stack import LocalStack, ensure_registry_jar
from driftline.stack.processes import start_ticks
from tests.integration.stack.test_stack_repair import read_all, write

pytestmark = pytest.mark.integration

V1 = {
    "type": "record",
    "name": "LoanApplication",
    "namespace": "com.example.loans",
    "fields": [
        {"name": "customer", "type": "string"},
        {"name": "amount", "type": "double"},
    ],
}
V2 = V1 | {"fields": [*V1["fields"], {"name": "term", "type": "int", "default": 36}]}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, services: Endpoints) -> Iterator[LocalStack]:
    if services.source != "local-stack":
        pytest.skip("the local stack is not what this run uses (existing cluster or Docker)")
    config = StackSettings(home=tmp_path_factory.mktemp("registry") / "stack", kafka_heap="384m")
    try:
        ensure_registry_jar(config.cache_dir)
    except StackError as exc:
        pytest.skip(f"Maven cannot build the schema registry here: {exc}")
    local = LocalStack(config)
    try:
        local.up(registry=True)
        yield local
    finally:
        local.down(purge=True)


def registry_url(stack: LocalStack) -> str:
    url = stack.status().schema_registry_url
    assert url is not None and url.endswith("/apis/ccompat/v6")
    return url


def test_the_stack_runs_a_registry_and_hands_out_its_url(stack: LocalStack) -> None:
    status = stack.status()
    assert status.running and not status.degraded
    url = registry_url(stack)
    assert url.startswith("http://127.0.0.1:")
    endpoints = stack.endpoints()
    assert endpoints is not None and endpoints.schema_registry_url == url
    assert isinstance(RegistryClient(url).subjects(), list)


def test_avro_from_confluent_kafka_is_decoded_through_the_registry(stack: LocalStack) -> None:
    url = registry_url(stack)
    client = SchemaRegistryClient({"url": url})
    context = SerializationContext("loans", MessageField.VALUE)
    v1 = AvroSerializer(client, _text(V1))
    v2 = AvroSerializer(client, _text(V2))
    before = v1({"customer": "c1", "amount": 1200.0}, context)
    after = v2({"customer": "c2", "amount": 800.0, "term": 12}, context)
    assert before is not None and after is not None and before[1:5] != after[1:5]
    decoder = RegistryAvroDecoder(RegistryClient(url), reader_schema=V1)
    assert decoder.decode(before) == {"customer": "c1", "amount": 1200.0}
    assert decoder.decode(after) == {"customer": "c2", "amount": 800.0}  # v2 mid-stream
    newer = RegistryAvroDecoder(RegistryClient(url), reader_schema=V2)
    assert newer.decode(before)["term"] == 36


def test_driftline_events_carry_the_registry_ids_through_kafka(stack: LocalStack) -> None:
    url = registry_url(stack)
    # another schema first, so no id of driftline's can be a lucky fixed one
    SchemaRegistryClient({"url": url}).register_schema(
        "other-value", _schema({"type": "record", "name": "Other", "fields": []})
    )
    codec = event_codec(SchemaRegistrySettings(url=url))
    events = [
        Observation(event_id="o1", key="c1", event_time="2024-01-01T00:00:00Z",
                    features={"amount": 1200.0, "grade": "B"}),
        Outcome(event_id="o1", key="c1", event_time="2024-01-31T00:00:00Z", label=False),
    ]  # fmt: skip
    endpoints = stack.endpoints()
    assert endpoints is not None
    kafka = KafkaSettings().at(endpoints.bootstrap)
    topic = f"registry-events-{os.getpid()}-{time.monotonic_ns()}"
    with admin_client(kafka) as admin:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    write(kafka, topic, [codec.encode(event) for event in events])
    raws = read_all(kafka, topic, expected=2)
    assert [codec.decode(raw) for raw in raws] == events
    ids = [int.from_bytes(raw[1:5], "big") for raw in raws]
    assert 1 not in ids and 2 not in ids
    # a reader that is not driftline's finds the schema by id and decodes it
    reader = AvroDeserializer(SchemaRegistryClient({"url": url}))
    seen = reader(raws[1], SerializationContext(topic, MessageField.VALUE))
    assert seen is not None and seen["event_id"] == "o1" and seen["label"] is False
    # a second codec (another worker, a restart) gets the same ids
    again = event_codec(SchemaRegistrySettings(url=url))
    assert again.encode(events[0])[:5] == raws[0][:5]


def test_a_dead_registry_degrades_the_stack_and_up_repairs_it(stack: LocalStack) -> None:
    entry = stack.status().registry
    assert entry is not None
    os.kill(int(entry["pid"]), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while start_ticks(int(entry["pid"])) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    status = stack.status()
    assert status.running and status.degraded and status.down == ["schema-registry"]
    assert status.schema_registry_url is None
    repaired = stack.up()  # no flag: the home keeps its registry
    assert not repaired.degraded
    assert repaired.registry is not None and repaired.registry["port"] == entry["port"]
    assert isinstance(RegistryClient(registry_url(stack)).subjects(), list)


def _text(schema: dict[str, object]) -> str:
    return json.dumps(schema)


def _schema(schema: dict[str, object]) -> Schema:
    return Schema(_text(schema), "AVRO")
