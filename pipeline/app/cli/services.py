"""The services a command reaches, built on first use and once: one :class:`Services` per
command, from the settings of this run.

A command asks :func:`services_of` for its services and takes what it needs: the settings
(``services.settings``), the local stack, where Kafka and Redis are, a Redis client, the
predictions client, the group's lag, the local stack's checkpoint key. Nothing connects
until a service is used, so a command that needs only the settings (``config``, ``--help``)
reaches nothing; a service two steps use (``model rollback`` reads checkpoints, then sends
to Kafka) is built once. What was built and holds connections is closed when the command
ends. Each service's module is imported when the service is built, so a command loads
only the clients it uses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import typer

from driftline.app.cli.common import State

if TYPE_CHECKING:
    from driftline.adapters.endpoints import Endpoints
    from driftline.adapters.redis_clients import RedisClient
    from driftline.adapters.settings import KafkaSettings, Settings
    from driftline.core.events.codec import EventCodec
    from driftline.read.lag import GroupLag
    from driftline.read.reader import PredictionsClient
    from driftline.stack import LocalStack

__all__ = ["Services", "services_of"]

log = logging.getLogger("driftline")


class Services:
    """Kafka, Redis and the local stack as ``settings`` say, each built on first use.

    >>> from driftline.adapters.settings import Settings
    >>> services = Services(Settings(_env_file=None, namespace="docs"))
    >>> services.settings.namespace, services.built()
    ('docs', [])
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._closers: list[Callable[[], None]] = []

    def with_overrides(self, **changes: Any) -> Services:
        """Services of these settings with ``changes`` (as
        :meth:`Settings.with_overrides`); nothing built here is shared with them."""
        return Services(self.settings.with_overrides(**changes))

    @cached_property
    def stack(self) -> LocalStack:
        """The local stack of these settings (its files are read when it is asked)."""
        from driftline.stack import LocalStack

        return LocalStack(self.settings.stack)

    @cached_property
    def endpoints(self) -> Endpoints:
        """Kafka and Redis from the settings, else the running local stack."""
        from driftline.adapters.endpoints import resolve_endpoints

        settings = self.settings
        return resolve_endpoints(settings.kafka, settings.redis, lambda: self.stack.endpoints())

    @cached_property
    def kafka(self) -> KafkaSettings:
        """The Kafka settings, pointed at the bootstrap servers of :attr:`endpoints`."""
        return self.settings.kafka.at(self.endpoints.bootstrap)

    @cached_property
    def event_codec(self) -> EventCodec:
        """The codec of the events topic: the schema registry's ids when one is configured
        (or the local stack runs one), registered once here; else the local-only fixed ids."""
        from driftline.adapters.registry import event_codec

        return event_codec(self.settings.schema_registry, self.endpoints.schema_registry_url)

    @cached_property
    def redis(self) -> RedisClient:
        """A checked Redis client where the settings (or the local stack) say: one Redis
        or a Redis Cluster (:func:`make_redis` tells them apart)."""
        from driftline.adapters.redis_clients import make_redis

        client = make_redis(self.endpoints.redis_url)
        self._closers.append(client.close)
        return client

    @cached_property
    def predictions(self) -> PredictionsClient:
        """What the workers wrote to Redis for this namespace, read."""
        from driftline.read.reader import PredictionsClient

        return PredictionsClient(self.redis, self.settings.namespace)

    @cached_property
    def group_lag(self) -> GroupLag:
        """The lag of the namespace's consumer group on its events topic."""
        from driftline.read.lag import GroupLag

        topics = self.settings.topics
        lag = GroupLag(self.kafka, topics.events, topics.consumer_group)
        self._closers.append(lag.close)
        return lag

    @cached_property
    def local_key(self) -> Callable[[], bytes | None] | None:
        """The local stack's checkpoint key, when the services are the local stack's."""
        if self.endpoints.source != "local-stack":
            return None
        return self.stack.checkpoint_key

    def built(self) -> list[str]:
        """The names of the services built so far, in the order of this class."""
        names = [
            name for name, value in vars(type(self)).items() if isinstance(value, cached_property)
        ]
        return [name for name in names if name in vars(self)]

    def close(self) -> None:
        """Close what was built and holds connections, newest first."""
        while self._closers:
            self._closers.pop()()


def services_of(ctx: typer.Context, namespace: str | None = None, **changes: Any) -> Services:
    """This command's services: the settings the root command read, with its
    ``--namespace`` and ``changes``; closed when the command ends. The effective config is
    logged once, at DEBUG (``-v``)."""
    state: State = ctx.ensure_object(State)
    settings = state.settings.with_overrides(namespace=namespace)
    if not state.shown:
        log.debug("effective config: %s", json.dumps(settings.masked(), default=str))
        state.shown = True
    services = Services(settings.with_overrides(**changes))
    ctx.call_on_close(services.close)
    return services
