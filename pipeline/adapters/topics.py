"""Topic specs and their creation: the ingest clock is the broker's (``LogAppendTime``),
or, for a rebased replay, the replay's schedule (``CreateTime``, ``timestamps="replay"``).

>>> specs = topic_specs("demo", partitions=4, replication_factor=-1, brokers=1,
...                     retention_ms=1000)
>>> sorted(specs)
['demo.alerts', 'demo.dead-letter', 'demo.events']
>>> specs["demo.events"]["configs"]["message.timestamp.type"]
'LogAppendTime'
>>> specs["demo.events"]["num_partitions"], specs["demo.events"]["replication_factor"]
(4, 1)
>>> topic_specs("demo", partitions=1, replication_factor=1, brokers=1, retention_ms=1000,
...             timestamps="replay")["demo.events"]["configs"]["message.timestamp.type"]
'CreateTime'
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Literal

from kafka import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError, UnknownTopicOrPartitionError

from driftline.adapters.kafka_clients import admin_client
from driftline.adapters.settings import KafkaSettings, TopicNames
from driftline.core.errors import ConfigError, ServiceUnavailable

__all__ = [
    "delete_topics",
    "ensure_alerts_topic",
    "ensure_topics",
    "partition_counts",
    "prepare_topics",
    "topic_specs",
]

log = logging.getLogger(__name__)


def topic_specs(
    namespace: str,
    *,
    partitions: int,
    replication_factor: int,
    brokers: int,
    retention_ms: int,
    timestamps: Literal["broker", "replay"] = "broker",
) -> dict[str, dict[str, Any]]:
    """The kafka-python 3.x ``create_topics`` dict for a namespace's topics.

    The events topic stamps every record with the broker's append time, so the ingest
    clock cannot be forged by a producer; with ``timestamps="replay"`` it keeps the
    producer's stamp instead, which a rebased replay sets to each event's scheduled
    arrival: lateness is then the replayed stream's, not the machine's (a producer that
    falls behind on a busy machine does not make events late). The dead-letter topic
    keeps the producer's time (the original record's timestamp travels in headers).
    """
    if partitions < 1:
        raise ConfigError(f"partitions must be at least 1, got {partitions}")
    if replication_factor == 0 or replication_factor < -1:
        raise ConfigError(
            f"replication factor must be -1 (automatic) or at least 1, got {replication_factor}"
        )
    replication = replication_factor if replication_factor > 0 else min(3, brokers)
    if replication > brokers:
        raise ConfigError(f"replication factor {replication} exceeds the {brokers} broker(s)")
    min_isr = str(max(1, min(2, replication - 1)))
    names = TopicNames(namespace)
    return {
        names.events: {
            "num_partitions": partitions,
            "replication_factor": replication,
            "configs": {
                "message.timestamp.type": (
                    "LogAppendTime" if timestamps == "broker" else "CreateTime"
                ),
                "retention.ms": str(retention_ms),
                "min.insync.replicas": min_isr,
            },
        },
        names.dead_letter: {
            "num_partitions": 1,
            "replication_factor": replication,
            "configs": {"retention.ms": str(retention_ms), "min.insync.replicas": min_isr},
        },
        names.alerts: {
            "num_partitions": 1,
            "replication_factor": replication,
            "configs": {"retention.ms": str(retention_ms), "min.insync.replicas": min_isr},
        },
    }


def partition_counts(admin: KafkaAdminClient, topics: list[str]) -> dict[str, int]:
    """Partitions of each existing topic among ``topics`` (missing topics are left out)."""
    counts: dict[str, int] = {}
    for topic in admin.describe_topics(topics):
        if topic.get("error_code", 0) == 0 and topic.get("partitions"):
            counts[topic["name"]] = len(topic["partitions"])
    return counts


def delete_topics(admin: KafkaAdminClient, topics: list[str], timeout_s: float = 60) -> None:
    """Delete ``topics`` (those that exist) and wait until the cluster no longer lists them."""
    existing = [t for t in topics if t in set(admin.list_topics())]
    if not existing:
        return
    with contextlib.suppress(UnknownTopicOrPartitionError):  # deleted concurrently
        admin.delete_topics(existing, timeout_ms=int(timeout_s * 1000))
    deadline = time.monotonic() + timeout_s
    while set(existing) & set(admin.list_topics()):
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"topics {existing} were not deleted in {timeout_s:.0f} s")
        time.sleep(0.2)


def ensure_topics(
    admin: KafkaAdminClient, specs: dict[str, dict[str, Any]], *, fresh: bool = False
) -> dict[str, str]:
    """Create the topics in ``specs``; return what happened to each (created/existed).

    With ``fresh`` the topics are deleted first. An existing topic with a different
    partition count is an error: keys would land in other partitions than the state
    that was built for them.
    """
    if fresh:
        delete_topics(admin, list(specs))
    existing = partition_counts(admin, list(specs))
    outcome: dict[str, str] = {}
    for name, spec in specs.items():
        if name in existing:
            if existing[name] != spec["num_partitions"]:
                raise ConfigError(
                    f"topic {name} exists with {existing[name]} partitions, not "
                    f"{spec['num_partitions']}; use --fresh to recreate it or pass "
                    f"--partitions {existing[name]}"
                )
            outcome[name] = "existed"
    missing = {name: spec for name, spec in specs.items() if name not in existing}
    if missing:
        try:
            admin.create_topics(missing, timeout_ms=30_000, wait_for_metadata=True)
        except TopicAlreadyExistsError:
            log.info("topics %s were created concurrently", sorted(missing))
        for name in missing:
            outcome[name] = "created"
    return outcome


def prepare_topics(kafka: KafkaSettings, namespace: str, *, fresh: bool = False) -> dict[str, str]:
    """Create (or with ``fresh`` recreate) the namespace's topics as the settings say.

    ``kafka`` must name its bootstrap servers (:meth:`KafkaSettings.at`).
    """
    try:
        return _prepare(kafka, namespace, fresh)
    except KafkaError as exc:  # e.g. no quorum: the admin's broker is gone
        raise ServiceUnavailable(
            f"Kafka at {kafka.bootstrap} could not prepare topics: {exc}"
        ) from exc


def ensure_alerts_topic(kafka: KafkaSettings, namespace: str) -> str:
    """Create ``<ns>.alerts`` if it is missing ("created"/"existed"): a namespace whose
    topics an older driftline made has none, and the worker publishes alerts there."""
    name = TopicNames(namespace).alerts
    try:
        return _prepare(kafka, namespace, False, only=name)[name]
    except KafkaError as exc:
        raise ServiceUnavailable(f"Kafka at {kafka.bootstrap} did not make {name}: {exc}") from exc


def _prepare(
    kafka: KafkaSettings, namespace: str, fresh: bool, only: str | None = None
) -> dict[str, str]:
    with admin_client(kafka) as admin:
        brokers = len(admin.describe_cluster()["brokers"])
        specs = topic_specs(
            namespace,
            partitions=kafka.partitions,
            replication_factor=kafka.replication_factor,
            brokers=brokers,
            retention_ms=kafka.retention_ms,
            timestamps=kafka.timestamps,
        )
        if only is not None:
            specs = {only: specs[only]}
        return ensure_topics(admin, specs, fresh=fresh)
