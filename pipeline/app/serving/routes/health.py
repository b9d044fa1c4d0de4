"""``/health``: the detailed report: Redis and Kafka reachable, the consumer group's lag,
the newest prediction's age. For people and dashboards, not for a probe: a Kubernetes
probe asks ``/livez`` and ``/readyz`` (:mod:`.probes`)."""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from driftline.app.serving.models import Health
from driftline.app.serving.responses import SafeJSON
from driftline.core.errors import ServiceUnavailable
from driftline.read.reader import PredictionsClient

__all__ = ["router"]

#: The group's lag per partition, from Kafka.
Lag = Callable[[], dict[int, int]]


def router(reader: PredictionsClient, lag: Lag | None, namespace: str) -> APIRouter:
    """The health route of ``namespace``: Redis through ``reader``, Kafka through
    ``lag`` (``None``: not reported)."""
    routes = APIRouter(tags=["service"])

    @routes.get(
        "/health",
        response_model=Health,
        responses={503: {"model": Health, "description": "Redis unavailable: the same report"}},
    )
    def health() -> SafeJSON:
        """Redis and Kafka reachable, the consumer group's lag per partition, and the age
        of the newest prediction. 200 when Redis answers (Kafka down is ``degraded``:
        predictions are still served), 503 when Redis does not. Probes: ``/livez`` and
        ``/readyz``."""
        body: dict[str, Any] = {"namespace": namespace}
        status = 200
        try:
            body["redis"] = {"reachable": True} | reader.freshness()
        except ServiceUnavailable as exc:
            body["redis"] = {"reachable": False, "error": str(exc)}
            status = 503
        body["kafka"] = kafka_health(lag)
        kafka_ok = body["kafka"]["reachable"] is not False
        body["status"] = "ok" if status == 200 and kafka_ok else "degraded"
        if status != 200:
            body["status"] = "unavailable"
        return SafeJSON(body, status_code=status)

    return routes


def kafka_health(lag: Lag | None) -> dict[str, Any]:
    """Whether Kafka answers, and the group's lag per partition and in all.

    >>> kafka_health(lambda: {1: 0, 0: 3})
    {'reachable': True, 'lag': {'0': 3, '1': 0}, 'total_lag': 3}
    >>> kafka_health(None)
    {'reachable': None}
    """
    if lag is None:
        return {"reachable": None}
    try:
        lags = lag()
    except ServiceUnavailable as exc:
        return {"reachable": False, "error": str(exc)}
    return {
        "reachable": True,
        "lag": {str(p): n for p, n in sorted(lags.items())},
        "total_lag": sum(lags.values()),
    }
