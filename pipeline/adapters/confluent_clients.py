"""confluent-kafka clients (``pip install 'driftline[fast]'``), from the same
:class:`~driftline.adapters.settings.KafkaSettings` as the kafka-python ones.

``DRIFTLINE_KAFKA_CLIENT=confluent`` chooses them; the library is imported only then.
The settings are checked and read by :func:`~driftline.adapters.kafka_clients.client_options`
(one place for the TLS and SASL rules and the password file), then renamed to librdkafka's
properties. A client that reaches no broker within the request timeout is a one-line
:class:`~driftline.core.errors.ServiceUnavailable`, as with kafka-python. librdkafka logs
to the ``kafka.librdkafka`` logger: under ``kafka``, which the command quiets unless
``-vv``, as it quiets kafka-python's connection chatter.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from driftline.adapters.confluent_producer import ConfluentProducer, kafka_error
from driftline.adapters.kafka_clients import client_options, make_producer
from driftline.adapters.settings import KafkaSettings
from driftline.core.errors import ConfigError, ServiceUnavailable

__all__ = [
    "client_config",
    "confluent_kafka",
    "make_client_producer",
    "make_confluent_consumer",
    "make_confluent_producer",
]

log = logging.getLogger(__name__)
librdkafka_log = logging.getLogger("kafka.librdkafka")

#: kafka-python's option names -> librdkafka's property names (what the producer factories
#: of this project pass: the publisher's delivery bounds and the producer defaults).
_PRODUCER_OPTIONS = {
    "acks": "acks",
    "enable_idempotence": "enable.idempotence",
    "linger_ms": "linger.ms",
    "batch_size": "batch.size",
    "max_in_flight_requests_per_connection": "max.in.flight",
    "delivery_timeout_ms": "delivery.timeout.ms",
}

#: librdkafka errors that say no broker answered (or a broker refused this client).
_UNREACHABLE = {"_TRANSPORT", "_ALL_BROKERS_DOWN", "_TIMED_OUT", "_AUTHENTICATION", "_SSL"}


def confluent_kafka() -> ModuleType:
    """The ``confluent_kafka`` module, or a one-line :class:`ConfigError` saying how to
    install it."""
    try:
        import confluent_kafka as module
    except ImportError as exc:
        raise ConfigError(
            "DRIFTLINE_KAFKA_CLIENT=confluent needs confluent-kafka: pip install 'driftline[fast]'"
        ) from exc
    return module


def client_config(config: KafkaSettings) -> dict[str, Any]:
    """The librdkafka properties every client gets from ``config`` (secrets included:
    never log them).

    >>> properties = client_config(KafkaSettings(
    ...     bootstrap="k1:9093,k2:9093", security_protocol="SASL_SSL",
    ...     sasl_mechanism="scram-sha-512", sasl_username="app", sasl_password="pw"))
    >>> properties["bootstrap.servers"], properties["sasl.mechanism"], properties["sasl.password"]
    ('k1:9093,k2:9093', 'SCRAM-SHA-512', 'pw')
    """
    options = client_options(config)  # checked: bootstrap, TLS files, password file read
    timeout_ms = config.request_timeout_ms
    properties: dict[str, Any] = {
        "bootstrap.servers": ",".join(options["bootstrap_servers"]),
        "client.id": options["client_id"],
        "security.protocol": options["security_protocol"],
        # librdkafka wants a socket timeout of at least its fetch wait (500 ms) + 1 s
        "socket.timeout.ms": max(timeout_ms, 1_500),
        "socket.connection.setup.timeout.ms": timeout_ms,
        "logger": librdkafka_log,
        "error_cb": _log_error,
    }
    renamed = {
        "sasl_mechanism": "sasl.mechanism",
        "sasl_plain_username": "sasl.username",
        "sasl_plain_password": "sasl.password",
        "ssl_cafile": "ssl.ca.location",
        "ssl_certfile": "ssl.certificate.location",
        "ssl_keyfile": "ssl.key.location",
        "ssl_password": "ssl.key.password",
    }
    for name, property_name in renamed.items():
        if options.get(name) is not None:
            properties[property_name] = options[name]
    return properties


def _log_error(error: Any) -> None:
    """librdkafka's client-wide errors: it retries them itself (a fatal one ends the
    client, and the consumer also reports it to its reader)."""
    if error.fatal():
        log.error("Kafka client failed: %s", error.str())
    else:
        librdkafka_log.debug("%s: %s", error.name(), error.str())


def _answered(client: Any, config: KafkaSettings) -> None:
    """Wait until a broker answers a metadata request (at most the request timeout)."""
    module = confluent_kafka()
    try:
        client.list_topics(timeout=config.request_timeout_ms / 1000)
    except module.KafkaException as exc:
        error = exc.args[0]
        if error.name() in _UNREACHABLE:
            refused = (
                ""
                if config.security_protocol == "PLAINTEXT"
                else f" over {config.security_protocol} (or it refused this client's "
                "credentials, certificate or CA)"
            )
            raise ServiceUnavailable(
                f"no Kafka broker answered at {config.bootstrap}{refused}; start one with "
                "'driftline stack up' or set DRIFTLINE_KAFKA_BOOTSTRAP"
            ) from exc
        raise ServiceUnavailable(f"Kafka at {config.bootstrap}: {kafka_error(error)}") from exc


def make_confluent_consumer(config: KafkaSettings, properties: Mapping[str, Any]) -> Any:
    """A ``confluent_kafka.Consumer`` that a broker answered; ``properties`` are
    librdkafka consumer properties (``group.id``, ...)."""
    module = confluent_kafka()
    consumer = module.Consumer(client_config(config) | dict(properties))
    try:
        _answered(consumer, config)
    except ServiceUnavailable:
        consumer.close()
        raise
    return consumer


def make_confluent_producer(
    config: KafkaSettings,
    properties: Mapping[str, Any] | None = None,
    *,
    max_block_ms: int | None = None,
) -> ConfluentProducer:
    """An idempotent producer that waits for all in-sync replicas (``acks=all``), with
    the kafka-python producer's defaults and partitioner (murmur2: a key lands in the same
    partition whichever client sends it), behind kafka-python's interface.

    ``max_block_ms`` bounds a send waiting for queue room and how long a topic missing
    from the metadata is waited for (kafka-python's ``max_block_ms``).
    """
    module = confluent_kafka()
    block_ms = config.request_timeout_ms if max_block_ms is None else max_block_ms
    defaults: dict[str, Any] = {
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "batch.size": 256 * 1024,
        "max.in.flight": 5,
        "partitioner": "murmur2_random",
        "request.timeout.ms": config.request_timeout_ms,
        "delivery.timeout.ms": 120_000,
        "topic.metadata.propagation.max.ms": block_ms,
        "queue.buffering.max.kbytes": 32 * 1024,  # kafka-python's buffer_memory
    }
    producer = module.Producer(client_config(config) | defaults | dict(properties or {}))
    try:
        _answered(producer, config)
    except ServiceUnavailable:
        producer.purge()
        producer.close()
        raise
    return ConfluentProducer(producer, max_block_ms=block_ms)


def make_client_producer(config: KafkaSettings, **options: Any) -> Any:
    """A producer of the client ``config.client`` chooses, with kafka-python's interface
    and option names (``delivery_timeout_ms``, ``max_block_ms``, ``linger_ms``...).

    >>> make_client_producer(KafkaSettings(client="confluent", bootstrap="k:9092"), retries=3)
    Traceback (most recent call last):
    ...
    TypeError: no confluent-kafka equivalent of the producer option 'retries'
    """
    if config.client == "kafka-python":
        return make_producer(config, **options)
    max_block_ms = options.pop("max_block_ms", None)
    properties = {}
    for name, value in options.items():
        if name not in _PRODUCER_OPTIONS:
            raise TypeError(f"no confluent-kafka equivalent of the producer option {name!r}")
        properties[_PRODUCER_OPTIONS[name]] = value
    return make_confluent_producer(config, properties, max_block_ms=max_block_ms)
