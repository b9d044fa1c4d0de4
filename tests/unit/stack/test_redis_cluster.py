"""The local Redis Cluster's pure parts: slot split, node config, plan, health, mode."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.adapters.settings import StackSettings
from driftline.core.errors import StackError
from driftline.stack import LocalStack, processes
from driftline.stack.redis_cluster import (
    CLUSTER_SLOTS,
    MASTERS,
    ClusterNodeSpec,
    plan_cluster,
    render_cluster_conf,
    split_slots,
)
from driftline.stack.status import judge


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


def test_a_cluster_with_a_master_down_is_not_running() -> None:
    brokers = [{"node_id": 1, "alive": True}]
    nodes = [{"name": f"redis-{i}", "alive": True} for i in (1, 2, 3)]
    assert judge(brokers, None, nodes).describe() == "running"
    nodes[2]["alive"] = False
    health = judge(brokers, None, nodes)
    assert (health.running, health.down) == (False, ["redis-3"])
    assert judge(brokers, None, []).running is False  # no Redis at all


# -- the mode, as the stack's state records it ----------------------------------------------------
def dead_entry(name: str, index: int, port: int, home: Path) -> dict[str, Any]:
    """A process entry whose pid is ours but whose start time is not: recorded, not alive."""
    return {
        "name": name,
        "index": index,
        "pid": os.getpid(),
        "started": -1,
        "port": port,
        "bus_port": port + 1,
        "home": str(home / name),
        "log": str(home / name / "redis.log"),
    }


def stack_with(tmp_path: Path, state: dict[str, Any], **settings: Any) -> LocalStack:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "stack.json").write_text(json.dumps(state))
    return LocalStack(StackSettings(home=tmp_path, **settings))


def test_status_shows_each_cluster_node(tmp_path: Path) -> None:
    nodes = [dead_entry(f"redis-{i}", i, 7000 + 2 * i, tmp_path) for i in (1, 2, 3)]
    stack = stack_with(
        tmp_path,
        {"brokers": [], "redis_cluster": True, "redis_nodes": nodes, "redis_url": "redis://x/0"},
    )
    status = stack.status()
    assert status.redis_cluster is True and status.redis is None
    assert [n["name"] for n in status.redis_nodes] == ["redis-1", "redis-2", "redis-3"]
    assert [n["alive"] for n in status.redis_nodes] == [False, False, False]
    assert status.running is False and status.redis_url is None
    assert set(status.down) == {"redis-1", "redis-2", "redis-3"}
    assert status.to_dict()["redis_nodes"][0]["bus_port"] == 7003
    assert stack.endpoints() is None


def test_a_home_with_one_redis_is_not_turned_into_a_cluster(tmp_path: Path) -> None:
    single = {"brokers": [], "redis": dead_entry("redis", 0, 7000, tmp_path), "secure": False}
    stack = stack_with(tmp_path, single)
    with pytest.raises(StackError, match="runs one Redis"):
        stack.up(redis_cluster=True)
    assert not (tmp_path / "redis-1").exists()  # refused before anything started


def test_a_secured_stack_has_no_cluster_mode(tmp_path: Path) -> None:
    stack = stack_with(tmp_path, {}, secure=True)
    with pytest.raises(StackError, match="do not go together"):
        stack.up(redis_cluster=True)


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
