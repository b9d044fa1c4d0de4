"""``driftline stack``: start, inspect and stop the local Kafka + Redis stack."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from driftline.app.cli.common import Json, Namespace, emit_json
from driftline.app.cli.services import services_of
from driftline.app.logs import stderr, stdout

if TYPE_CHECKING:
    from driftline.stack import LocalStack, StackStatus

__all__ = ["stack_app"]

stack_app = typer.Typer(
    help="Start, inspect and stop the local Kafka + Redis stack (and schema registry)."
)


@stack_app.command("up")
def stack_up(
    ctx: typer.Context,
    namespace: Namespace = None,
    brokers: Annotated[int | None, typer.Option(help="Kafka brokers (KRaft nodes)")] = None,
    secure: Annotated[
        bool,
        typer.Option(
            "--secure",
            help="TLS with client certificates, SCRAM Kafka users and Redis ACL users, "
            "certificates and passwords made in the home's secrets/ (DRIFTLINE_STACK_SECURE=1)",
        ),
    ] = False,
    redis_cluster: Annotated[
        bool,
        typer.Option(
            "--redis-cluster",
            help="Redis as a three-master Redis Cluster (kept by later 'up' calls of this "
            "home; 'down --purge' to go back to one Redis)",
        ),
    ] = False,
    registry: Annotated[
        bool,
        typer.Option(
            "--registry",
            help="also a Confluent-compatible schema registry (Apicurio, in memory; built "
            "with Maven on first use, ~3 min), kept by later 'up' calls; its URL: "
            "'stack status'",
        ),
    ] = False,
    as_json: Json = False,
) -> None:
    """Start Kafka and Redis, or only what is down, and wait until they answer.

    The first run picks free loopback ports; later runs restart a dead process on its own
    ports with its data, leaving the live ones alone. A secured stack's clients, the other
    commands, need DRIFTLINE_STACK_SECURE=1 too; a Redis Cluster's clients need nothing:
    they find it from its URL.
    """
    services = services_of(ctx, namespace, brokers=brokers, stack_secure=True if secure else None)
    what = "Kafka, Redis and the schema registry" if registry else "Kafka and Redis"
    with stderr.status(f"starting {what}..."):
        status = services.stack.up(brokers, redis_cluster=redis_cluster, registry=registry)
    _print_status(status, as_json)


@stack_app.command("fetch")
def stack_fetch(
    ctx: typer.Context,
    namespace: Namespace = None,
    registry: Annotated[
        bool, typer.Option("--registry", help="also build the schema registry (~3 min once)")
    ] = False,
) -> None:
    """Fetch the pinned Kafka jars with Maven into the cache (done by 'up' when needed)."""
    from driftline.stack import ensure_kafka_jars, ensure_registry_jar

    config = services_of(ctx, namespace).settings.stack
    with stderr.status(f"fetching Kafka {config.kafka_version} with Maven..."):
        libs = ensure_kafka_jars(config.cache_dir, config.kafka_version)
    stdout.print(f"Kafka {config.kafka_version} jars: {libs}")
    if registry:
        with stderr.status("building the schema registry with Maven..."):
            jar = ensure_registry_jar(config.cache_dir)
        stdout.print(f"schema registry: {jar}")


@stack_app.command("down")
def stack_down(
    ctx: typer.Context,
    namespace: Namespace = None,
    purge: Annotated[
        bool, typer.Option(help="also delete the data and logs (the secrets are kept)")
    ] = False,
) -> None:
    """Stop exactly the processes 'stack up' started."""
    stopped = services_of(ctx, namespace).stack.down(purge=purge)
    stdout.print(f"stopped {len(stopped)} process(es)" + (" and purged data" if purge else ""))


@stack_app.command("status")
def stack_status(ctx: typer.Context, namespace: Namespace = None, as_json: Json = False) -> None:
    """Each process of the local stack, up or down, and where to reach it.

    Exit status 0 while the stack is usable, also when degraded (a minority of the brokers
    down: 'driftline stack up' restarts them); 1 when it is not running (Redis or a
    majority of the brokers down, or nothing started).
    """
    stack = services_of(ctx, namespace).stack
    status = stack.status()
    _print_status(status, as_json, _memory_warnings(stack) if status.running else [])
    if not status.running:
        raise typer.Exit(1)


def _memory_warnings(stack: LocalStack) -> list[str]:
    """What the stack's Redis may evict when full (its ``maxmemory-policy``: see
    :mod:`driftline.adapters.redis_memory`); nothing when it does not answer (the status
    says which process is down)."""
    from driftline.adapters.redis_clients import make_redis
    from driftline.adapters.redis_memory import memory_policy
    from driftline.core.errors import DriftlineError

    endpoints = stack.endpoints()
    if endpoints is None:
        return []
    try:
        client = make_redis(endpoints.redis_url, timeout_s=5.0)
    except DriftlineError:
        return []
    try:
        policy = memory_policy(client)
    finally:
        client.close()
    warning = None if policy is None else policy.warning()
    return [warning] if warning else []


def _password_file(status: StackStatus) -> str | None:
    """The file of the Redis password: the printed URL has none (use it with the URL, or
    reach the stack from Python with driftline.app.connect.predictions_from_stack())."""
    from driftline.stack.secret_files import REDIS_PASSWORD

    return str(Path(status.secrets_dir) / REDIS_PASSWORD) if status.secrets_dir else None


def _print_status(status: StackStatus, as_json: bool, warnings: list[str] | None = None) -> None:
    warnings = warnings or []
    if as_json:
        extras = {"redis_password_file": _password_file(status), "warnings": warnings}
        emit_json(status.to_dict() | extras)
        return
    table = Table(title=f"driftline stack ({status.home})", show_header=True)
    for column in ("process", "pid", "address", "state"):
        table.add_column(column)
    rows = [
        *status.brokers,
        *([status.redis] if status.redis else []),
        *status.redis_nodes,
        *([status.registry] if status.registry else []),
    ]
    for proc in rows:
        state = "up" if proc["alive"] else "[red]down[/red]"
        table.add_row(proc["name"], str(proc["pid"]), f"127.0.0.1:{proc['port']}", state)
    stdout.print(table)
    stdout.print(f"stack:             {status.describe()}")
    stdout.print(f"bootstrap servers: {status.bootstrap_servers}")
    password_file = _password_file(status)
    where = f" (password in {password_file})" if status.redis_url and password_file else ""
    stdout.print(f"redis url:         {status.redis_url}{where}")
    if status.registry:
        where = status.schema_registry_url or "down ('driftline stack up' restarts it, empty)"
        stdout.print(f"schema registry:   {where}")
    if status.redis_cluster:
        stdout.print(
            f"redis cluster:     {len(status.redis_nodes)} masters, slots split evenly, no "
            "replicas; clients find every node from the URL"
        )
    if status.secure:
        stdout.print(
            "security:          Kafka SASL_SSL (SCRAM-SHA-512, client certificates), Redis TLS "
            "with ACL user; clients: DRIFTLINE_STACK_SECURE=1"
        )
    for warning in warnings:
        stdout.print(f"[yellow]warning:[/yellow]           {warning}")
