"""``driftline topics``: the namespace's topics."""

from __future__ import annotations

from typing import Annotated

import typer

from driftline.app.cli.common import Namespace, Partitions
from driftline.app.cli.services import services_of
from driftline.app.logs import stdout

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
    from driftline.app.namespace import prepare_namespace

    services = services_of(ctx, namespace, partitions=partitions)
    prepared = prepare_namespace(services.settings, services.endpoints, fresh=fresh)
    for name, what in prepared.items():
        stdout.print(f"{name}: {what}")
