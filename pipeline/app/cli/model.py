"""``driftline model``: inspect, export, promote and roll back the models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from driftline.app.cli.common import Json, Namespace, emit_json
from driftline.app.cli.services import Services, services_of
from driftline.app.logs import stderr, stdout
from driftline.core.errors import ConfigError

if TYPE_CHECKING:
    from driftline.core.events.control import ControlCommand
    from driftline.core.task.seal import CheckpointCodec, CheckpointStore

__all__ = ["model_app"]

model_app = typer.Typer(help="Inspect, export, promote and roll back the models.")

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
    from driftline.core.task.checkpoint import describe

    store, codec = _checkpoints(services_of(ctx, namespace))
    rows = [describe(blob, codec) for _, blob in sorted(store.all().items())]
    if as_json:
        emit_json({"tasks": rows})
        return
    table = Table(title="checkpointed models")
    for name in _COLUMNS:
        table.add_column(name)
    for row in rows:
        table.add_row(*[str(row[name]) for name in _COLUMNS])
    stdout.print(table)
    if not rows:
        stdout.print("no checkpoint yet: run 'driftline consume'")


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
    store, codec = _checkpoints(services_of(ctx, namespace))
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
    stdout.print(table)
    if not rows:
        where = "" if partition is None else f" of partition {partition}"
        stdout.print(f"no checkpoint{where} yet: run 'driftline consume'")


def _history_rows(store: CheckpointStore, codec: CheckpointCodec, partition: int) -> list[Any]:
    """The kept checkpoints of ``partition``, newest first; the latest one leads when the
    history does not hold it (saved before history was kept, or with none kept): it is
    then ``kept`` False, restorable only as the latest."""
    from driftline.core.task.checkpoint import describe

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
    from driftline.core.task.checkpoint import describe, export_model

    services = services_of(ctx, namespace)
    settings = services.settings
    store, codec = _checkpoints(services)
    blob = store.load(partition)
    if blob is None:
        raise ConfigError(f"partition {partition} has no checkpoint in {settings.namespace}")
    data = export_model(blob, codec, settings.task_config(), partition)
    path.write_bytes(data)
    info = describe(blob, codec)
    stdout.print(
        f"wrote {path} ({len(data):,} bytes): partition {partition}, model version "
        f"{info['model_version']}, digest {info['model_digest']}; load it with "
        "pickle.load (trust it only as far as this checkpoint's key)"
    )


def _checkpoints(services: Services) -> tuple[CheckpointStore, CheckpointCodec]:
    """The namespace's checkpoint store and the codec that verifies its blobs."""
    from driftline.consumers.runner import checkpoint_codec, checkpoint_store

    settings = services.settings
    store = checkpoint_store(settings.checkpoints, settings.namespace, services.redis)
    return store, checkpoint_codec(settings.checkpoints, services.local_key)


def _send(services: Services, command: ControlCommand, partitions: list[int] | None) -> None:
    """Append ``command`` to ``partitions`` (default: all) of the events topic; print where."""
    from driftline.adapters.kafka.control import send_control
    from driftline.adapters.kafka_clients import admin_client
    from driftline.adapters.topics import partition_counts
    from driftline.consumers.clients import make_worker_producer

    kafka = services.kafka
    topic = services.settings.topics.events
    if partitions is None:
        with admin_client(kafka) as admin:
            count = partition_counts(admin, [topic]).get(topic)
        if not count:
            raise ConfigError(f"topic {topic} does not exist: nothing to command")
        partitions = list(range(count))
    producer = make_worker_producer(kafka)
    try:
        offsets = send_control(producer, topic, command, partitions, services.event_codec)
    finally:
        producer.close(timeout=10)
    emit_json(
        {"command": command.command, "argument": command.argument, "topic": topic}
        | {"offsets": {str(p): o for p, o in sorted(offsets.items())}}
    )
    stderr.print(
        f"{command.command} {command.argument} written to {topic} partition(s) "
        f"{', '.join(str(p) for p in sorted(offsets))}: each task obeys it when it reads it "
        "(now if a worker runs, else when one starts); see 'driftline alerts'"
    )


@model_app.command("promote")
def model_promote(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the model to serve (DRIFTLINE_CHALLENGERS)")],
    partition: Annotated[
        int | None, typer.Option(min=0, help="only this partition's task (default: every one)")
    ] = None,
    namespace: Namespace = None,
) -> None:
    """Make NAME the champion, the model whose predictions Redis serves.

    A control command is appended to the events topic and obeyed at its offset, so a
    replay after a crash promotes at the same point."""
    from driftline.core.events.control import ControlCommand

    services = services_of(ctx, namespace)
    settings = services.settings
    known = [settings.model.model_name, *settings.model.challengers]
    if name not in known:
        raise ConfigError(f"no model {name!r} in this configuration (models: {', '.join(known)})")
    command = ControlCommand(command="promote", argument=name, issued_by="driftline model promote")
    _send(services, command, None if partition is None else [partition])


@model_app.command("rollback")
def model_rollback(
    ctx: typer.Context,
    to: Annotated[
        list[str],
        typer.Option(help="a kept checkpoint's id, P@OFFSET, as 'model history' lists it"),
    ],
    namespace: Namespace = None,
) -> None:
    """Put the models of kept checkpoints back in their running tasks.

    Each ``--to P@OFFSET`` sends partition P a rollback command: its task, when it reads
    it, replaces its models (and champion) with those of that checkpoint, keeping its
    offsets, pending labels and metrics, so the offset rule stays exact. Use one ``--to``
    per partition to roll back."""
    from driftline.core.events.control import ControlCommand

    services = services_of(ctx, namespace)
    store, codec = _checkpoints(services)
    targets: dict[int, int] = {}
    for ident in to:
        text_partition, at, text_offset = ident.partition("@")
        if not (at and text_partition.isdigit() and text_offset.isdigit()):
            raise ConfigError(f"--to {ident!r}: give P@OFFSET, as 'driftline model history' shows")
        partition, offset = int(text_partition), int(text_offset)
        blob = store.load_at(partition, offset)
        if blob is None:
            raise ConfigError(
                f"partition {partition} keeps no checkpoint at offset {offset}: "
                "see 'driftline model history'"
            )
        codec.header(blob)  # verified now: a forged entry is refused before anything is sent
        if partition in targets:
            raise ConfigError(f"partition {partition} is named twice")
        targets[partition] = offset
    for partition, offset in sorted(targets.items()):
        command = ControlCommand(
            command="rollback", argument=str(offset), issued_by="driftline model rollback"
        )
        _send(services, command, [partition])
