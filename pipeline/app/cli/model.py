"""``driftline model``: inspect and export the checkpointed models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from consumers.runner import checkpoint_codec, checkpoint_store
from pipeline.adapters.redis_clients import make_redis
from pipeline.app.cli.common import Json, Namespace, emit_json, endpoints_of, local_key, settings_of
from pipeline.app.logs import stderr
from pipeline.core.checkpoint import CheckpointCodec, CheckpointStore
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


_HISTORY_COLUMNS = (
    "id",
    "latest",
    "model_version",
    "learned",
    "next_offset",
    "created_at",
    "checkpoint_age_s",
    "model_digest",
)


@model_app.command("history")
def model_history(
    ctx: typer.Context,
    partition: Annotated[
        int | None, typer.Option(min=0, help="only this partition (default: every one)")
    ] = None,
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """Each task's kept checkpoints, newest first: id (partition@offset), model version,
    learned, next offset, created at, age, digest. Each one is verified (HMAC)."""
    settings = settings_of(ctx, namespace)
    endpoints = endpoints_of(settings)
    store = checkpoint_store(
        settings.checkpoints, settings.namespace, make_redis(endpoints.redis_url)
    )
    codec = checkpoint_codec(settings.checkpoints, local_key(settings, endpoints))
    partitions = store.partitions() if partition is None else [partition]
    rows = [row for p in partitions for row in _history_rows(store, codec, p)]
    if as_json:
        emit_json({"checkpoints": rows})
        return
    table = Table(title="checkpoint history, newest first")
    for name in _HISTORY_COLUMNS:
        table.add_column(name)
    for index, row in enumerate(rows):
        if index and row["partition"] != rows[index - 1]["partition"]:
            table.add_section()
        table.add_row(*[str(row[name]) for name in _HISTORY_COLUMNS])
    stderr.print(table)
    if not rows:
        where = "" if partition is None else f" of partition {partition}"
        stderr.print(f"no checkpoint{where} yet: run 'driftline consume'")


def _history_rows(store: CheckpointStore, codec: CheckpointCodec, partition: int) -> list[Any]:
    """The kept checkpoints of ``partition``, newest first; the latest one leads when the
    history does not hold it (saved before history was kept, or with none kept): it is
    then ``kept`` False, restorable only as the latest."""
    latest = store.load(partition)
    entries: list[tuple[int | str, bytes, bool]] = [
        (offset, blob, True) for offset, blob in store.history(partition)
    ]
    if latest is not None and all(blob != latest for _, blob, _ in entries):
        entries.insert(0, (codec.header(latest).get("next_offset") or "latest", latest, False))
    rows = []
    for offset, blob, kept in entries:
        info = describe(blob, codec)
        rows.append({"id": f"{partition}@{offset}", "latest": blob == latest, "kept": kept} | info)
    return rows


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
