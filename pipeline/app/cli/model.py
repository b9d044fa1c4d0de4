"""``driftline model``: inspect and export the checkpointed models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from consumers.runner import checkpoint_codec, checkpoint_store
from pipeline.adapters.redis_clients import make_redis
from pipeline.app.cli.common import Json, Namespace, emit_json, endpoints_of, local_key, settings_of
from pipeline.app.logs import stderr
from pipeline.core.errors import ConfigError
from pipeline.core.task_checkpoint import describe, export_model

__all__ = ["model_app"]

model_app = typer.Typer(help="Inspect and export the checkpointed models.")

_COLUMNS = (
    "partition",
    "model_version",
    "parent_version",
    "learned",
    "next_offset",
    "checkpoint_age_s",
    "model_digest",
)


@model_app.command("show")
def model_show(ctx: typer.Context, as_json: Json = False, namespace: Namespace = None) -> None:
    """Each task's checkpoint: partition, model version, learned, next offset, age, digest."""
    settings = settings_of(ctx, namespace)
    endpoints = endpoints_of(settings)
    store = checkpoint_store(
        settings.checkpoints, settings.namespace, make_redis(endpoints.redis_url)
    )
    codec = checkpoint_codec(settings.checkpoints, local_key(settings, endpoints))
    rows = [describe(blob, codec) for _, blob in sorted(store.all().items())]
    if as_json:
        emit_json({"tasks": rows})
        return
    table = Table(title="checkpointed models")
    for name in _COLUMNS:
        table.add_column(name)
    for row in rows:
        table.add_row(*[str(row[name]) for name in _COLUMNS])
    stderr.print(table)
    if not rows:
        stderr.print("no checkpoint yet: run 'driftline consume'")


@model_app.command("export")
def model_export(
    ctx: typer.Context,
    partition: Annotated[int, typer.Option(min=0, help="the task's partition")],
    path: Annotated[Path, typer.Argument(dir_okay=False, help="where to write the model")],
    namespace: Namespace = None,
) -> None:
    """Write a verified copy of a task's model (pickle) for offline use."""
    settings = settings_of(ctx, namespace)
    endpoints = endpoints_of(settings)
    store = checkpoint_store(
        settings.checkpoints, settings.namespace, make_redis(endpoints.redis_url)
    )
    codec = checkpoint_codec(settings.checkpoints, local_key(settings, endpoints))
    blob = store.load(partition)
    if blob is None:
        raise ConfigError(f"partition {partition} has no checkpoint in {settings.namespace}")
    data = export_model(blob, codec, settings.task_config(), partition)
    path.write_bytes(data)
    info = describe(blob, codec)
    stderr.print(
        f"wrote {path} ({len(data):,} bytes): partition {partition}, model version "
        f"{info['model_version']}, digest {info['model_digest']}; load it with "
        "pickle.load (trust it only as far as this checkpoint's key)"
    )
