"""The one place Redis clients are made: one server or a Redis Cluster, told apart by asking.

A Redis Cluster is reached through the URL of any of its nodes, the way ``redis-cli -c``
reaches it. :func:`make_redis` asks that node (``INFO cluster``) and returns a
:class:`redis.cluster.RedisCluster` when it says ``cluster_enabled:1``, a plain
:class:`redis.Redis` otherwise. Asking replaces the ping the check made anyway, so the
URL of an existing cluster needs no flag and the local stack's needs none either.

:func:`make_async_redis` makes the asyncio client of the same URL, for a server that waits
on Redis (``XREAD BLOCK``) in its event loop rather than in a thread.

On a cluster a command may only touch keys of one hash slot. :func:`nodes_of` groups keys
by the node that serves their slot, so a batch can be one call per node (a script flagged
``allow-cross-slot-keys`` touches keys of several slots of one node); :func:`slot_of` is
the slot of one key.

>>> slot_of("demo:metrics") == slot_of(b"demo:metrics")
True
>>> slot_of("{demo}:metrics") == slot_of("{demo}:predictions") == slot_of("demo")
True
>>> nodes_of(object(), ["a", "b"])  # not a cluster: one group, no node to name
{None: ['a', 'b']}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeAlias, TypeVar

import redis
import redis.asyncio
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from driftline.adapters.settings import mask_url
from driftline.core.errors import (
    ConfigError,
    DriftlineError,
    RedisScriptError,
    ServiceUnavailable,
    StoreFull,
)

__all__ = [
    "REDIS_ERRORS",
    "AsyncRedisClient",
    "RedisClient",
    "authentication_failed",
    "is_cluster",
    "make_async_redis",
    "make_redis",
    "nodes_of",
    "redis_failure",
    "slot_of",
]

#: What :func:`make_redis` returns: a :class:`redis.Redis` (one server) or a
#: :class:`RedisCluster` (a cluster reached through one node). Typed loosely for now: the
#: two share no base class, and code written for one server takes either (tighten it to
#: ``redis.Redis | RedisCluster`` once every caller is annotated with this alias).
RedisClient: TypeAlias = Any

#: What :func:`make_async_redis` returns: a :class:`redis.asyncio.Redis` or an asyncio
#: :class:`~redis.asyncio.cluster.RedisCluster` (typed loosely, as :data:`RedisClient`).
AsyncRedisClient: TypeAlias = Any

#: What a Redis or Redis Cluster client raises when the service fails it. redis-py's
#: cluster client raises :class:`RedisClusterException` (not a :class:`redis.RedisError`)
#: when no node of the cluster answers, or a slot has no node.
REDIS_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, RedisClusterException)

K = TypeVar("K", str, bytes)


def redis_failure(exc: Exception, what: str) -> DriftlineError:
    """What a Redis error means for the call that ``what`` names, to be raised ``from exc``:

    - Redis full (``OOM``: ``maxmemory`` reached under ``noeviction``): :class:`StoreFull`,
      waited out until memory frees;
    - one of driftline's scripts failing on its own (a Lua error: a bug, not an outage):
      :class:`RedisScriptError`, which stops the worker;
    - anything else (no answer, a timeout, a failover's ``READONLY``, ``LOADING``...):
      :class:`ServiceUnavailable`, waited out.

    >>> type(redis_failure(redis.exceptions.OutOfMemoryError("command not allowed"), "x"))
    <class 'driftline.core.errors.StoreFull'>
    >>> type(redis_failure(redis.ResponseError("user_script:3: attempt to index nil"), "x"))
    <class 'driftline.core.errors.RedisScriptError'>
    >>> type(redis_failure(redis.ConnectionError("refused"), "x"))
    <class 'driftline.core.errors.ServiceUnavailable'>

    A command's own error raised inside a script is not the script's: a failover's
    ``READONLY``, a cluster that is down, ``BUSY``... are outages like any other.

    >>> in_script = " script: f, on @user_script:4."
    >>> type(redis_failure(redis.ResponseError("MASTERDOWN Link down" + in_script), "x"))
    <class 'driftline.core.errors.ServiceUnavailable'>
    >>> down = "Script attempted to execute a command while the cluster is down"
    >>> type(redis_failure(redis.ResponseError(down + in_script), "x"))
    <class 'driftline.core.errors.ServiceUnavailable'>
    """
    text = str(exc)
    if isinstance(exc, redis.exceptions.OutOfMemoryError) or "OOM command not allowed" in text:
        return StoreFull(
            f"Redis is full (used memory above maxmemory, policy noeviction): {what} waits "
            f"until memory frees ({text})"
        )
    if isinstance(exc, redis.ResponseError) and _LUA_ERROR.match(text):
        return RedisScriptError(f"a driftline script failed in Redis ({what}): {text}")
    return ServiceUnavailable(f"{what}: {exc!r}")


#: The errors of a script's own Lua, not of a command it called: a runtime error
#: (``user_script:3: attempt to index a nil value``, Redis 7) or one of compiling or
#: running it (Redis 6). A command's error inside a script keeps the command's words and
#: ends ``script: <sha>, on @user_script:N.``: an outage as outside one.
_LUA_ERROR = re.compile(r"(ERR )?(user_script:\d+:|Error (compiling|running) script)")


def make_redis(url: str, *, check: bool = True, timeout_s: float = 30.0) -> RedisClient:
    """A client for ``url`` (``decode_responses`` off: values are bytes); checked by default.

    A command without an answer for ``timeout_s`` fails (the worker then waits the outage
    out and retries); a URL that is not a Redis URL is a :class:`ConfigError`, a Redis that
    does not answer a :class:`ServiceUnavailable`. When the node at ``url`` is part of a
    Redis Cluster the client is a :class:`RedisCluster` with the same timeouts and
    credentials, which finds the other nodes itself. Without ``check`` a Redis that does
    not answer yet gets a plain client (whether it is a cluster cannot be told).
    """
    options: dict[str, Any] = {
        "socket_connect_timeout": min(5.0, timeout_s),
        "socket_timeout": timeout_s,
    }
    try:
        client = redis.Redis.from_url(url, **options)
    except ValueError as exc:
        raise ConfigError(f"the Redis URL {mask_url(url)!r} is not valid: {exc}") from exc
    try:
        clustered = _cluster_enabled(client)
    except redis.ResponseError as exc:
        client.close()
        if "cluster mode" in str(exc):  # SELECT of a database other than 0
            raise ConfigError(
                f"the Redis URL {mask_url(url)!r} names a database, but a Redis Cluster has "
                "only database 0"
            ) from exc
        raise ServiceUnavailable(f"Redis at {mask_url(url)} refused: {exc}") from exc
    except redis.AuthenticationError as exc:  # it answers, but not to this client
        if not check:
            return client
        client.close()
        raise ServiceUnavailable(
            f"Redis at {mask_url(url)} refused the client: {authentication_failed(exc)}"
        ) from exc
    except redis.RedisError as exc:
        if not check:
            return client
        client.close()
        raise ServiceUnavailable(f"Redis at {mask_url(url)} did not answer: {exc}") from exc
    if not clustered:
        return client
    client.close()
    try:
        return RedisCluster.from_url(url, **options)
    except (redis.RedisError, RedisClusterException) as exc:
        raise ServiceUnavailable(f"Redis Cluster at {mask_url(url)} did not answer: {exc}") from exc


def authentication_failed(exc: redis.AuthenticationError) -> str:
    """What to say when Redis refuses a client's password, or its lack of one (the words
    never include the password).

    >>> authentication_failed(redis.AuthenticationError("HELLO must be called..."))[:80]
    'authentication failed (NOAUTH: Redis requires a password and the URL gives none)'
    """
    if "invalid" in str(exc).lower():  # WRONGPASS invalid username-password pair...
        why = "WRONGPASS: Redis refused the password (or user) of the URL"
    else:  # NOAUTH, or redis-py's HELLO asked without a password
        why = "NOAUTH: Redis requires a password and the URL gives none"
    return (
        f"authentication failed ({why}); put it in the URL, as redis://:PASSWORD@HOST:PORT/0 "
        "(the local stack keeps its own in <home>/secrets/redis.password)"
    )


def make_async_redis(
    url: str, *, cluster: bool = False, timeout_s: float = 30.0
) -> AsyncRedisClient:
    """An asyncio client for ``url`` with :func:`make_redis`'s options (bytes values, a
    command without an answer for ``timeout_s`` fails); a Redis Cluster's when ``cluster``
    (what :func:`is_cluster` says of the blocking client of the same URL).

    Nothing is sent until the first command, which connects in the event loop that runs
    it: make it where that loop will use it, and ``await client.aclose()`` in that loop.

    >>> make_async_redis("redis://127.0.0.1:1/0", timeout_s=3).__class__.__module__
    'redis.asyncio.client'
    >>> make_async_redis("http://nowhere")
    Traceback (most recent call last):
    ...
    driftline.core.errors.ConfigError: the Redis URL 'http://nowhere' is not valid: ...
    """
    options: dict[str, Any] = {
        "socket_connect_timeout": min(5.0, timeout_s),
        "socket_timeout": timeout_s,
    }
    try:
        if cluster:
            return AsyncRedisCluster.from_url(url, **options)
        return redis.asyncio.Redis.from_url(url, **options)
    except ValueError as exc:
        raise ConfigError(f"the Redis URL {mask_url(url)!r} is not valid: {exc}") from exc


def _cluster_enabled(client: redis.Redis) -> bool:
    """Whether the server behind ``client`` runs in cluster mode (``INFO cluster``).

    A user whose ACL refuses INFO is asked for a PING instead, and taken for one server.
    """
    try:
        info = client.info("cluster")
    except redis.exceptions.NoPermissionError:
        client.ping()
        return False
    return bool(int(info.get("cluster_enabled", 0)))


def is_cluster(client: object) -> bool:
    """Whether ``client`` is a Redis Cluster client (keys of one slot per command)."""
    return isinstance(client, RedisCluster)


def slot_of(key: str | bytes) -> int:
    """The hash slot of ``key`` (CRC16 of the key, or of its ``{hash tag}``, mod 16384).

    >>> slot_of("123456789")  # the example of the Redis Cluster specification
    12739
    """
    return int(key_slot(key.encode() if isinstance(key, str) else key))


def nodes_of(client: object, keys: Iterable[K]) -> dict[ClusterNode | None, list[K]]:
    """``keys`` grouped by the cluster node that serves their slot, each group in order.

    Pass a group's node as ``target_nodes=`` to a command (or a pipeline's command) to send
    it there. A client that is not a cluster's gives one group under ``None``. The slot map
    is the client's (it follows MOVED answers on its own).
    """
    if not isinstance(client, RedisCluster):
        return {None: list(keys)}
    groups: dict[ClusterNode | None, list[K]] = {}
    for key in keys:
        groups.setdefault(client.get_node_from_key(key), []).append(key)
    return groups
