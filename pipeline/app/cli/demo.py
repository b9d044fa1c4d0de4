"""``driftline demo``."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from driftline.app.cli.common import Json, Namespace, Partitions, Seed, emit_json, refuse_without
from driftline.app.cli.services import services_of
from driftline.app.logs import stderr, stdout
from driftline.core.errors import ConfigError
from driftline.producers.fault_kinds import FAULTS

if TYPE_CHECKING:
    from driftline.adapters.endpoints import Endpoints
    from driftline.adapters.settings import Settings
    from driftline.app.serving import ApiServer

__all__ = ["demo"]


def demo(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option(min=1, help="flights to replay (default: the whole year)")
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            min=1,
            help="how much faster than the world (default: a year in 2 min; in 4 with --inject)",
        ),
    ] = None,
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
    contract: Annotated[
        str,
        typer.Option(
            help="the data contract the worker applies: a file, 'flights' (built in), or 'none'"
        ),
    ] = "flights",
    inject: Annotated[
        str | None,
        typer.Option(
            help="inject faults at these rates, e.g. 'all=0.01' or 'duplicate=0.01,late=0.005' "
            "(faults: " + ", ".join(FAULTS) + "), and report what the worker caught",
        ),
    ] = None,
    inject_seed: Annotated[
        int | None, typer.Option(help="seed of the injected faults (default: --seed)")
    ] = None,
    ground_truth: Annotated[
        Path | None,
        typer.Option(
            help="with --inject: where the ground truth goes (default: a file in a new "
            "temporary directory, named in the summary)"
        ),
    ] = None,
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """Stack, fresh topics and state, flights replayed live, the worker, a live view, a summary."""
    refuse_without(ctx, "port", "serve", serve)
    from driftline.app.demo import DEFAULT_SPEED, INJECT_SPEED, DemoOptions, run_demo
    from driftline.app.signals import stop_on_signals
    from driftline.app.views import demo_summary
    from driftline.producers.faults import FaultPlan

    services = services_of(ctx, namespace, partitions=partitions, seed=seed)
    settings = services.settings
    if inject is not None and ground_truth is None:
        ground_truth = Path(tempfile.mkdtemp(prefix="driftline-faults-")) / "ground-truth.jsonl"
    elif inject is None and (ground_truth is not None or inject_seed is not None):
        raise ConfigError("--ground-truth and --inject-seed go with --inject")
    if inject is not None:
        FaultPlan.parse_rates(inject)  # refused before the stack starts
    if speed is None:
        speed = INJECT_SPEED if inject is not None else DEFAULT_SPEED
    options = DemoOptions(
        limit=limit,
        speed=speed,
        live=stderr.is_terminal and not as_json,
        contract=None if contract == "none" else contract,
        inject=inject,
        inject_seed=inject_seed,
        ground_truth=ground_truth,
    )
    served = _Served(settings, port, services.local_key) if serve else None
    try:
        summary = run_demo(settings, options, stderr, served.start if served else None)
        if as_json:
            emit_json(summary)
        else:
            stdout.print(demo_summary(summary))
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

    def __init__(
        self, settings: Settings, port: int, local_key: Callable[[], bytes | None] | None
    ) -> None:
        self.settings = settings
        self.port = port
        self.local_key = local_key  # the stack's checkpoint key: POST /v1/predict verifies
        self.url: str | None = None
        self._server: ApiServer | None = None
        self._close: list[Callable[[], None]] = []

    def start(self, endpoints: Endpoints) -> None:
        from driftline.app.serving import ApiServer, serving_app

        app, lag = serving_app(
            self.settings, endpoints.redis_url, endpoints.bootstrap, local_key=self.local_key
        )
        self._close.append(lag.close)
        self._server = ApiServer(app, "127.0.0.1", self.port)
        self.url = self._server.start()
        stderr.print(f"dashboard: {self.url}  (API docs {self.url}docs)")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        for close in self._close:
            close()
