"""``driftline demo`` and ``driftline config``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from pipeline.adapters.endpoints import Endpoints
from pipeline.adapters.settings import Settings
from pipeline.app.cli.common import Json, Namespace, Partitions, Seed, emit_json, settings_of
from pipeline.app.demo import DEFAULT_SPEED, DemoOptions, run_demo
from pipeline.app.logs import stderr
from pipeline.app.serving import ApiServer, serving_app
from pipeline.app.signals import stop_on_signals
from pipeline.app.views import demo_summary

__all__ = ["demo", "show_config"]


def show_config(ctx: typer.Context, namespace: Namespace = None) -> None:
    """Print the effective settings (secrets masked) as JSON, grouped by concern."""
    emit_json(settings_of(ctx, namespace).masked())


def demo(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option(min=1, help="flights to replay (default: the whole year)")
    ] = None,
    speed: Annotated[
        float, typer.Option(min=1, help="how much faster than the world (default: a year in 2 min)")
    ] = DEFAULT_SPEED,
    partitions: Partitions = None,
    seed: Seed = None,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve", help="serve the dashboard and API while it runs, and after, until Ctrl-C"
        ),
    ] = False,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="with --serve: the port (0: any free one)")
    ] = 8000,
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """Stack, fresh topics and state, flights replayed live, the worker, a live view, a summary."""
    settings = settings_of(ctx, namespace).with_overrides(partitions=partitions, seed=seed)
    options = DemoOptions(limit=limit, speed=speed, live=stderr.is_terminal and not as_json)
    served = _Served(settings, port) if serve else None
    try:
        summary = run_demo(settings, options, stderr, served.start if served else None)
        if as_json:
            emit_json(summary)
        else:
            stderr.print(demo_summary(summary))
        if served is not None and served.url is not None:
            stderr.print(f"the dashboard stays up at {served.url} (Ctrl-C to stop)")
            with stop_on_signals() as stop:
                stop.wait()
    finally:
        if served is not None:
            served.stop()


class _Served:
    """``demo --serve``: the API and dashboard in a background thread, from the moment the
    demo's namespace is fresh."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.url: str | None = None
        self._server: ApiServer | None = None
        self._close: list[Callable[[], None]] = []

    def start(self, endpoints: Endpoints) -> None:
        app, lag = serving_app(self.settings, endpoints.redis_url, endpoints.bootstrap)
        self._close.append(lag.close)
        self._server = ApiServer(app, "127.0.0.1", self.port)
        self.url = self._server.start()
        stderr.print(f"dashboard: {self.url}  (API docs {self.url}docs)")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        for close in self._close:
            close()
