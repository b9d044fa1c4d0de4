"""The local stack's pure parts: broker config, topic specs, process and port helpers,
health, and the plan of a restart (from a recorded state, no process started)."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.adapters.settings import StackSettings
from driftline.adapters.topics import topic_specs
from driftline.core.errors import ConfigError, StackError
from driftline.stack import LocalStack, processes
from driftline.stack.jars import ensure_kafka_jars, kafka_libs_dir
from driftline.stack.kafka_node import KafkaNode, plan_nodes, render_properties
from driftline.stack.redis_node import write_redis_conf
from driftline.stack.secret_files import CHECKPOINT_KEY, REDIS_PASSWORD, ensure_secrets
from driftline.stack.status import Health, judge


# -- server.properties ---------------------------------------------------------------------------
def cluster(size: int, root: Path = Path("/stack")) -> list[KafkaNode]:
    return [
        KafkaNode(node_id, 19_090 + 2 * node_id, 19_091 + 2 * node_id, root / f"kafka-{node_id}")
        for node_id in range(1, size + 1)
    ]


def properties(text: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a property line: {line!r}"
        assert key not in parsed, f"{key} is set twice"
        parsed[key] = value
    return parsed


def ports_of(listeners: str) -> list[int]:
    return [int(listener.rsplit(":", 1)[1]) for listener in listeners.split(",")]


REPLICATION_KEYS = (
    "default.replication.factor",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "share.coordinator.state.topic.replication.factor",
)
MIN_ISR_KEYS = ("transaction.state.log.min.isr", "share.coordinator.state.topic.min.isr")


def test_single_node_properties() -> None:
    [node] = cluster(1)
    props = properties(render_properties(node, [node]))
    assert props["node.id"] == "1"
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == f"1@127.0.0.1:{node.controller_port}"
    assert ports_of(props["listeners"]) == [node.port, node.controller_port]
    assert props["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{node.port}"
    assert props["log.dirs"] == str(node.data_dir)
    for key in REPLICATION_KEYS + MIN_ISR_KEYS:
        assert props[key] == "1", key
    assert props["auto.create.topics.enable"] == "false"


def test_three_node_properties() -> None:
    nodes = cluster(3)
    rendered = [properties(render_properties(node, nodes)) for node in nodes]
    controller_ports = {n.controller_port for n in nodes}
    for node, props in zip(nodes, rendered, strict=True):
        assert props["node.id"] == str(node.node_id)
        voters = props["controller.quorum.voters"].split(",")
        assert {v.split("@")[0] for v in voters} == {"1", "2", "3"}
        assert {int(v.rsplit(":", 1)[1]) for v in voters} == controller_ports
        assert ports_of(props["listeners"]) == [node.port, node.controller_port]
        assert props["log.dirs"] == str(node.data_dir)
        for key in REPLICATION_KEYS:
            assert props[key] == "3", key
        for key in MIN_ISR_KEYS:
            assert props[key] == "2", key
    # every node agrees on the voters, and no two nodes share a port or a data folder
    assert len({p["controller.quorum.voters"] for p in rendered}) == 1
    all_ports = [port for p in rendered for port in ports_of(p["listeners"])]
    assert len(all_ports) == len(set(all_ports)) == 6
    assert len({p["log.dirs"] for p in rendered}) == 3


@given(st.integers(1, 5))
def test_replication_is_min_of_three_and_cluster_size(size: int) -> None:
    nodes = cluster(size)
    for node in nodes:
        props = properties(render_properties(node, nodes))
        replication = int(props["default.replication.factor"])
        assert replication == min(3, size)
        for key in REPLICATION_KEYS:
            assert int(props[key]) == replication, key
        for key in MIN_ISR_KEYS:
            assert 1 <= int(props[key]) <= replication, key
        assert len(props["controller.quorum.voters"].split(",")) == size


# -- topic specs -----------------------------------------------------------------------------------
def specs(**overrides: int) -> dict[str, dict]:
    args = {"partitions": 4, "replication_factor": -1, "brokers": 1, "retention_ms": 1_000}
    return topic_specs("demo", **(args | overrides))


def test_events_topic_uses_the_broker_clock() -> None:
    made = specs()
    assert made["demo.events"]["configs"]["message.timestamp.type"] == "LogAppendTime"
    # the dead-letter topic keeps the producer's time
    assert "message.timestamp.type" not in made["demo.dead-letter"]["configs"]


def test_partitions_and_retention() -> None:
    made = specs(partitions=12, retention_ms=3_600_000)
    assert made["demo.events"]["num_partitions"] == 12
    assert made["demo.dead-letter"]["num_partitions"] == 1
    for spec in made.values():
        assert spec["configs"]["retention.ms"] == "3600000"


@pytest.mark.parametrize(("brokers", "expected"), [(1, 1), (2, 2), (3, 3), (5, 3)])
def test_automatic_replication_is_min_of_three_and_brokers(brokers: int, expected: int) -> None:
    for spec in specs(brokers=brokers).values():
        assert spec["replication_factor"] == expected


@given(st.integers(1, 5), st.data())
def test_min_insync_replicas_never_exceeds_replication(brokers: int, data: st.DataObject) -> None:
    replication = data.draw(st.sampled_from([-1, *range(1, brokers + 1)]))
    for spec in specs(brokers=brokers, replication_factor=replication).values():
        min_isr = int(spec["configs"]["min.insync.replicas"])
        assert 1 <= min_isr <= spec["replication_factor"]
        if spec["replication_factor"] >= 3:
            assert min_isr >= 2  # one broker down still accepts acks=all writes


def test_explicit_replication_is_kept() -> None:
    for spec in specs(brokers=5, replication_factor=2).values():
        assert spec["replication_factor"] == 2


@pytest.mark.parametrize(("brokers", "replication"), [(1, 2), (3, 4)])
def test_replication_beyond_the_brokers_is_a_config_error(brokers: int, replication: int) -> None:
    with pytest.raises(ConfigError, match="replication"):
        specs(brokers=brokers, replication_factor=replication)


@pytest.mark.parametrize("replication", [0, -2, -3, -100])
def test_replication_of_zero_or_below_minus_one_is_a_config_error(replication: int) -> None:
    for brokers in (1, 3, 5):
        with pytest.raises(ConfigError, match="replication factor must be -1"):
            specs(brokers=brokers, replication_factor=replication)


@pytest.mark.parametrize("partitions", [0, -1])
def test_fewer_than_one_partition_is_a_config_error(partitions: int) -> None:
    with pytest.raises(ConfigError, match="partitions"):
        specs(partitions=partitions)


# -- ports and processes ---------------------------------------------------------------------------
def test_free_port_can_be_bound() -> None:
    port = processes.free_port()
    assert 1024 <= port <= 65_535
    assert processes.port_is_free(port)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not processes.port_is_free(port)


def test_is_ours_for_a_live_process_with_its_start_time() -> None:
    started = processes.start_ticks(os.getpid())
    assert started is not None
    assert processes.is_ours(os.getpid(), started)


def test_is_ours_is_false_for_a_recycled_pid() -> None:
    # the same pid with another start time is another process: never ours to stop
    started = processes.start_ticks(os.getpid())
    assert started is not None
    assert not processes.is_ours(os.getpid(), started + 1)
    assert not processes.is_ours(os.getpid(), started - 1)


def test_is_ours_is_false_for_a_dead_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = processes.start_ticks(child.pid)
    child.wait()
    assert started is not None
    assert processes.start_ticks(child.pid) is None
    assert not processes.is_ours(child.pid, started)


def test_is_ours_is_false_for_a_zombie() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = processes.start_ticks(child.pid)
    try:
        assert started is not None
        # wait for the exit but leave the child unreaped: a zombie whose pid and start stay
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert Path(f"/proc/{child.pid}/stat").exists()
        assert not processes.is_ours(child.pid, started)
    finally:
        child.wait()


def test_is_ours_is_false_for_a_pid_that_cannot_exist() -> None:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    assert processes.start_ticks(pid_max + 1) is None
    assert not processes.is_ours(pid_max + 1, 0)


# -- the jar cache ---------------------------------------------------------------------------------
def test_kafka_libs_dir_layout(tmp_path: Path) -> None:
    assert kafka_libs_dir(tmp_path, "4.1.1") == tmp_path / "kafka-4.1.1" / "libs"
    assert kafka_libs_dir(tmp_path, "4.0.0") != kafka_libs_dir(tmp_path, "4.1.1")


def test_complete_jar_cache_is_used_without_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    libs = kafka_libs_dir(tmp_path, "4.1.1")
    libs.mkdir(parents=True)
    (libs / ".complete").write_text("4.1.1")
    monkeypatch.setenv("PATH", "")  # no mvn to run, and it must not be needed
    assert ensure_kafka_jars(tmp_path, "4.1.1") == libs


def test_a_port_left_in_time_wait_is_free_for_a_server() -> None:
    # a killed server's connections linger in TIME_WAIT on its port; it must get it back
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Kafka and Redis do
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end goes to TIME_WAIT
        client.recv(1)
        client.close()
    assert f":{port:04X} " in time_wait_sockets()
    assert processes.port_is_free(port)


def time_wait_sockets() -> str:
    """The local addresses of /proc/net/tcp's sockets in TIME_WAIT (state 06)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return " ".join(f"{line.split()[1]} " for line in lines if line.split()[3] == "06")


# -- health: running, degraded, down ---------------------------------------------------------------
def brokers_alive(*alive: bool) -> list[dict]:
    return [{"node_id": i, "alive": up} for i, up in enumerate(alive, start=1)]


@pytest.mark.parametrize(
    ("alive", "redis_alive", "running", "degraded", "down"),
    [
        ((True,), True, True, False, []),
        ((False,), True, False, False, ["kafka-1"]),
        ((True,), False, False, False, ["redis"]),
        ((True, True, True), True, True, False, []),
        ((True, False, True), True, True, True, ["kafka-2"]),
        ((False, False, True), True, False, False, ["kafka-1", "kafka-2"]),
        ((True, False, True), False, False, False, ["kafka-2", "redis"]),
        ((True, False), True, False, False, ["kafka-2"]),  # two voters: no majority left
        ((True, True, False, False, True), True, True, True, ["kafka-3", "kafka-4"]),
    ],
)
def test_health_is_a_kafka_quorum_and_redis(
    alive: tuple[bool, ...], redis_alive: bool, running: bool, degraded: bool, down: list[str]
) -> None:
    health = judge(brokers_alive(*alive), {"alive": redis_alive})
    assert (health.running, health.degraded, health.down) == (running, degraded, down)


def test_no_process_recorded_is_not_running() -> None:
    assert judge([], None) == Health(running=False, degraded=False, down=[])
    assert not judge(brokers_alive(True), None).running


# -- the stack's view of its recorded processes ----------------------------------------------------
def entry(node_id: int, port: int, *, alive: bool, home: Path) -> dict:
    """A recorded process: this test's own process when alive, a recycled pid when not."""
    started = processes.start_ticks(os.getpid())
    assert started is not None
    return {
        "node_id": node_id,
        "pid": os.getpid(),
        "started": started if alive else started + 1,
        "port": port,
        "controller_port": port + 1,
        "home": str(home / f"kafka-{node_id}"),
        "log": str(home / f"kafka-{node_id}" / "kafka.log"),
    }


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


def listening() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_a_dead_broker_keeps_its_ports(tmp_path: Path) -> None:
    ports = [processes.free_port() for _ in range(3)]
    brokers = [entry(i, ports[i - 1], alive=i != 2, home=tmp_path) for i in (1, 2, 3)]
    nodes = plan_nodes(tmp_path, 3, brokers)
    assert [(n.port, n.controller_port) for n in nodes] == [(p, p + 1) for p in ports]
    assert [n.home for n in nodes] == [tmp_path / f"kafka-{i}" for i in (1, 2, 3)]


def test_a_dead_broker_whose_port_is_taken_cannot_rejoin_live_voters(tmp_path: Path) -> None:
    with listening() as stranger:
        port = stranger.getsockname()[1]
        brokers = [
            entry(1, processes.free_port(), alive=True, home=tmp_path),
            entry(2, port, alive=False, home=tmp_path),
            entry(3, processes.free_port(), alive=True, home=tmp_path),
        ]
        with pytest.raises(StackError, match=f"kafka-2 cannot come back.*port {port}"):
            plan_nodes(tmp_path, 3, brokers)


def test_with_every_broker_dead_a_taken_port_moves_that_node(tmp_path: Path) -> None:
    with listening() as stranger:
        port = stranger.getsockname()[1]
        kept = processes.free_port()
        brokers = [
            entry(1, kept, alive=False, home=tmp_path),
            entry(2, port, alive=False, home=tmp_path),
        ]
        nodes = plan_nodes(tmp_path, 2, brokers)
    assert (nodes[0].port, nodes[0].controller_port) == (kept, kept + 1)
    assert nodes[1].port != port
    assert len({n.port for n in nodes} | {n.controller_port for n in nodes}) == 4


# -- secrets ---------------------------------------------------------------------------------------
def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_are_made_once_readable_by_their_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    made = ensure_secrets(folder)
    assert mode(folder) == 0o700
    assert sorted(os.listdir(folder)) == [CHECKPOINT_KEY, REDIS_PASSWORD]  # no leftovers
    for name in (CHECKPOINT_KEY, REDIS_PASSWORD):
        assert mode(folder / name) == 0o600, name
    assert re.fullmatch(r"[0-9a-f]{64}", made.checkpoint_key)  # 32 random bytes
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", made.redis_password)
    assert (folder / CHECKPOINT_KEY).read_text() == made.checkpoint_key
    assert made.checkpoint_key not in repr(made) and made.redis_password not in repr(made)


def test_secret_files_are_private_from_their_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[tuple[str, int, int]] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            created.append((os.fspath(path), flags, mode))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    before = os.umask(0)  # nothing narrows what the code asks for
    try:
        ensure_secrets(tmp_path / "secrets")
        write_redis_conf(tmp_path / "redis.conf", port=6390, home=tmp_path, password="pw")
    finally:
        os.umask(before)
    assert len(created) == 3
    for path, flags, requested in created:
        assert requested == 0o600, path
        assert flags & os.O_EXCL, path  # a new file, never one someone else made
    for path in [*(tmp_path / "secrets").iterdir(), tmp_path / "redis.conf"]:
        assert mode(path) == 0o600, path


def test_secrets_are_never_regenerated(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    first = ensure_secrets(folder)
    assert ensure_secrets(folder) == first
    (folder / CHECKPOINT_KEY).write_text("a key of my own\n")
    again = ensure_secrets(folder)
    assert again.checkpoint_key == "a key of my own"
    assert again.redis_password == first.redis_password


def test_a_loose_secrets_folder_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    (folder / REDIS_PASSWORD).write_text("typed-by-hand")
    (folder / REDIS_PASSWORD).chmod(0o644)
    assert ensure_secrets(folder).redis_password == "typed-by-hand"
    assert (mode(folder), mode(folder / REDIS_PASSWORD)) == (0o700, 0o600)


def test_an_empty_secret_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / CHECKPOINT_KEY).write_text("\n")
    with pytest.raises(StackError, match="empty"):
        ensure_secrets(folder)


def test_redis_conf_requires_the_password_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    conf = tmp_path / "redis.conf"
    conf.write_text("# an older config\n")
    conf.chmod(0o644)
    write_redis_conf(conf, port=6390, home=tmp_path, password="pw-123")
    assert "requirepass pw-123" in conf.read_text().splitlines()
    assert mode(conf) == 0o600


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
