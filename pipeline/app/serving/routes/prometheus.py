"""``/metrics``: every task's figures in the Prometheus text format."""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import CollectorRegistry
from prometheus_client.exposition import generate_latest

from driftline.adapters.prometheus import SnapshotCollector
from driftline.app.serving.openapi import problems
from driftline.read.reader import PredictionsClient

__all__ = ["router"]


def router(reader: PredictionsClient, namespace: str = "driftline") -> APIRouter:
    """The Prometheus exposition of the snapshots ``reader`` reads, every series labelled
    with ``namespace``, and ``driftline_build_info``."""
    routes = APIRouter(tags=["metrics"])

    @routes.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {
                "description": "The Prometheus text format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            **problems(503),
        },
    )
    def prometheus() -> Response:
        """Every task's figures in the Prometheus text format (as each worker's own
        ``--metrics-port`` names them, read from Redis)."""
        snapshots = list(reader.task_metrics().values())  # a Redis outage: 503
        registry = CollectorRegistry(auto_describe=False)
        registry.register(SnapshotCollector(lambda: snapshots, namespace))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return routes
