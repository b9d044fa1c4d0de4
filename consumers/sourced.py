"""``consume --source FILE``: the ingest stage wired on Kafka, run beside the worker.

:func:`start_ingest` makes the ingest stage of :mod:`driftline.consumers.ingest` on the
services at the endpoints and runs it in a thread of its own (its own consumer and
producer: a Kafka client serves one thread); the worker then reads the events topic as
always. :class:`IngestAwareSource` makes the worker's bounded runs (``--until-idle``) wait
for the ingest stage too: the worker is caught up only once the user's topics are.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka.dead_letters import DeadLetterPublisher
from driftline.adapters.kafka.user_topics import EventPublisher, KafkaSourceReader
from driftline.adapters.kafka_clients import admin_client, make_consumer, make_producer
from driftline.adapters.registry import (
    RegistryAvroDecoder,
    RegistryClient,
    event_codec,
    registry_client,
)
from driftline.adapters.settings import Settings
from driftline.adapters.settings.kafka import KafkaSettings
from driftline.adapters.source_files import reader_schemas
from driftline.adapters.topics import partition_counts, prepare_topics
from driftline.consumers.ingest import Decoder, Ingest
from driftline.consumers.ports import RecordSource
from driftline.core.errors import ConfigError
from driftline.core.events.records import InputRecord
from driftline.core.sources.json_values import decode_json
from driftline.core.sources.mapping import RecordMapper
from driftline.core.sources.spec import SourceSpec

__all__ = ["IngestAwareSource", "start_ingest"]

log = logging.getLogger(__name__)


def _decoder(spec: SourceSpec, settings: Settings, stack_registry: str | None) -> Decoder:
    """Bytes to the user's record, in the source's format: JSON, or Avro through the
    registry the source file names, else the settings' (``DRIFTLINE_SCHEMA_REGISTRY_URL``),
    else the local stack's (``stack up --registry``)."""
    if spec.format.type == "json":
        return lambda topic, raw: decode_json(raw)
    registry = settings.schema_registry
    if spec.format.registry is not None:
        client: RegistryClient | None = RegistryClient(
            spec.format.registry, auth=registry.auth(), timeout_s=registry.timeout_s
        )
    else:
        client = registry_client(registry, stack_registry)
    if client is None:
        raise ConfigError(
            "an avro source needs a schema registry: name it in the source file "
            "([format].registry), set DRIFTLINE_SCHEMA_REGISTRY_URL, or start the local "
            "stack with 'driftline stack up --registry'"
        )
    plain = RegistryAvroDecoder(client).decode
    by_topic = {
        topic: RegistryAvroDecoder(client, schema).decode
        for topic, schema in reader_schemas(spec).items()
    }
    return lambda topic, raw: by_topic.get(topic, plain)(raw)


def _events_partitions(kafka: KafkaSettings, settings: Settings) -> int:
    """Make the namespace's topics if missing; the events topic's partition count.

    Its records are stamped as the settings say: by default the broker's append time (the
    arrival at driftline; a backfill of old records is late by its age, and time-based
    retention never deletes them on arrival), or with ``DRIFTLINE_KAFKA_TIMESTAMPS=replay``
    the user's own record timestamps, which the ingest stage passes on."""
    prepare_topics(kafka, settings.namespace)
    events = settings.topics.events
    with admin_client(kafka) as admin:
        counts = partition_counts(admin, [events])
    return counts[events]


def _check_topics(kafka: KafkaSettings, topics: Sequence[str]) -> None:
    """Refuse a source whose topics do not exist (a typo would otherwise wait for ever)."""
    with admin_client(kafka) as admin:
        found = partition_counts(admin, list(topics))
    missing = sorted(set(topics) - set(found))
    if missing:
        raise ConfigError(
            f"the source's topic(s) {', '.join(missing)} do not exist on {kafka.bootstrap}"
        )


@contextmanager
def start_ingest(
    settings: Settings, endpoints: Endpoints, spec: SourceSpec, stop: threading.Event
) -> Iterator[Ingest]:
    """Run the ingest stage of ``spec`` in a thread until the block ends; a failed ingest
    sets ``stop`` (the worker's), so the worker checkpoints and the command ends."""
    kafka = settings.kafka.at(endpoints.bootstrap)
    topics = list(spec.topics())
    _check_topics(kafka, topics)
    partitions = _events_partitions(kafka, settings)
    decode = _decoder(spec, settings, endpoints.schema_registry_url)
    codec = event_codec(settings.schema_registry, endpoints.schema_registry_url)
    member = f"{kafka.client_id}-ingest-{uuid.uuid4().hex[:8]}"
    consumer = make_consumer(
        kafka,
        group_id=f"{settings.topics.consumer_group}.ingest",
        client_id=member,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        session_timeout_ms=settings.worker.session_timeout_ms,
        heartbeat_interval_ms=max(1000, settings.worker.session_timeout_ms // 5),
    )
    producer = make_producer(kafka, acks="all", linger_ms=5)
    ingest = Ingest(
        KafkaSourceReader(consumer, topics),
        EventPublisher(producer, settings.topics.events, partitions, codec),
        DeadLetterPublisher(producer, settings.topics.dead_letter, topics[0]),
        decode,
        RecordMapper(spec),
        max_records=settings.worker.max_poll_records,
        rejoin_after_s=settings.worker.stall_s,
    )
    done = threading.Event()

    def run() -> None:
        try:
            ingest.run(done)  # the block ends when the worker stops
        except Exception:
            log.exception("the ingest stage stopped; stopping the worker")
            stop.set()

    thread = threading.Thread(target=run, name="driftline-ingest", daemon=True)
    log.info("ingesting %s into %s", ", ".join(topics), settings.topics.events)
    thread.start()
    try:
        yield ingest
    finally:
        done.set()
        thread.join(timeout=60)
        producer.close(timeout=10)


class IngestAwareSource:
    """The worker's source, whose lag counts what the ingest stage has not republished:
    a bounded run (``--until-idle``) ends only once the user's topics are read too."""

    def __init__(self, source: RecordSource, ingest: Ingest) -> None:
        self._source = source
        self._ingest = ingest

    def lag(self) -> int:
        return self._source.lag() + self._ingest.backlog()

    def poll(self, timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        return self._source.poll(timeout_ms, max_records)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)
