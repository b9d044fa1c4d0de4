"""What the local stack's processes say about it: running, degraded, or not running.

The stack is *running* (usable) while a majority of its KRaft nodes (a controller quorum,
enough for replicated topics) and its Redis are alive; it is *degraded* when it is running
with some process down. A stack of one broker has no spare: its broker and its Redis must
both be alive. A Redis Cluster (three masters, no replicas) counts as alive when every
master is: each serves a third of the keys.

>>> view = judge([{"node_id": 1, "alive": True}, {"node_id": 2, "alive": False},
...               {"node_id": 3, "alive": True}], {"alive": True})
>>> view.running, view.degraded, view.down
(True, True, ['kafka-2'])
>>> judge([{"node_id": 1, "alive": True}], {"alive": False}).describe()
'not running (down: redis)'
>>> judge([{"node_id": 1, "alive": True}], None,
...       [{"name": "redis-1", "alive": True}, {"name": "redis-2", "alive": False}]).describe()
'not running (down: redis-2)'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Health", "StackStatus", "judge", "quorum"]


def quorum(nodes: int) -> int:
    """How many of ``nodes`` KRaft voters must be alive for the cluster to work.

    >>> [quorum(n) for n in (1, 2, 3, 4, 5)]
    [1, 2, 2, 3, 3]
    """
    return nodes // 2 + 1


@dataclass(frozen=True)
class Health:
    """The verdict on a set of processes (see the module's docstring)."""

    running: bool
    degraded: bool
    down: list[str]

    def describe(self) -> str:
        """One line for people: ``running``, ``running, degraded (down: ...)``..."""
        if not self.running:
            return "not running" + (f" (down: {', '.join(self.down)})" if self.down else "")
        if self.degraded:
            return f"running, degraded (down: {', '.join(self.down)})"
        return "running"


def judge(
    brokers: list[dict[str, Any]],
    redis: dict[str, Any] | None,
    redis_nodes: Sequence[dict[str, Any]] = (),
    extras: Sequence[dict[str, Any]] = (),
) -> Health:
    """The health of a stack from its processes, each a dict with an ``alive`` flag.

    ``redis_nodes`` are the masters of a Redis Cluster (each with its ``name``), given
    instead of ``redis``. ``extras`` (the schema registry, each with its ``name``) are not
    needed for the stack to run: one down makes it degraded.

    >>> judge([{"node_id": 1, "alive": True}], {"alive": True},
    ...       extras=[{"name": "schema-registry", "alive": False}]).describe()
    'running, degraded (down: schema-registry)'

    >>> judge([], None)
    Health(running=False, degraded=False, down=[])
    >>> judge([{"node_id": 1, "alive": False}, {"node_id": 2, "alive": True},
    ...        {"node_id": 3, "alive": False}], {"alive": True}).running
    False
    """
    down = [f"kafka-{b['node_id']}" for b in brokers if not b["alive"]]
    if redis is not None and not redis["alive"]:
        down.append("redis")
    down += [str(node["name"]) for node in [*redis_nodes, *extras] if not node["alive"]]
    alive_brokers = sum(1 for b in brokers if b["alive"])
    redis_alive = (redis is not None and bool(redis["alive"])) or (
        bool(redis_nodes) and all(node["alive"] for node in redis_nodes)
    )
    running = bool(brokers) and alive_brokers >= quorum(len(brokers)) and redis_alive
    return Health(running=running, degraded=running and bool(down), down=down)


@dataclass
class StackStatus:
    """What ``driftline stack status --json`` prints.

    ``running`` says the stack is usable (see :func:`judge`), ``degraded`` that it is
    usable with ``down`` processes missing (``kafka-<id>``, ``redis``); each entry of
    ``brokers`` and ``redis`` has its own ``alive`` flag. ``bootstrap_servers`` (every
    broker, so clients keep the full list) and ``redis_url`` are given while it runs.
    ``redis_url`` never carries the password: :meth:`LocalStack.endpoints` adds it;
    ``secrets_dir`` is the folder of the password and the checkpoint key, once made;
    ``secure`` says the stack speaks TLS with SCRAM (Kafka) and ACL users (Redis).
    ``redis_cluster`` says Redis is a Redis Cluster: ``redis`` is then ``None`` and
    ``redis_nodes`` holds its masters (``redis-<n>``, each with its ``port`` and
    ``bus_port``), ``redis_url`` is the first one's. ``registry`` is the schema registry
    of ``up --registry`` (its ``url``), ``schema_registry_url`` its Confluent-compatible
    URL while it answers.
    """

    running: bool
    home: str
    kafka_version: str
    bootstrap_servers: str | None
    redis_url: str | None
    brokers: list[dict[str, Any]] = field(default_factory=list)
    redis: dict[str, Any] | None = None
    degraded: bool = False
    down: list[str] = field(default_factory=list)
    secrets_dir: str | None = None
    secure: bool = False
    redis_cluster: bool = False
    redis_nodes: list[dict[str, Any]] = field(default_factory=list)
    registry: dict[str, Any] | None = None
    schema_registry_url: str | None = None

    def describe(self) -> str:
        """One line for people, as :meth:`Health.describe`."""
        return Health(self.running, self.degraded, self.down).describe()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
