"""The one place Kafka clients are made, from
:class:`~driftline.adapters.settings.KafkaSettings`.

Everything else receives a client (or a factory) and never reads settings itself.
kafka-python 3.x: the producer is idempotent with ``acks="all"`` by default; we say so
explicitly anyway, since losing an acknowledged event is the one thing we must not do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.net.compat import KafkaNetClient

from driftline.adapters.settings import KafkaSettings
from driftline.core.errors import ConfigError, ServiceUnavailable

__all__ = ["admin_client", "client_options", "make_admin", "make_consumer", "make_producer"]

_T = TypeVar("_T")

log = logging.getLogger(__name__)


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
        password = config.sasl_password_text()  # a password file is read now, at use
        if password is not None:
            options["sasl_plain_password"] = password
    files = {
        "ssl_cafile": config.ssl_cafile,
        "ssl_certfile": config.ssl_certfile,
        "ssl_keyfile": config.ssl_keyfile,
    }
    given = {name: path for name, path in files.items() if path is not None}
    if given and not config.security_protocol.endswith("SSL"):
        raise ConfigError(
            f"DRIFTLINE_KAFKA_{next(iter(given)).upper()} is set but "
            f"DRIFTLINE_KAFKA_SECURITY_PROTOCOL is {config.security_protocol}: use SSL or SASL_SSL"
        )
    for name, path in given.items():
        if not path.is_file():
            raise ConfigError(f"DRIFTLINE_KAFKA_{name.upper()} {path}: no such file")
        options[name] = str(path)
    if config.ssl_password is not None:
        options["ssl_password"] = config.ssl_password.get_secret_value()
    return options


def client_options(config: KafkaSettings) -> dict[str, Any]:
    """The kafka-python options every client gets from ``config`` (secrets included:
    never log them).

    >>> options = client_options(KafkaSettings(
    ...     bootstrap="k1:9093", security_protocol="SASL_SSL", sasl_mechanism="scram-sha-512",
    ...     sasl_username="app", sasl_password="pw"))
    >>> options["security_protocol"], options["sasl_mechanism"], options["sasl_plain_password"]
    ('SASL_SSL', 'SCRAM-SHA-512', 'pw')
    """
    return _common(config)


def _construct(factory: Callable[..., _T], config: KafkaSettings, **options: Any) -> _T:
    """``factory(...)`` with the common options; a client that fails to start is closed.

    kafka-python 3.0.12 starts a client's I/O thread before it bootstraps and leaves it
    running when the bootstrap fails: each failed attempt (a readiness probe while the
    broker boots) leaked a live thread and its sockets. The network clients made for the
    attempt are recorded here and closed when the constructor raises.
    """
    made: list[KafkaNetClient] = []

    def net_client(**kwargs: Any) -> KafkaNetClient:
        client = KafkaNetClient(**kwargs)
        made.append(client)
        return client

    try:
        return factory(**(_common(config) | {"kafka_client": net_client} | options))
    except BaseException:
        for client in made:
            _close_quietly(client)
        raise


def _close_quietly(client: KafkaNetClient) -> None:
    try:
        client.close()  # stops its I/O thread too
    except Exception as exc:  # already broken: nothing more to free
        log.debug("a failed Kafka client did not close cleanly (%s)", exc)


def _connect(factory: Callable[..., _T], config: KafkaSettings, **options: Any) -> _T:
    try:
        return _construct(factory, config, **options)
    except KafkaTimeoutError as exc:
        refused = (
            ""
            if config.security_protocol == "PLAINTEXT"
            else f" over {config.security_protocol} (or it refused this client's credentials,"
            " certificate or CA)"
        )
        raise ServiceUnavailable(
            f"no Kafka broker answered at {config.bootstrap}{refused}; start one with "
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
