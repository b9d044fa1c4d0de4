"""Reach the local stack from an application: its Redis, with the password, read by a
predictions client.

``driftline stack up`` picks free ports and makes a Redis password; ``driftline stack
status --json`` shows the Redis URL without the password (and the file that holds it).
These functions find both in the stack's home, through
:meth:`LocalStack.endpoints <driftline.stack.local.LocalStack.endpoints>`, the one place
that hands out the stack's Redis URL with its password (and, on a secured stack, its TLS
files)::

    from driftline.app.connect import predictions_from_stack

    with predictions_from_stack() as client:      # ./.driftline, or DRIFTLINE_STACK_HOME
        latest = client.get("EWR")

They live here, in the application layer, because the read layer does not know the stack
(``app > read | stack``): :meth:`PredictionsClient.from_url
<driftline.read.reader.PredictionsClient.from_url>` takes any URL, these give it the
stack's. ``home`` and ``namespace`` left out are the settings' (``DRIFTLINE_STACK_HOME``,
default ``./.driftline``; ``DRIFTLINE_NAMESPACE``, default ``driftline``), read once here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from driftline.adapters.settings import Settings
from driftline.core.errors import ServiceUnavailable
from driftline.read.async_reader import AsyncPredictionsClient
from driftline.read.reader import PredictionsClient
from driftline.stack import LocalStack

__all__ = [
    "StackRedis",
    "async_predictions_from_stack",
    "predictions_from_stack",
    "stack_redis",
]


@dataclass(frozen=True)
class StackRedis:
    """Where the local stack's Redis is: ``url`` carries the password (keep it out of
    logs), ``cluster`` says it is a Redis Cluster, ``namespace`` is the one to read."""

    url: str
    cluster: bool
    namespace: str

    def __repr__(self) -> str:
        return f"StackRedis(url='***', cluster={self.cluster}, namespace={self.namespace!r})"


def stack_redis(home: str | Path | None = None, namespace: str | None = None) -> StackRedis:
    """The running local stack's Redis in ``home``: its URL with the password.

    A stack that is not running (or was never started there) is a
    :class:`~driftline.core.errors.ServiceUnavailable` that says so. A secured stack
    (``stack up --secure``) is reached as one without being told.
    """
    settings = Settings().with_overrides(
        namespace=namespace, stack_home=None if home is None else Path(home)
    )
    stack = LocalStack(settings.stack)
    status = stack.status()
    if status.secure != settings.stack.secure:  # its clients use its mode
        stack = LocalStack(settings.with_overrides(stack_secure=status.secure).stack)
    endpoints = stack.endpoints() if status.running else None
    if endpoints is None:
        raise ServiceUnavailable(
            f"the local stack in {settings.stack.home} is {status.describe()}: start it with "
            "'driftline stack up' (or give its home: DRIFTLINE_STACK_HOME, home=...)"
        )
    return StackRedis(endpoints.redis_url, status.redis_cluster, settings.namespace)


def predictions_from_stack(
    home: str | Path | None = None, namespace: str | None = None, *, timeout_s: float = 30.0
) -> PredictionsClient:
    """A :class:`PredictionsClient` of the running local stack's Redis (see
    :func:`stack_redis`), checked as :meth:`PredictionsClient.from_url` checks; close it
    (or use it in a ``with`` block)."""
    found = stack_redis(home, namespace)
    return PredictionsClient.from_url(found.url, found.namespace, timeout_s=timeout_s)


def async_predictions_from_stack(
    home: str | Path | None = None, namespace: str | None = None, *, timeout_s: float = 30.0
) -> AsyncPredictionsClient:
    """An :class:`AsyncPredictionsClient` of the running local stack's Redis (see
    :func:`stack_redis`); nothing is sent before its first read. ``await client.aclose()``
    (or use it in an ``async with`` block)."""
    found = stack_redis(home, namespace)
    return AsyncPredictionsClient.from_url(
        found.url, found.namespace, timeout_s=timeout_s, cluster=found.cluster
    )
