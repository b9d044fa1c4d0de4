"""A namespace's topics, and with ``fresh`` a clean slate: topics and state both new."""

from __future__ import annotations

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.adapters.topics import prepare_topics
from driftline.consumers.reset import forget_state
from driftline.consumers.runner import checkpoint_store

__all__ = ["prepare_namespace"]


def prepare_namespace(settings: Settings, endpoints: Endpoints, *, fresh: bool) -> dict[str, str]:
    """Create the topics; with ``fresh`` recreate them and forget checkpoints and outputs.

    Returns what happened to each topic, and with ``fresh`` to the state (``"state"``).
    """
    kafka = settings.kafka.at(endpoints.bootstrap)
    outcome = prepare_topics(kafka, settings.namespace, fresh=fresh)
    if fresh:
        client = make_redis(endpoints.redis_url)
        try:
            store = checkpoint_store(settings.checkpoints, settings.namespace, client)
            gone = forget_state(client, settings.namespace, store)
        finally:
            client.close()
        outcome["state"] = (
            f"forgot {gone.checkpoints} checkpoint(s) and {gone.predictions} prediction(s)"
        )
    return outcome
