"""What every command shares: the settings of this run, options, output, endpoints."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from driftline.adapters.endpoints import Endpoints, resolve_endpoints
from driftline.adapters.redis_clients import RedisClient, make_redis
from driftline.adapters.settings import Settings
from driftline.core import jsonsafe
from driftline.stack import LocalStack

__all__ = [
    "Json",
    "Namespace",
    "Partitions",
    "Seed",
    "State",
    "emit_json",
    "endpoints_of",
    "local_key",
    "redis_of",
    "settings_of",
]

log = logging.getLogger("driftline")


@dataclass
class State:
    """The settings read once by the root command (with its ``--namespace``)."""

    settings: Settings
    shown: bool = False


def settings_of(ctx: typer.Context, namespace: str | None = None) -> Settings:
    """This command's settings; the effective config is logged once, at DEBUG (``-v``)."""
    state: State = ctx.ensure_object(State)
    settings = state.settings.with_overrides(namespace=namespace)
    if not state.shown:
        log.debug("effective config: %s", json.dumps(settings.masked(), default=str))
        state.shown = True
    return settings


def endpoints_of(settings: Settings) -> Endpoints:
    """Kafka and Redis from the settings, else the running local stack."""
    return resolve_endpoints(settings.kafka, settings.redis, LocalStack(settings.stack).endpoints)


def local_key(settings: Settings, endpoints: Endpoints) -> Callable[[], bytes | None] | None:
    """The local stack's checkpoint key, when the services are the local stack's."""
    if endpoints.source != "local-stack":
        return None
    return LocalStack(settings.stack).checkpoint_key


def redis_of(settings: Settings) -> RedisClient:
    """A checked Redis client where the settings (or the local stack) say: one Redis or a
    Redis Cluster (:func:`make_redis` tells them apart)."""
    return make_redis(endpoints_of(settings).redis_url)


def emit_json(payload: Any) -> None:
    """One JSON object on the last line of standard output (never NaN or Infinity)."""
    sys.stdout.write(jsonsafe.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


Namespace = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="prefix of topics, groups and Redis keys"),
]
Json = Annotated[bool, typer.Option("--json", help="print the result as one JSON line")]
Partitions = Annotated[int | None, typer.Option(min=1, help="partitions of new topics")]
Seed = Annotated[int | None, typer.Option(help="seed of every random choice (DRIFTLINE_SEED)")]
