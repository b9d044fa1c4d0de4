"""The local Redis Cluster's pure parts: slot split, node config, plan."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.errors import StackError
from driftline.stack import processes
from driftline.stack.redis_cluster import (
    CLUSTER_SLOTS,
    MASTERS,
    ClusterNodeSpec,
    plan_cluster,
    render_cluster_conf,
    split_slots,
)
from tests.unit.stack.recorded_state import dead_entry


@given(st.integers(min_value=1, max_value=64))
def test_slots_are_split_evenly_and_all_covered(masters: int) -> None:
    ranges = split_slots(masters)
    assert len(ranges) == masters
    assert ranges[0][0] == 0 and ranges[-1][1] == CLUSTER_SLOTS - 1
    for (_, last), (first, _) in zip(ranges, ranges[1:], strict=False):
        assert first == last + 1  # contiguous, no slot twice
    sizes = [last - first + 1 for first, last in ranges]
    assert max(sizes) - min(sizes) <= 1


def test_a_node_config_is_the_single_redis_config_in_cluster_mode() -> None:
    node = ClusterNodeSpec(3, 7003, 17003, Path("/s/redis-3"))
    lines = render_cluster_conf(node, "s3cret").splitlines()
    for line in (
        "bind 127.0.0.1",
        "port 7003",
        "dir /s/redis-3",
        "appendonly yes",
        "requirepass s3cret",
        "masterauth s3cret",
        "cluster-enabled yes",
        "cluster-config-file nodes.conf",
        "cluster-port 17003",
    ):
        assert line in lines, line
    assert (node.name, node.url) == ("redis-3", "redis://127.0.0.1:7003/0")


def test_a_new_cluster_gets_six_distinct_free_ports(tmp_path: Path) -> None:
    nodes = plan_cluster(tmp_path, [])
    assert [n.index for n in nodes] == list(range(1, MASTERS + 1))
    assert [n.home for n in nodes] == [tmp_path / f"redis-{i}" for i in (1, 2, 3)]
    ports = [p for n in nodes for p in (n.port, n.bus_port)]
    assert len(set(ports)) == 6


def test_a_recorded_cluster_keeps_its_ports_and_folders(tmp_path: Path) -> None:
    recorded = [
        {"index": i, "port": 7000 + i, "bus_port": 17000 + i, "home": str(tmp_path / f"r{i}")}
        for i in (1, 2, 3)
    ]
    nodes = plan_cluster(tmp_path, recorded)
    assert [(n.port, n.bus_port, n.home) for n in nodes] == [
        (7000 + i, 17000 + i, tmp_path / f"r{i}") for i in (1, 2, 3)
    ]
    with pytest.raises(StackError, match="2 node"):
        plan_cluster(tmp_path, recorded[:2])


def test_a_restarted_node_needs_its_own_ports(tmp_path: Path, monkeypatch: Any) -> None:
    """The nodes know each other by port: a dead node whose port is taken is not moved."""
    from driftline.stack.redis_cluster import ensure_cluster

    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        taken = stranger.getsockname()[1]
        nodes = [dead_entry(f"redis-{i}", i, processes.free_port(), tmp_path) for i in (1, 2, 3)]
        nodes[1]["port"] = taken
        started: list[Any] = []
        monkeypatch.setattr(processes, "spawn", lambda *a: started.append(a) or 0)
        with pytest.raises(StackError, match=f"port {taken} of redis-2"):
            ensure_cluster(tmp_path, {"redis_nodes": nodes}, "pw", deadline=0.0, save=lambda: None)
        assert started == []  # every port is checked before any node starts
