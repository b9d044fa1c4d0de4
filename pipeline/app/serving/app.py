"""The HTTP API of ``driftline serve``: predictions, metrics, health, a live stream.

An ASGI app (FastAPI) that only translates: every read goes through
:class:`~driftline.read.reader.PredictionsClient` (Redis) or
:class:`~driftline.read.lag.GroupLag` (Kafka), and the app turns answers into typed
JSON (:mod:`.models`) and failures into RFC 9457 problems with the right status
(:mod:`.errors`). The OpenAPI description is at ``/openapi.json`` and ``/docs``.

Routes, one router per resource (:mod:`driftline.app.serving.routes`); the API's
resources are under ``/v1``, what probes and scrapers ask by convention is not:

- ``GET /v1/predictions/{key}``: the latest prediction of one entity;
- ``GET /v1/predictions?keys=a,b,c``: a few at once, one Redis round trip;
- ``POST /v1/predictions:batch``: many at once (``{"keys": [...]}``);
- ``GET /v1/metrics/model``: totals, per model and per task (``history=true``: the time series);
- ``GET /v1/alerts``: drift alarms, promotions and rollbacks, newest first;
- ``GET /v1/quality``: data quality in four dimensions, and the quality log;
- ``GET /v1/stream/predictions``: server-sent events of new predictions, resumed after the
  ``Last-Event-ID`` a client sends back (or ``?after=``); read with ``await`` from
  :class:`~driftline.read.feed.PredictionsFeed`, so an idle stream holds no worker thread, and
  at most ``max_streams`` at once (beyond: 503 ``too_many_streams``);
- ``GET /livez``, ``GET /readyz``: the probes (the process answers; Redis and Kafka answer);
- ``GET /health``: the detailed report: Redis and Kafka, the group's lag, the last
  prediction's age;
- ``GET /metrics``: the Prometheus exposition of every task;
- ``GET /``: the dashboard (:mod:`driftline.app.serving.static`).

The paths from before ``/v1`` answer as their successors, outside the document and marked
deprecated (:mod:`.deprecation`).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from driftline.app.serving.deprecation import DeprecatedAliases
from driftline.app.serving.errors import add_error_handlers
from driftline.app.serving.openapi import typed_openapi
from driftline.app.serving.responses import SafeJSON
from driftline.app.serving.routes import (
    alerts,
    dashboard,
    health,
    metrics,
    predict,
    predictions,
    probes,
    prometheus,
    quality,
    stream,
)
from driftline.read.feed import PredictionsFeed
from driftline.read.predictor import CheckpointPredictor
from driftline.read.reader import PredictionsClient

__all__ = ["MAX_KEYS", "MAX_STREAMS", "V1", "create_app"]

#: The prefix of the API's resources (version 1).
V1 = "/v1"
#: The most keys one ``GET /v1/predictions?keys=`` or ``POST /v1/predictions:batch`` may
#: ask for (more: 413).
MAX_KEYS = 1000
#: The most event streams open at once (more: 503). Each holds a Redis connection while it
#: waits (no thread): the bound keeps idle clients from filling Redis's connection limit.
MAX_STREAMS = 1000


def create_app(
    reader: PredictionsClient,
    lag: Callable[[], dict[int, int]] | None = None,
    *,
    feed: PredictionsFeed,
    namespace: str = "driftline",
    max_keys: int = MAX_KEYS,
    max_streams: int = MAX_STREAMS,
    stream_block_ms: int = 1000,
    stop: threading.Event | None = None,
    predictor: CheckpointPredictor | None = None,
) -> FastAPI:
    """The app over ``reader`` (Redis), ``feed`` (the predictions stream, read with
    ``await``; closed when the app shuts down, in its event loop) and ``lag`` (the group's
    lag per partition, from Kafka; ``None``: not reported). ``stop`` ends open event
    streams (server shutdown). ``predictor`` answers ``POST /v1/predict`` (``None``: no
    such route)."""
    stopping = stop or threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await feed.aclose()

    app = FastAPI(
        title="driftline",
        summary="Real-time predictions and the model's metrics, from Redis.",
        version="1",
        default_response_class=SafeJSON,
        lifespan=lifespan,
    )
    app.state.stop = stopping  # set by the server when it stops: open streams end
    app.state.open_streams = 0
    app.openapi = lambda: typed_openapi(app)  # type: ignore[method-assign]
    add_error_handlers(app)
    app.add_middleware(DeprecatedAliases, prefix=V1)
    resources = [
        predictions.router(reader, max_keys),
        metrics.router(reader),
        alerts.router(reader),
        quality.router(reader),
        stream.router(feed, max_streams=max_streams, block_ms=stream_block_ms, stop=stopping),
    ]
    for resource in resources:
        app.include_router(resource, prefix=V1)
    app.include_router(predictions.batch_router(reader, max_keys), prefix=V1)
    if predictor is not None:  # POST /v1/predict: the live champion (routes/predict.py)
        app.include_router(predict.router(predictor), prefix=V1)
    app.include_router(probes.router(reader, lag))
    app.include_router(health.router(reader, lag, namespace))
    app.include_router(prometheus.router(reader, namespace))
    for resource in resources:  # the paths from before /v1: deprecated aliases
        app.include_router(resource, include_in_schema=False)
    dashboard.add_dashboard(app)
    return app
