"""The one place Redis clients are made."""

from __future__ import annotations

import redis

from pipeline.adapters.settings import mask_url
from pipeline.core.errors import ConfigError, ServiceUnavailable

__all__ = ["make_redis"]


def make_redis(url: str, *, check: bool = True, timeout_s: float = 30.0) -> redis.Redis:
    """A client for ``url`` (``decode_responses`` off: values are bytes); pinged by default.

    A command without an answer for ``timeout_s`` fails (the worker then waits the outage
    out and retries); a URL that is not a Redis URL is a :class:`ConfigError`.
    """
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=min(5.0, timeout_s), socket_timeout=timeout_s
        )
    except ValueError as exc:
        raise ConfigError(f"the Redis URL {mask_url(url)!r} is not valid: {exc}") from exc
    if check:
        try:
            client.ping()
        except redis.RedisError as exc:
            client.close()
            raise ServiceUnavailable(f"Redis at {mask_url(url)} did not answer: {exc}") from exc
    return client
