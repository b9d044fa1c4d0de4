"""Where Kafka and Redis are: an existing cluster from settings, or the local stack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.errors import ServiceUnavailable
from pipeline.settings import Settings, mask_url
from pipeline.stack import LocalStack

__all__ = ["Endpoints", "resolve_endpoints"]


@dataclass(frozen=True)
class Endpoints:
    """Bootstrap servers and Redis URL, and where they came from."""

    bootstrap: str
    redis_url: str
    source: Literal["settings", "local-stack"]

    def describe(self) -> str:
        return f"Kafka {self.bootstrap}, Redis {mask_url(self.redis_url)} (from {self.source})"


def resolve_endpoints(settings: Settings) -> Endpoints:
    """Settings win when both are set; otherwise the running local stack answers."""
    if settings.kafka_bootstrap and settings.redis_url:
        return Endpoints(
            settings.kafka_bootstrap, settings.redis_url.get_secret_value(), "settings"
        )
    status = LocalStack(settings.stack).status()
    if not status.running or not status.bootstrap_servers or not status.redis_url:
        raise ServiceUnavailable(
            "no Kafka/Redis: run 'driftline stack up' (local stack in "
            f"{settings.stack.home}) or set DRIFTLINE_KAFKA_BOOTSTRAP and DRIFTLINE_REDIS_URL"
        )
    bootstrap = settings.kafka_bootstrap or status.bootstrap_servers
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else status.redis_url
    return Endpoints(bootstrap, redis_url, "local-stack")
