"""The one place Kafka clients are made, from
:class:`~pipeline.adapters.settings.KafkaSettings`.

Everything else receives a client (or a factory) and never reads settings itself.
kafka-python 3.x: the producer is idempotent with ``acks="all"`` by default; we say so
explicitly anyway, since losing an acknowledged event is the one thing we must not do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from pipeline.adapters.settings import KafkaSettings
from pipeline.core.errors import ServiceUnavailable

__all__ = ["admin_client", "make_admin", "make_consumer", "make_producer"]

_T = TypeVar("_T")


def _common(config: KafkaSettings) -> dict[str, Any]:
    if not config.bootstrap:
        raise ServiceUnavailable("no Kafka bootstrap servers: set DRIFTLINE_KAFKA_BOOTSTRAP")
    options: dict[str, Any] = {
        "bootstrap_servers": config.bootstrap.split(","),
        "client_id": config.client_id,
        "security_protocol": config.security_protocol,
        "request_timeout_ms": config.request_timeout_ms,
        "bootstrap_timeout_ms": config.request_timeout_ms,
    }
    if config.sasl_mechanism:
        options["sasl_mechanism"] = config.sasl_mechanism
        options["sasl_plain_username"] = config.sasl_username
        if config.sasl_password is not None:
            options["sasl_plain_password"] = config.sasl_password.get_secret_value()
    return options


def _connect(factory: Callable[..., _T], config: KafkaSettings, **options: Any) -> _T:
    try:
        return factory(**(_common(config) | options))
    except KafkaTimeoutError as exc:
        raise ServiceUnavailable(
            f"no Kafka broker answered at {config.bootstrap}; start one with "
            "'driftline stack up' or set DRIFTLINE_KAFKA_BOOTSTRAP"
        ) from exc
    except KafkaError as exc:
        raise ServiceUnavailable(f"Kafka at {config.bootstrap}: {exc}") from exc


def make_producer(config: KafkaSettings, **options: Any) -> KafkaProducer:
    """An idempotent producer that waits for all in-sync replicas (``acks="all"``)."""
    defaults: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_in_flight_requests_per_connection": 5,
    }
    return _connect(KafkaProducer, config, **(defaults | options))


def make_consumer(config: KafkaSettings, **options: Any) -> KafkaConsumer:
    """A consumer; ``options`` are kafka-python consumer settings (group_id, ...)."""
    return _connect(KafkaConsumer, config, **options)


def make_admin(config: KafkaSettings, **options: Any) -> KafkaAdminClient:
    """An admin client (topics, cluster description)."""
    return _connect(KafkaAdminClient, config, **options)


@contextmanager
def admin_client(config: KafkaSettings, **options: Any) -> Iterator[KafkaAdminClient]:
    """:func:`make_admin` as a context manager that always closes the client."""
    admin = make_admin(config, **options)
    try:
        yield admin
    finally:
        admin.close()
