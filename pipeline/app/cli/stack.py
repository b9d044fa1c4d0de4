"""``driftline stack``: start, inspect and stop the local Kafka + Redis stack."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from pipeline.app.cli.common import Json, Namespace, emit_json, settings_of
from pipeline.app.logs import stderr
from pipeline.stack import LocalStack, ensure_kafka_jars

__all__ = ["stack_app"]

stack_app = typer.Typer(help="Start, inspect and stop the local Kafka + Redis stack.")


@stack_app.command("up")
def stack_up(
    ctx: typer.Context,
    namespace: Namespace = None,
    brokers: Annotated[int | None, typer.Option(help="Kafka brokers (KRaft nodes)")] = None,
    as_json: Json = False,
) -> None:
    """Start Kafka and Redis on free loopback ports (idempotent) and wait until they answer."""
    settings = settings_of(ctx, namespace).with_overrides(brokers=brokers)
    with stderr.status("starting Kafka and Redis..."):
        status = LocalStack(settings.stack).up(brokers)
    _print_status(status.to_dict(), as_json)


@stack_app.command("fetch")
def stack_fetch(ctx: typer.Context, namespace: Namespace = None) -> None:
    """Fetch the pinned Kafka jars with Maven into the cache (done by 'up' when needed)."""
    config = settings_of(ctx, namespace).stack
    with stderr.status(f"fetching Kafka {config.kafka_version} with Maven..."):
        libs = ensure_kafka_jars(config.cache_dir, config.kafka_version)
    stderr.print(f"Kafka {config.kafka_version} jars: {libs}")


@stack_app.command("down")
def stack_down(
    ctx: typer.Context,
    namespace: Namespace = None,
    purge: Annotated[bool, typer.Option(help="also delete the data and logs")] = False,
) -> None:
    """Stop exactly the processes 'stack up' started."""
    stopped = LocalStack(settings_of(ctx, namespace).stack).down(purge=purge)
    stderr.print(f"stopped {len(stopped)} process(es)" + (" and purged data" if purge else ""))


@stack_app.command("status")
def stack_status(ctx: typer.Context, namespace: Namespace = None, as_json: Json = False) -> None:
    """Whether the local stack runs, with bootstrap servers and Redis URL. Exit 1 if not."""
    status = LocalStack(settings_of(ctx, namespace).stack).status()
    _print_status(status.to_dict(), as_json)
    if not status.running:
        raise typer.Exit(1)


def _print_status(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(status)
        return
    table = Table(title=f"driftline stack ({status['home']})", show_header=True)
    for column in ("process", "pid", "address", "state"):
        table.add_column(column)
    rows = [(f"kafka node {b['node_id']}", b) for b in status["brokers"]]
    if status["redis"]:
        rows.append(("redis", status["redis"]))
    for name, proc in rows:
        state = "up" if proc["alive"] else "down"
        table.add_row(name, str(proc["pid"]), f"127.0.0.1:{proc['port']}", state)
    stderr.print(table)
    stderr.print(f"bootstrap servers: {status['bootstrap_servers']}")
    stderr.print(f"redis url:         {status['redis_url']}")
