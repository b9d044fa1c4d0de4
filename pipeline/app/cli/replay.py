"""``driftline replay``: an offset range of the events topic through a fresh worker."""

from __future__ import annotations

from typing import Annotated

import typer

from driftline.app.cli.common import Json, Namespace, emit_json
from driftline.app.cli.consume import FEATURES_HELP, MODEL_HELP
from driftline.app.cli.services import services_of
from driftline.app.logs import stderr, stdout

__all__ = ["replay"]


def replay(
    ctx: typer.Context,
    partition: Annotated[
        list[int] | None, typer.Option(min=0, help="a partition to replay (repeat; default all)")
    ] = None,
    from_offset: Annotated[int, typer.Option(min=0, help="first offset of each partition")] = 0,
    to_offset: Annotated[
        int | None, typer.Option(min=1, help="offset to stop before (default: the end now)")
    ] = None,
    into: Annotated[
        str | None,
        typer.Option(help="the namespace of the replay's outputs (default: <namespace>-replay)"),
    ] = None,
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    features: Annotated[str | None, typer.Option(help=FEATURES_HELP)] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the model (DRIFTLINE_SEED)")] = None,
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """Re-run offsets [FROM, TO) of the events topic through a fresh worker with this
    configuration and seed, writing into its own namespace (emptied first), and print a
    digest of its predictions: the same range, configuration and seed give the same one."""
    from driftline.app.namespace import prepare_namespace
    from driftline.consumers.rerun import rerun
    from driftline.consumers.runner import checked_task_config

    services = services_of(ctx, namespace)
    source = services.settings
    target = source.with_overrides(
        namespace=into or f"{source.namespace}-replay", model=model, features=features, seed=seed
    )
    checked_task_config(target)  # a model or feature function that cannot be made: refused now
    endpoints = services.endpoints
    prepare_namespace(target, endpoints, fresh=True)
    with stderr.status(f"replaying {source.topics.events} into {target.namespace}..."):
        result = rerun(
            source,
            target,
            endpoints,
            partitions=partition,
            start=from_offset,
            end=to_offset,
            local_key=services.local_key,  # the stack's: the target's is the same
        )
    summary = result.to_dict()
    if as_json:
        emit_json(summary)
        return
    for name, value in summary.items():
        stdout.print(f"{name:>12}: {value}")
