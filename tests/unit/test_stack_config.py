"""The local stack's pure parts: broker config, topic specs, process and port helpers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.adapters.topics import topic_specs
from pipeline.core.errors import ConfigError
from pipeline.stack import processes
from pipeline.stack.jars import ensure_kafka_jars, kafka_libs_dir
from pipeline.stack.kafka_node import KafkaNode, render_properties


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
