"""Publishing through the Python API on each Kafka client (``DRIFTLINE_KAFKA_CLIENT``:
kafka-python, confluent-kafka), read back with a plain kafka-python consumer: the same
records, partitions and report on both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from driftline.adapters.confluent_clients import make_client_producer
from driftline.adapters.kafka_clients import admin_client
from driftline.adapters.settings import Settings
from driftline.adapters.topics import partition_counts
from driftline.core.errors import ConfigError, PublishError
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation, Outcome
from driftline.producers.publisher import DeliveryBounds, EventPublisher
from tests.conftest import TEST_CHECKPOINT_KEY
from tests.integration.helpers import create_topics

pytestmark = pytest.mark.integration

T0 = datetime(2024, 3, 10, 6, 0, tzinfo=UTC)
KEYS = ["EWR", "JFK", "LGA", "SFO", "BOS", "ORD"]
#: Each client, and the other one (whose partitioning must agree with it).
CLIENTS = {"kafka-python": "confluent", "confluent": "kafka-python"}


@pytest.fixture(params=list(CLIENTS))
def client(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client_settings(settings: Settings, client: str) -> Settings:
    """This test's settings, publishing on ``client``."""
    return settings.with_overrides(kafka_client=client)


@pytest.fixture
def confluent_settings(settings: Settings) -> Settings:
    return settings.with_overrides(kafka_client="confluent")


def _create_topics(settings: Settings, partitions: int = 3, fresh: bool = False) -> dict[str, str]:
    return create_topics(settings, partitions=partitions, fresh=fresh)


def _publish(settings: Settings, events: Iterable[Observation | Outcome]) -> None:
    """Publish ``events`` on the client ``settings`` name, and wait for every one."""
    with EventPublisher(make_client_producer(settings.kafka), settings.topics.events) as publisher:
        for event in events:
            publisher.publish(event)


def _read_all(settings: Settings, expected: int, deadline_s: float = 30) -> list:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        group_id=None,
    )
    try:
        topic = settings.topics.events
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records = []
        deadline = time.monotonic() + deadline_s
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def _events(keys: list[str], per_key: int) -> list[Observation | Outcome]:
    events: list[Observation | Outcome] = []
    for i in range(per_key):
        for key in keys:
            at = T0 + timedelta(minutes=i)
            event_id = f"{key}-{i}"
            events.append(
                Observation(
                    event_id=event_id,
                    key=key,
                    event_time=at,
                    features={"i": i, "x": i / 3, "tag": key, "gap": None},
                )
            )
            events.append(
                Outcome(
                    event_id=event_id, key=key, event_time=at + timedelta(hours=1), label=i % 3 == 0
                )
            )
    return events


def test_published_events_read_back_with_keys_partitions_and_both_clocks(
    client_settings: Settings, client: str
):
    settings = client_settings
    assert _create_topics(settings) == {
        settings.topics.events: "created",
        settings.topics.dead_letter: "created",
        settings.topics.alerts: "created",
    }
    sent = _events(KEYS, per_key=20)
    before_ms = int(time.time() * 1000)
    with EventPublisher(make_client_producer(settings.kafka), settings.topics.events) as publisher:
        for event in sent:
            publisher.publish(event)
        report = publisher.flush()
    after_ms = int(time.time() * 1000)
    assert report.by_kind == {"observation": 120, "outcome": 120}
    assert report.failed == 0 and sum(report.by_partition.values()) == len(sent)

    records = _read_all(settings, expected=len(sent))
    assert len(records) == len(sent)
    codec = EventCodec()
    partition_of: dict[str, set[int]] = {}
    decoded = []
    for record in records:
        event = codec.decode(record.value)
        decoded.append(event)
        assert record.key == event.key.encode()
        partition_of.setdefault(event.key, set()).add(record.partition)
        # LogAppendTime: the broker stamps its own clock, not the 2024 event time we sent.
        assert record.timestamp_type == 1
        assert before_ms - 1000 <= record.timestamp <= after_ms + 1000
        assert dict(record.headers)["driftline.kind"] == event.kind.encode()
    assert all(len(parts) == 1 for parts in partition_of.values()), partition_of
    assert len({p for parts in partition_of.values() for p in parts}) > 1
    assert {p: n for p, n in report.by_partition.items()} == {
        p: sum(1 for r in records if r.partition == p) for p in {r.partition for r in records}
    }
    assert sorted(decoded, key=lambda e: (e.kind, e.event_id)) == sorted(
        sent, key=lambda e: (e.kind, e.event_id)
    )
    for key in KEYS:  # one entity's events keep the order they were published in
        assert [e for e in decoded if e.key == key] == [e for e in sent if e.key == key]

    # the other client puts every key in the same partition (both partition by murmur2)
    other = settings.with_overrides(
        namespace=f"{settings.namespace}-other", kafka_client=CLIENTS[client]
    )
    create_topics(other, partitions=3)
    _publish(other, sent)
    by_other: dict[str, set[int]] = {}
    for record in _read_all(other, expected=len(sent)):
        by_other.setdefault(record.key.decode(), set()).add(record.partition)
    assert by_other == partition_of


def test_topics_are_created_with_log_append_time_and_checked_on_reuse(settings: Settings):
    _create_topics(settings, partitions=2)
    assert _create_topics(settings, partitions=2) == {
        settings.topics.events: "existed",
        settings.topics.dead_letter: "existed",
        settings.topics.alerts: "existed",
    }
    with admin_client(settings.kafka) as admin:
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, settings.topics.events)],
            config_filter="all",
        )
        text = str(configs)
        assert "message.timestamp.type" in text and "LogAppendTime" in text
        assert partition_counts(admin, [settings.topics.events]) == {settings.topics.events: 2}
    with pytest.raises(ConfigError, match="exists with 2 partitions"):
        _create_topics(settings, partitions=4)
    assert _create_topics(settings, partitions=4, fresh=True)[settings.topics.events] == "created"
    with admin_client(settings.kafka) as admin:
        assert partition_counts(admin, [settings.topics.events]) == {settings.topics.events: 4}


def test_a_delivery_failure_is_raised_not_dropped(client_settings: Settings, client: str):
    # The topic does not exist and the broker does not auto-create topics.
    producer = make_client_producer(client_settings.kafka, max_block_ms=1500)
    publisher = EventPublisher(producer, f"{client_settings.namespace}.missing")
    event = Observation(event_id="e1", key="k", event_time=T0, features={})
    with pytest.raises(PublishError) as caught:
        publisher.publish(event)
        publisher.flush(timeout_s=10)
    assert caught.value.failed >= 1
    if client == "confluent":  # librdkafka settles the record itself, with the broker's error
        assert caught.value.failed == 1
        assert publisher.report.failed_by_reason == {"UnknownTopicOrPartitionError": 1}
        assert "no record acknowledged, 1 failed (1 " in str(caught.value)
    producer.close(timeout=1)


def test_acknowledged_and_refused_records_are_both_reported(confluent_settings: Settings):
    settings = confluent_settings
    create_topics(settings, partitions=3)
    bounds = DeliveryBounds(settings.kafka.request_timeout_ms)
    producer = make_client_producer(settings.kafka, **bounds.producer_options())
    publisher = EventPublisher(producer, settings.topics.events, **bounds.publisher_options())
    sent = _events(KEYS[:2], per_key=5)
    # larger than a record may be (librdkafka's message.max.bytes): refused at send
    too_large = Observation(
        event_id="big",
        key="EWR",
        event_time=T0,
        features={f"f{i}": "x" * 100 for i in range(12_000)},
    )
    with pytest.raises(PublishError) as caught, publisher:
        for event in sent:
            publisher.publish(event)
        publisher.publish(too_large)
    report = publisher.report
    assert (report.acknowledged, report.failed) == (len(sent), 1)
    assert report.failed_by_reason == {"MessageSizeTooLargeError": 1}
    text = str(caught.value)
    assert text.startswith(f"Kafka refused observation big; publishing to {settings.topics.events}")
    assert f"{len(sent)} record(s) acknowledged (partition " in text
    assert text.endswith(")") and "1 failed (1 " in text and "\n" not in text
    assert len(_read_all(settings, expected=len(sent))) == len(sent)


def test_the_produce_command_publishes_on_confluent_kafka(
    confluent_settings: Settings, tmp_path: Path
):
    settings = confluent_settings
    rows = [{"id": f"r{i}", "k": "ABC"[i % 3], "t": 1_700_000_000 + i, "x": i} for i in range(30)]
    table = tmp_path / "rows.jsonl"
    table.write_text("".join(json.dumps(row) + "\n" for row in rows))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")} | {
        "DRIFTLINE_KAFKA_BOOTSTRAP": settings.kafka.bootstrap or "",
        "DRIFTLINE_REDIS_URL": settings.redis.url.get_secret_value(),  # type: ignore[union-attr]
        "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
        "DRIFTLINE_NAMESPACE": settings.namespace,
        "DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"),
        "DRIFTLINE_KAFKA_CLIENT": "confluent",
    }
    command = ["produce", "jsonl", str(table), "--key", "k", "--time", "t", "--event-id", "id"]
    done = subprocess.run(
        [sys.executable, "-m", "driftline", *command, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["observations"], summary["failed"]) == (30, 0)
    assert len(_read_all(settings, expected=30)) == 30
