"""A Kafka node of the local stack: its broker properties (one node or three,
replication, security), and the plan of a restart from a recorded state (no process
started)."""

from __future__ import annotations

import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.errors import StackError
from driftline.stack import kafka_node, processes
from driftline.stack.kafka_node import KafkaNode, KafkaServerSecurity, plan_nodes, render_properties
from tests.unit.stack.recorded_state import entry


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


# -- the plan of a restart -------------------------------------------------------------------------
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


SECURITY = KafkaServerSecurity(
    keystore=Path("/s/tls/kafka-server.p12"),
    keystore_password="Ks-pw-1",
    truststore=Path("/s/tls/ca.crt"),
    broker_user="broker",
    broker_password="Br-pw-2",
    client_user="driftline",
    client_password="Cl-pw-3",
)


# -- the secured stack's configs --------------------------------------------------------------
def test_secured_kafka_properties() -> None:
    node = KafkaNode(1, 9092, 9093, Path("/s/kafka-1"))
    text = render_properties(node, [node], SECURITY)
    lines = dict(line.split("=", 1) for line in text.splitlines()[1:])
    assert lines["listeners"] == "SASL_SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert lines["advertised.listeners"] == "SASL_SSL://127.0.0.1:9092"
    assert lines["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
    assert lines["inter.broker.listener.name"] == "SASL_SSL"
    assert lines["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert lines["listener.name.sasl_ssl.ssl.client.auth"] == "required"
    assert lines["ssl.keystore.type"] == "PKCS12" and lines["ssl.truststore.type"] == "PEM"
    jaas = lines["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    assert 'username="broker" password="Br-pw-2"' in jaas
    assert "Cl-pw-3" not in text  # the client's password is only in the storage's metadata
    plain = render_properties(node, [node])
    assert "ssl." not in plain and "sasl" not in plain
    assert "PLAINTEXT://127.0.0.1:9092" in plain
    assert "Ks-pw-1" not in repr(SECURITY) and "Br-pw-2" not in repr(SECURITY)


def test_scram_users_reach_the_storage_tool_in_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = KafkaNode(1, 9092, 9093, tmp_path / "kafka-1")
    node.home.mkdir()
    seen: dict[str, Any] = {}

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        argfile = Path(command[-1].removeprefix("@"))
        seen.update(
            command=command,
            args=argfile.read_text(),
            mode=stat.S_IMODE(argfile.stat().st_mode),
        )
        return subprocess.CompletedProcess(command, 1, "", "bad: Cl-pw-3 Br-pw-2")

    monkeypatch.setattr(kafka_node, "java_binary", lambda: "/usr/bin/java")
    monkeypatch.setattr(kafka_node.subprocess, "run", run)
    with pytest.raises(StackError) as caught:
        kafka_node.format_storage(tmp_path / "libs", node, "cluster-1", SECURITY)
    assert not any("pw" in arg for arg in seen["command"])
    assert seen["command"][-1].startswith("@") and seen["mode"] == 0o600
    assert '"SCRAM-SHA-512=[name=driftline,password=Cl-pw-3]"' in seen["args"]
    assert '"kafka.tools.StorageTool"' in seen["args"]
    assert not (node.home / ".format.args").exists()
    assert "Cl-pw-3" not in str(caught.value) and "Br-pw-2" not in str(caught.value)
