"""``driftline serve``: the HTTP API, Prometheus metrics and the dashboard."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import typer

from driftline.app.cli.common import Namespace
from driftline.app.cli.services import services_of
from driftline.app.logs import stderr

__all__ = ["serve"]

log = logging.getLogger("driftline")


def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(
            envvar="DRIFTLINE_SERVE_HOST", help="the address to bind (0.0.0.0 in a container)"
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, envvar="DRIFTLINE_SERVE_PORT", help="the port")
    ] = 8000,
    namespace: Namespace = None,
) -> None:
    """Serve predictions and metrics over HTTP (the API, /metrics, a live dashboard at /)."""
    from driftline.app.serving import ApiServer, serving_app

    services = services_of(ctx, namespace)
    settings, endpoints = services.settings, services.endpoints
    stop = threading.Event()
    app, lag = serving_app(
        settings, endpoints.redis_url, endpoints.bootstrap, stop=stop, local_key=services.local_key
    )
    server = ApiServer(app, host, port)
    log.info("serving %s from %s", settings.namespace, endpoints.describe())
    stderr.print(
        f"driftline serve: dashboard on http://{host}:{port}/ "
        f"(API docs /docs, Prometheus /metrics); Ctrl-C to stop"
    )
    try:
        server.run()
    finally:
        stop.set()
        lag.close()
