"""``/livez`` and ``/readyz``: the probes of an orchestrator, apart.

``/livez`` answers 200 as long as the event loop runs (it asks nothing else: a Redis
outage must not get the server restarted); ``/readyz`` answers 200 when Redis and Kafka
answer and 503 naming which does not (Kubernetes then stops sending it traffic until
they are back); its ``warnings`` say what may go wrong while it is ready (a Redis that
evicts predictions when full).
"""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
from typing import Any

from fastapi import APIRouter

from driftline.app.serving.models import Liveness, Readiness
from driftline.app.serving.responses import SafeJSON
from driftline.app.serving.routes.health import Lag, kafka_health
from driftline.core.errors import ServiceUnavailable
from driftline.read.reader import PredictionsClient

__all__ = ["readiness", "router"]


def router(reader: PredictionsClient, lag: Lag | None) -> APIRouter:
    """The probes: Redis through ``reader``, Kafka through ``lag`` (``None``: not
    checked, so not a reason to be unready)."""
    routes = APIRouter(tags=["service"])

    @routes.get("/livez", response_model=Liveness)
    async def livez() -> dict[str, str]:
        """200 while the process's event loop answers (run in the loop itself, no thread):
        the liveness probe. Nothing else is asked."""
        return {"status": "alive"}

    @routes.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Redis or Kafka unreachable"}},
    )
    def readyz() -> SafeJSON:
        """200 when Redis and Kafka answer, else 503 with which does not: the readiness
        probe."""
        body = readiness(reader, lag)
        return SafeJSON(body, status_code=200 if body["ready"] else 503)

    return routes


def readiness(reader: PredictionsClient, lag: Lag | None) -> dict[str, Any]:
    """Whether Redis and Kafka answer, and why not.

    >>> class Down:
    ...     def freshness(self):
    ...         raise ServiceUnavailable("Redis did not answer: ConnectionError")
    >>> answer = readiness(Down(), lambda: {0: 1})
    >>> answer["ready"], answer["kafka"], answer["redis"]["error"]
    (False, {'reachable': True, 'error': None}, 'Redis did not answer: ConnectionError')

    A Redis that may evict predictions is ready, with a warning:

    >>> class Evicting:
    ...     def freshness(self):
    ...         return {}
    ...     def memory_warning(self):
    ...         return "Redis evicts keys with a time to live when full"
    >>> answer = readiness(Evicting(), None)
    >>> answer["ready"], answer["warnings"]
    (True, ['Redis evicts keys with a time to live when full'])
    """
    warning = None
    try:
        reader.freshness()
        redis: dict[str, Any] = {"reachable": True, "error": None}
        warning = reader.memory_warning()
    except ServiceUnavailable as exc:
        redis = {"reachable": False, "error": str(exc)}
    kafka = kafka_health(lag)
    kafka_check = {"reachable": kafka["reachable"], "error": kafka.get("error")}
    ready = redis["reachable"] and kafka_check["reachable"] is not False
    warnings = [warning] if warning else []
    return {"ready": ready, "redis": redis, "kafka": kafka_check, "warnings": warnings}
