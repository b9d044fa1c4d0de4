"""Wait, with a deadline, until the stack's Kafka, Redis and schema registry answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis

from driftline.adapters.settings import KafkaSettings, mask_url
from driftline.core.errors import SchemaRegistryError, ServiceUnavailable

__all__ = ["wait_kafka", "wait_redis", "wait_registry"]


def _never() -> None:
    """A process check with nothing to check."""


def wait_redis(url: str, deadline: float, check: Callable[[], None] = _never) -> None:
    """Poll until Redis at ``url`` (with its password) answers PING.

    ``check`` raises if the process died, so a crash is reported at once with its log
    instead of at the deadline. A refused password fails at once (waiting would not change
    it); the URL is reported masked.
    """
    last: object = None
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.AuthenticationError as exc:  # it answers, but not to this password
                raise ServiceUnavailable(
                    f"Redis at {mask_url(url)} refused the password: {exc}"
                ) from exc
            except redis.RedisError as exc:
                last = exc
            check()
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"Redis at {mask_url(url)} did not answer in time: {last}")
            time.sleep(0.1)
    finally:
        client.close()


def wait_kafka(
    bootstrap: str,
    brokers: int,
    deadline: float,
    check: Callable[[], None] = _never,
    client: KafkaSettings | None = None,
) -> None:
    """Poll until ``bootstrap`` answers and sees ``brokers`` brokers registered.

    Given one broker's address it waits for that very broker: a broker answers only once
    it has started. ``client`` gives the security of the clients (a secured stack).
    """
    config = (client or KafkaSettings()).model_copy(
        update={"bootstrap": bootstrap, "client_id": "driftline-stack", "request_timeout_ms": 3000}
    )
    quiet = logging.getLogger("kafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # refused connections are expected while it boots
    try:
        _poll_kafka(config, brokers, deadline, check)
    finally:
        quiet.setLevel(level)


def _poll_kafka(
    config: KafkaSettings, brokers: int, deadline: float, check: Callable[[], None]
) -> None:
    # imported here: a command that only reads the stack (its endpoints) stays quick
    from driftline.adapters.kafka_probe import registered_brokers

    last: object = None
    while time.monotonic() < deadline:
        check()
        try:
            seen = registered_brokers(config)
        except (ServiceUnavailable, OSError) as exc:
            last = exc
        else:
            if seen >= brokers:
                return
            last = f"{seen} of {brokers} brokers registered"
        time.sleep(0.25)
    raise ServiceUnavailable(f"Kafka at {config.bootstrap} was not ready in time: {last}")


def wait_registry(url: str, deadline: float, check: Callable[[], None] = _never) -> None:
    """Poll until the schema registry at ``url`` lists its subjects (HTTP 200)."""
    from driftline.adapters.registry import RegistryClient  # as registered_brokers

    client = RegistryClient(url, timeout_s=2)
    last: object = None
    while True:
        try:
            client.subjects()
            return
        except (ServiceUnavailable, SchemaRegistryError) as exc:
            last = exc
        check()
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"the schema registry at {url} did not answer in time: {last}")
        time.sleep(0.25)
