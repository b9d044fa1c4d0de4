"""Publishing through the Python API, read back with a plain kafka-python consumer."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from driftline.adapters.kafka_clients import admin_client, make_producer
from driftline.adapters.settings import Settings
from driftline.adapters.topics import partition_counts
from driftline.core.errors import ConfigError, PublishError
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation, Outcome
from driftline.producers.publisher import EventPublisher
from tests.integration.helpers import create_topics

pytestmark = pytest.mark.integration

T0 = datetime(2024, 3, 10, 6, 0, tzinfo=UTC)


def _create_topics(settings: Settings, partitions: int = 3, fresh: bool = False) -> dict[str, str]:
    return create_topics(settings, partitions=partitions, fresh=fresh)


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


def test_published_events_read_back_with_keys_partitions_and_both_clocks(settings: Settings):
    assert _create_topics(settings) == {
        settings.topics.events: "created",
        settings.topics.dead_letter: "created",
        settings.topics.alerts: "created",
    }
    keys = ["EWR", "JFK", "LGA", "SFO", "BOS", "ORD"]
    sent = _events(keys, per_key=20)
    before_ms = int(time.time() * 1000)
    with EventPublisher(make_producer(settings.kafka), settings.topics.events) as publisher:
        for event in sent:
            publisher.publish(event)
        report = publisher.flush()
    after_ms = int(time.time() * 1000)
    assert report.by_kind == {"observation": 120, "outcome": 120}

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
    assert sorted(decoded, key=lambda e: (e.kind, e.event_id)) == sorted(
        sent, key=lambda e: (e.kind, e.event_id)
    )
    # Within a partition, one entity's events keep the order they were published in.
    for key in keys:
        ours = [e for e in decoded if e.key == key]
        assert ours == [e for e in sent if e.key == key]


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


def test_a_delivery_failure_is_raised_not_dropped(settings: Settings):
    # The topic does not exist and the broker does not auto-create topics.
    producer = make_producer(settings.kafka, max_block_ms=1500)
    publisher = EventPublisher(producer, f"{settings.namespace}.missing")
    event = Observation(event_id="e1", key="k", event_time=T0, features={})
    with pytest.raises(PublishError) as caught:
        publisher.publish(event)
        publisher.flush(timeout_s=10)
    assert caught.value.failed >= 1
    producer.close(timeout=1)
