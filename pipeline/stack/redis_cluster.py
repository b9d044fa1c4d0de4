"""The local stack's Redis Cluster: three masters of Debian's ``redis-server`` on loopback.

``driftline stack up --redis-cluster`` runs this instead of the one Redis. Each node has
its own folder under the stack's home (``redis-<n>/``: ``redis.conf``, 0600 since it holds
the password, ``nodes.conf``, ``redis.log``, append-only files), a client port and a
cluster-bus port, both picked free on 127.0.0.1 and recorded (the bus port is set with
``cluster-port``: the default, client port + 10000, may not exist for a high port).

The first start forms the cluster: each node takes a third of the 16384 slots (the split
``redis-cli --cluster create`` makes) and its own config epoch, then the first node meets
the others. No replicas: a master down is a third of the keys unreachable, so the cluster
counts as down until ``up`` restarts that node on its port with its folder, where
``nodes.conf`` makes it the same node with the same slots. Every start waits, with a
deadline, until every node says ``cluster_state:ok`` and knows every master.

>>> split_slots(3)
[(0, 5460), (5461, 10922), (10923, 16383)]
>>> node = ClusterNodeSpec(2, 7001, 17001, Path("/s/redis-2"))
>>> conf = render_cluster_conf(node, "pw")
>>> "cluster-enabled yes" in conf, "cluster-port 17001" in conf, "requirepass pw" in conf
(True, True, True)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from driftline.adapters.settings import mask_url
from driftline.core.errors import ServiceUnavailable, StackError
from driftline.stack import processes
from driftline.stack.readiness import wait_redis
from driftline.stack.redis_node import redis_command, render_redis_conf, with_password
from driftline.stack.secret_files import write_private

__all__ = [
    "CLUSTER_SLOTS",
    "MASTERS",
    "ClusterNodeSpec",
    "cluster_state",
    "ensure_cluster",
    "plan_cluster",
    "render_cluster_conf",
    "split_slots",
    "wait_cluster_ok",
]

log = logging.getLogger(__name__)

CLUSTER_SLOTS = 16384
MASTERS = 3
#: How long a silent node goes before the others count it failing (loopback: short, so a
#: restarted master is taken back within seconds; Redis clears a FAIL after twice this).
NODE_TIMEOUT_MS = 3000


@dataclass(frozen=True)
class ClusterNodeSpec:
    """One master: its number (1, 2, 3), client port, cluster-bus port and folder."""

    index: int
    port: int
    bus_port: int
    home: Path

    @property
    def name(self) -> str:
        return f"redis-{self.index}"

    @property
    def url(self) -> str:
        """This node's URL, without the password."""
        return f"redis://127.0.0.1:{self.port}/0"


def split_slots(masters: int) -> list[tuple[int, int]]:
    """The slot range of each master: an even split, first and last slot included.

    >>> split_slots(1), split_slots(2)
    ([(0, 16383)], [(0, 8191), (8192, 16383)])
    """
    bounds = [round(i * CLUSTER_SLOTS / masters) for i in range(masters + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(masters)]


def render_cluster_conf(node: ClusterNodeSpec, password: str) -> str:
    """The one-Redis config (loopback, append-only, password) plus cluster mode."""
    return render_redis_conf(port=node.port, home=node.home, password=password) + "\n".join(
        [
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",  # in the node's own folder (its 'dir')
            f"cluster-port {node.bus_port}",
            f"cluster-node-timeout {NODE_TIMEOUT_MS}",
            f"masterauth {password}",
            "",
        ]
    )


def plan_cluster(home: Path, recorded: list[dict[str, Any]]) -> list[ClusterNodeSpec]:
    """The nodes of the cluster in ``home``: the recorded ones, or new ones on free ports.

    >>> [n.port for n in plan_cluster(Path("/s"), [
    ...     {"index": i, "port": 7000 + i, "bus_port": 17000 + i, "home": f"/s/redis-{i}"}
    ...     for i in (1, 2, 3)])]
    [7001, 7002, 7003]
    """
    if recorded:
        if len(recorded) != MASTERS:
            raise StackError(
                f"the Redis cluster in {home} has {len(recorded)} node(s), not {MASTERS}; "
                "run 'driftline stack down --purge' first"
            )
        return [
            ClusterNodeSpec(int(e["index"]), int(e["port"]), int(e["bus_port"]), Path(e["home"]))
            for e in recorded
        ]
    taken: set[int] = set()
    nodes = []
    for index in range(1, MASTERS + 1):
        port, bus_port = _fresh_port(taken), _fresh_port(taken)
        nodes.append(ClusterNodeSpec(index, port, bus_port, home / f"redis-{index}"))
    return nodes


def _fresh_port(taken: set[int]) -> int:
    while (port := processes.free_port()) in taken:
        pass
    taken.add(port)
    return port


def ensure_cluster(
    home: Path,
    state: dict[str, Any],
    password: str,
    *,
    deadline: float,
    save: Callable[[], None],
    check: Callable[[], None] | None = None,
) -> None:
    """Start the cluster's dead nodes (all of them the first time), form it when it is
    new, and wait until every node says it is ok.

    ``state["redis_nodes"]`` (the processes) and ``state["redis_url"]`` (the first node,
    no password) are updated, and ``save`` called once the new processes are recorded, so
    they can be stopped even if the wait fails. ``check`` raises when a process died.
    """
    recorded = state.get("redis_nodes") or []
    nodes = plan_cluster(home, recorded)
    alive = {int(e["index"]) for e in recorded if processes.recorded_alive(e)}
    entries = {int(e["index"]): e for e in recorded}
    dead = [node for node in nodes if node.index not in alive]
    for node in dead:  # all checked before any starts: no process left unrecorded
        for port in (node.port, node.bus_port):
            if not processes.port_frees(port):
                raise StackError(
                    f"port {port} of {node.name} is taken by another process: the cluster's "
                    "nodes know each other by port; free it, or 'driftline stack down --purge'"
                )
    for node in dead:
        entries[node.index] = _start_node(node, password)
    state["redis_nodes"] = [entries[n.index] for n in nodes]
    state["redis_url"] = nodes[0].url
    save()
    urls = [with_password(n.url, password) for n in nodes]
    for url in urls:
        wait_redis(url, deadline, check or _never)
    if not alive:
        form_cluster(nodes, urls)
    wait_cluster_ok(urls, deadline, check)


def _start_node(node: ClusterNodeSpec, password: str) -> dict[str, Any]:
    node.home.mkdir(parents=True, exist_ok=True)
    conf = node.home / "redis.conf"
    write_private(conf, render_cluster_conf(node, password))
    pid = processes.spawn(redis_command(conf, node.port), node.home / "stdout.log")
    return {
        "name": node.name,
        "index": node.index,
        "pid": pid,
        "port": node.port,
        "bus_port": node.bus_port,
        "home": str(node.home),
        "log": str(node.home / "redis.log"),
        "started": processes.start_ticks(pid),
    }


def form_cluster(nodes: list[ClusterNodeSpec], urls: list[str]) -> None:
    """Give each new node its slots and epoch, then introduce them; a formed cluster is
    left as it is, a half-formed one refused (it cannot be told apart from a damaged one)."""
    states = [cluster_state(url) for url in urls]
    if all(int(s.get("cluster_slots_assigned", 0)) == CLUSTER_SLOTS for s in states):
        return
    fresh = all(
        int(s.get("cluster_known_nodes", 0)) == 1 and int(s.get("cluster_slots_assigned", 0)) == 0
        for s in states
    )
    if not fresh:
        raise StackError(
            "the Redis cluster's nodes hold part of a cluster (slots or peers) but not all of "
            "it; run 'driftline stack down --purge' and 'driftline stack up --redis-cluster'"
        )
    for (first, last), node, url in zip(split_slots(len(nodes)), nodes, urls, strict=True):
        with _client(url) as client:
            client.execute_command("CLUSTER SET-CONFIG-EPOCH", node.index)
            client.execute_command("CLUSTER ADDSLOTSRANGE", first, last)
    with _client(urls[0]) as client:
        for node in nodes[1:]:
            client.execute_command("CLUSTER MEET", "127.0.0.1", node.port, node.bus_port)
    log.info("formed a Redis cluster of %d masters", len(nodes))


def cluster_state(url: str) -> dict[str, str]:
    """``CLUSTER INFO`` of the node at ``url``, as text fields."""
    with _client(url) as client:
        raw = client.execute_command("CLUSTER INFO")
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def wait_cluster_ok(
    urls: list[str], deadline: float, check: Callable[[], None] | None = None
) -> None:
    """Poll until every node says ``cluster_state:ok``, covers every slot and knows every
    node; ``check`` raises at once if a process died."""
    pending = list(urls)
    last: object = None
    while pending:
        try:
            info = cluster_state(pending[0])
        except redis.RedisError as exc:
            last = exc
        else:
            ok = (
                info.get("cluster_state") == "ok"
                and int(info.get("cluster_slots_assigned", 0)) == CLUSTER_SLOTS
                and int(info.get("cluster_known_nodes", 0)) >= len(urls)
            )
            if ok:
                pending.pop(0)
                continue
            last = {k: info.get(k) for k in ("cluster_state", "cluster_known_nodes")}
        if check is not None:
            check()
        if time.monotonic() > deadline:
            raise ServiceUnavailable(
                f"the Redis cluster at {mask_url(pending[0])} was not ok in time: {last}"
            )
        time.sleep(0.1)


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)


def _never() -> None:
    """A process check with nothing to check."""
