"""``driftline topics``: the namespace's topics."""

from __future__ import annotations

from typing import Annotated

import typer

from driftline.app.cli.common import Namespace, Partitions, endpoints_of, settings_of
from driftline.app.logs import stderr
from driftline.app.namespace import prepare_namespace

__all__ = ["Fresh", "topics_app"]

topics_app = typer.Typer(help="Create the namespace's topics.")

Fresh = Annotated[
    bool,
    typer.Option(help="delete and recreate the topics, and forget the namespace's state"),
]


@topics_app.command("create")
def topics_create(
    ctx: typer.Context,
    namespace: Namespace = None,
    partitions: Partitions = None,
    fresh: Fresh = False,
) -> None:
    """Create the events and dead-letter topics of the namespace (LogAppendTime)."""
    settings = settings_of(ctx, namespace).with_overrides(partitions=partitions)
    for name, what in prepare_namespace(settings, endpoints_of(settings), fresh=fresh).items():
        stderr.print(f"{name}: {what}")
