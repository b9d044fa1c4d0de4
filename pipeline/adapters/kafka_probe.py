"""Whether a Kafka cluster answers, and how many brokers it has registered: the probe the
local stack polls while its brokers boot (:func:`driftline.stack.readiness.wait_kafka`)."""

from __future__ import annotations

from kafka.errors import KafkaError

from driftline.adapters.kafka_clients import admin_client
from driftline.adapters.settings import KafkaSettings
from driftline.core.errors import ServiceUnavailable

__all__ = ["registered_brokers"]


def registered_brokers(config: KafkaSettings) -> int:
    """How many brokers the cluster at ``config.bootstrap`` has registered.

    Raises :class:`~driftline.core.errors.ServiceUnavailable` (with kafka-python's message)
    when it does not answer, and ``OSError`` when a socket fails.
    """
    try:
        with admin_client(config) as admin:
            return len(admin.describe_cluster()["brokers"])
    except KafkaError as exc:
        raise ServiceUnavailable(str(exc)) from exc
