"""A real Redis Cluster for a test module: three masters started by the stack's own code.

Use it by importing the fixture into a test module::

    from tests.integration.cluster_fixtures import RunningCluster, redis_cluster  # noqa: F401

    def test_something(redis_cluster: RunningCluster) -> None:  # noqa: F811
        client = make_redis(redis_cluster.url)   # a redis.cluster.RedisCluster

The cluster runs in a temporary folder (``redis-<n>/`` per node, as ``driftline stack up
--redis-cluster`` lays it out) with a password of its own, and is stopped when the module
ends. Each test still uses its own namespace (the ``namespace`` fixture). A test that kills
a node brings it back with :meth:`RunningCluster.repair` (same port, same folder).
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from driftline.stack.processes import stop_processes
from driftline.stack.redis_cluster import ensure_cluster
from driftline.stack.redis_node import with_password

__all__ = ["RunningCluster", "redis_cluster"]


@dataclass(frozen=True)
class RunningCluster:
    """Where the cluster is: ``url`` (the first node's, with the password) and its nodes."""

    url: str
    password: str
    home: Path
    state: dict[str, Any]  # as the stack records it: ``redis_nodes``, ``redis_url``

    @property
    def nodes(self) -> list[dict[str, Any]]:
        """Each node's process entry: ``name``, ``index``, ``pid``, ``port``, ``bus_port``..."""
        return list(self.state["redis_nodes"])

    def repair(self, timeout_s: float = 120) -> None:
        """Restart the dead nodes on their ports with their folders; wait until ok."""
        ensure_cluster(
            self.home,
            self.state,
            self.password,
            deadline=time.monotonic() + timeout_s,
            save=lambda: None,
        )

    def node_url(self, index: int) -> str:
        """The URL (with the password) of node ``index`` (1, 2, 3)."""
        [node] = [n for n in self.nodes if n["index"] == index]
        return with_password(f"redis://127.0.0.1:{node['port']}/0", self.password)


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    """A three-master Redis Cluster on loopback ports for this module's tests."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed ('make setup' installs it)")
    home = tmp_path_factory.mktemp("redis-cluster")
    password = secrets.token_hex(16)
    state: dict[str, Any] = {}
    try:
        ensure_cluster(home, state, password, deadline=time.monotonic() + 120, save=lambda: None)
        url = with_password(state["redis_url"], password)
        yield RunningCluster(url, password, home, state)
    finally:
        stop_processes([(int(n["pid"]), n["started"]) for n in state.get("redis_nodes", [])])
