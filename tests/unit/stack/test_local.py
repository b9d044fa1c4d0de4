"""LocalStack on a recorded state: the endpoints it gives (with a broker or Redis down),
its checkpoint key and Redis password, its mode (secured or not, Redis Cluster or one
Redis), and its status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.settings import StackSettings
from driftline.core.errors import StackError
from driftline.stack import LocalStack
from driftline.stack.secret_files import ensure_secrets
from tests.unit.stack.recorded_state import dead_entry, entry


def record_stack(home: Path, brokers: list[dict], redis_alive: bool = True) -> LocalStack:
    home.mkdir(parents=True, exist_ok=True)
    redis_entry = entry(0, 40_000, alive=redis_alive, home=home)
    del redis_entry["node_id"], redis_entry["controller_port"]
    state = {
        "home": str(home),
        "kafka_version": "4.1.1",
        "cluster_id": "AAAAAAAAAAAAAAAAAAAAAA",
        "brokers": brokers,
        "bootstrap_servers": ",".join(f"127.0.0.1:{b['port']}" for b in brokers),
        "redis": redis_entry,
        "redis_url": "redis://127.0.0.1:40000/0",
    }
    (home / "stack.json").write_text(json.dumps(state))
    return LocalStack(StackSettings(home=home))


def test_a_stack_with_one_broker_of_three_down_still_gives_every_endpoint(tmp_path: Path) -> None:
    brokers = [entry(i, 41_000 + 10 * i, alive=i != 2, home=tmp_path) for i in (1, 2, 3)]
    stack = record_stack(tmp_path, brokers)
    status = stack.status()
    assert (status.running, status.degraded, status.down) == (True, True, ["kafka-2"])
    assert [b["alive"] for b in status.brokers] == [True, False, True]
    assert [b["name"] for b in status.brokers] == ["kafka-1", "kafka-2", "kafka-3"]
    assert status.describe() == "running, degraded (down: kafka-2)"
    endpoints = stack.endpoints()
    assert endpoints is not None
    assert endpoints.bootstrap == "127.0.0.1:41010,127.0.0.1:41020,127.0.0.1:41030"


def test_a_stack_without_its_redis_gives_no_endpoints(tmp_path: Path) -> None:
    stack = record_stack(tmp_path, [entry(1, 41_010, alive=True, home=tmp_path)], False)
    status = stack.status()
    assert (status.running, status.down) == (False, ["redis"])
    assert status.bootstrap_servers is None and status.redis_url is None
    assert stack.endpoints() is None


def test_checkpoint_key_is_the_key_file_or_none(tmp_path: Path) -> None:
    stack = LocalStack(StackSettings(home=tmp_path))
    assert stack.secrets_dir == tmp_path / "secrets"
    assert stack.checkpoint_key() is None
    made = ensure_secrets(stack.secrets_dir)
    assert stack.checkpoint_key() == made.checkpoint_key.encode()
    assert len(stack.checkpoint_key() or b"") == 64


def test_only_endpoints_carry_the_redis_password(tmp_path: Path) -> None:
    stack = record_stack(tmp_path, [entry(1, 41_010, alive=True, home=tmp_path)])
    password = ensure_secrets(stack.secrets_dir).redis_password
    endpoints = stack.endpoints()
    assert endpoints is not None
    assert endpoints.redis_url == f"redis://:{password}@127.0.0.1:40000/0"
    assert password not in endpoints.describe()
    status = stack.status()
    assert status.redis_url == "redis://127.0.0.1:40000/0"
    assert status.secrets_dir == str(stack.secrets_dir)
    assert password not in json.dumps(status.to_dict())
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    env |= {"DRIFTLINE_STACK_HOME": str(tmp_path), "COLUMNS": "200"}
    for args in (["status", "--json"], ["status"]):
        done = subprocess.run(
            [sys.executable, "-m", "driftline", "stack", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "127.0.0.1:40000" in done.stdout + done.stderr
        assert password not in done.stdout + done.stderr


# -- the mode of a home: one Redis, a Redis Cluster, secured ---------------------------------------
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


# -- secured or not --------------------------------------------------------------------------------
def test_a_stack_is_not_restarted_in_the_other_mode(tmp_path: Path) -> None:
    state = {
        "kafka_version": "4.1.1",
        "secure": True,
        "brokers": [{"node_id": 1, "pid": 1, "port": 1, "controller_port": 2, "started": -1}],
    }
    (tmp_path / "stack.json").write_text(json.dumps(state))
    with pytest.raises(StackError, match="was made secured; run 'driftline stack down --purge'"):
        LocalStack(StackSettings(home=tmp_path)).up()
    (tmp_path / "stack.json").write_text(json.dumps(state | {"secure": False}))
    with pytest.raises(StackError, match="was made not secured"):
        LocalStack(StackSettings(home=tmp_path, secure=True)).up()
