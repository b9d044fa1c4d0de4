"""The one place Redis clients are made."""

from __future__ import annotations

import redis

from pipeline.adapters.settings import mask_url
from pipeline.core.errors import ServiceUnavailable

__all__ = ["make_redis"]


def make_redis(url: str, *, check: bool = True) -> redis.Redis:
    """A client for ``url`` (``decode_responses`` off: values are bytes); pinged by default."""
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
    if check:
        try:
            client.ping()
        except redis.RedisError as exc:
            client.close()
            raise ServiceUnavailable(f"Redis at {mask_url(url)} did not answer: {exc}") from exc
    return client
