"""The HTTP API of ``driftline serve``: predictions, metrics, health, a live stream.

An ASGI app (FastAPI) that only translates: every read goes through
:class:`~driftline.read.reader.PredictionsClient` (Redis) or
:class:`~driftline.read.lag.GroupLag` (Kafka), and the app turns answers into
JSON and failures into JSON errors with the right status (:mod:`.errors`). The OpenAPI
description is at ``/openapi.json`` and ``/docs``.

Routes, one router per resource (:mod:`driftline.app.serving.routes`):

- ``GET /predictions/{key}``: the latest prediction of one entity;
- ``GET /predictions?keys=a,b,c``: many at once, one Redis round trip;
- ``GET /metrics/model``: totals, per model and per task (``history=true``: the time series);
- ``GET /alerts``: drift alarms, promotions and rollbacks, newest first;
- ``GET /quality``: data quality in four dimensions, and the quality log;
- ``GET /health``: Redis and Kafka reachable, the group's lag, the last prediction's age;
- ``GET /stream/predictions``: server-sent events of new predictions, resumed after the
  ``Last-Event-ID`` a client sends back (or ``?after=``); read with ``await`` from
  :class:`~driftline.read.feed.PredictionsFeed`, so an idle stream holds no worker thread, and
  at most ``max_streams`` at once (beyond: 503 ``too_many_streams``);
- ``GET /metrics``: the Prometheus exposition of every task;
- ``GET /``: the dashboard (:mod:`driftline.app.serving.static`).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from driftline.app.serving.errors import add_error_handlers
from driftline.app.serving.responses import SafeJSON
from driftline.app.serving.routes import (
    alerts,
    dashboard,
    health,
    metrics,
    predictions,
    prometheus,
    quality,
    stream,
)
from driftline.read.feed import PredictionsFeed
from driftline.read.reader import PredictionsClient

__all__ = ["MAX_KEYS", "MAX_STREAMS", "create_app"]

#: The most keys one ``GET /predictions?keys=`` may ask for (more: 413).
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
) -> FastAPI:
    """The app over ``reader`` (Redis), ``feed`` (the predictions stream, read with
    ``await``; closed when the app shuts down, in its event loop) and ``lag`` (the group's
    lag per partition, from Kafka; ``None``: not reported). ``stop`` ends open event
    streams (server shutdown)."""
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
    add_error_handlers(app)
    app.include_router(predictions.router(reader, max_keys))
    app.include_router(metrics.router(reader))
    app.include_router(alerts.router(reader))
    app.include_router(quality.router(reader))
    app.include_router(health.router(reader, lag, namespace))
    app.include_router(
        stream.router(feed, max_streams=max_streams, block_ms=stream_block_ms, stop=stopping)
    )
    app.include_router(prometheus.router(reader, namespace))
    dashboard.add_dashboard(app)
    return app
