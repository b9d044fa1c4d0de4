"""``driftline demo`` and ``driftline config``."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.app.cli.common import Json, Namespace, Partitions, Seed, emit_json, settings_of
from pipeline.app.demo import DEFAULT_SPEED, DemoOptions, run_demo
from pipeline.app.logs import stderr
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
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """Stack, fresh topics and state, flights replayed live, the worker, a live view, a summary."""
    settings = settings_of(ctx, namespace).with_overrides(partitions=partitions, seed=seed)
    options = DemoOptions(limit=limit, speed=speed, live=stderr.is_terminal and not as_json)
    summary = run_demo(settings, options, stderr)
    if as_json:
        emit_json(summary)
    else:
        stderr.print(demo_summary(summary))
