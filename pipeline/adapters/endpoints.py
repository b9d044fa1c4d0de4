"""Where Kafka and Redis are: an existing cluster from settings, or a fallback's answer.

>>> kafka, redis = KafkaSettings(bootstrap="k:9092"), RedisSettings(url="redis://r:6379/0")
>>> resolve_endpoints(kafka, redis, fallback=lambda: None).describe()
'Kafka k:9092, Redis redis://r:6379/0 (from settings)'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from driftline.adapters.settings import KafkaSettings, RedisSettings, mask_url
from driftline.core.errors import ServiceUnavailable

__all__ = ["Endpoints", "resolve_endpoints"]


@dataclass(frozen=True)
class Endpoints:
    """Bootstrap servers and Redis URL, and where they came from; the local stack's schema
    registry (``stack up --registry``) when it runs one."""

    bootstrap: str
    redis_url: str
    source: Literal["settings", "local-stack"]
    schema_registry_url: str | None = None

    def describe(self) -> str:
        return f"Kafka {self.bootstrap}, Redis {mask_url(self.redis_url)} (from {self.source})"


def resolve_endpoints(
    kafka: KafkaSettings, redis: RedisSettings, fallback: Callable[[], Endpoints | None]
) -> Endpoints:
    """Settings win when both are set; otherwise ``fallback`` (the local stack) answers.

    A setting given alone overrides the fallback's answer for that service. A Redis URL
    from settings gets their password file and TLS files (:meth:`RedisSettings.client_url`);
    the local stack's URL carries its own. Kafka's security stays in the Kafka settings.
    """
    url = redis.client_url(redis.url.get_secret_value()) if redis.url else None
    if kafka.bootstrap and url:
        return Endpoints(kafka.bootstrap, url, "settings")
    found = fallback()
    if found is None:
        raise ServiceUnavailable(
            "no Kafka/Redis: run 'driftline stack up' or set DRIFTLINE_KAFKA_BOOTSTRAP and "
            "DRIFTLINE_REDIS_URL"
        )
    return Endpoints(
        kafka.bootstrap or found.bootstrap,
        url or found.redis_url,
        found.source,
        found.schema_registry_url,
    )
