"""The worker's Kafka clients, of the library ``DRIFTLINE_KAFKA_CLIENT`` chooses.

kafka-python (the default) or confluent-kafka (``pip install 'driftline[fast]'``): the
same group, the same options (client id, session timeout, heartbeat, fetch sizes), no
auto-commit, reading from the earliest offset when the group has none. confluent-kafka is
imported only when chosen.
"""

from __future__ import annotations

from typing import Any

from driftline.adapters.confluent_clients import make_client_producer, make_confluent_consumer
from driftline.adapters.kafka.source import KafkaRecordSource
from driftline.adapters.kafka_clients import make_consumer
from driftline.adapters.settings import KafkaSettings, Settings
from driftline.consumers.ports import RecordSource

__all__ = ["make_record_source", "make_worker_producer"]

#: Bytes a fetch brings back at most, in all and per partition.
FETCH_MAX_BYTES = 32 * 1024 * 1024
PARTITION_FETCH_MAX_BYTES = 8 * 1024 * 1024


def make_record_source(
    settings: Settings,
    member: str,
    *,
    kafka: KafkaSettings | None = None,
    topic: str | None = None,
) -> RecordSource:
    """The record source of one worker of the namespace's consumer group.

    ``member`` is its client id; ``kafka`` the Kafka settings pointed at the resolved
    bootstrap servers (default ``settings.kafka``); ``topic`` the topic it reads (default
    the namespace's events topic). It can be replaced by a new one of the same settings
    (:class:`~driftline.adapters.kafka.renewing.RenewingSource`).
    """
    from driftline.adapters.kafka.renewing import RenewingSource

    return RenewingSource(lambda: _record_source(settings, member, kafka, topic))


def _record_source(
    settings: Settings, member: str, kafka: KafkaSettings | None, topic: str | None
) -> RecordSource:
    kafka = settings.kafka if kafka is None else kafka
    topic = settings.topics.events if topic is None else topic
    group = settings.topics.consumer_group
    session_timeout_ms = settings.worker.session_timeout_ms
    heartbeat_ms = max(1000, session_timeout_ms // 5)
    if kafka.client == "confluent":
        from driftline.adapters.kafka.confluent_source import ConfluentRecordSource

        consumer = make_confluent_consumer(
            kafka,
            {
                "group.id": group,
                "client.id": member,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
                # a transactional writer's aborted records are never read (they and its
                # commit markers leave offsets the worker skips)
                "isolation.level": "read_committed",
                "check.crcs": True,  # as kafka-python does
                "fetch.max.bytes": FETCH_MAX_BYTES,
                "max.partition.fetch.bytes": PARTITION_FETCH_MAX_BYTES,
                "session.timeout.ms": session_timeout_ms,
                "heartbeat.interval.ms": heartbeat_ms,
            },
        )
        return ConfluentRecordSource(consumer, topic, timeout_s=kafka.request_timeout_ms / 1000)
    consumer = make_consumer(
        kafka,
        group_id=group,
        client_id=member,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=settings.worker.max_poll_records,
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_MAX_BYTES,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=heartbeat_ms,
    )
    return KafkaRecordSource(consumer, topic)


def make_worker_producer(kafka: KafkaSettings) -> Any:
    """The producer of the worker's dead letters, alerts and watermark ticks (kafka-python's
    interface, whichever library is chosen), replaced by a new one after a failed publish
    (:class:`~driftline.adapters.kafka.renewing.RenewingProducer`)."""
    from driftline.adapters.kafka.renewing import RenewingProducer

    return RenewingProducer(lambda: make_client_producer(kafka))
