"""One KRaft node (broker and controller) of the local Kafka cluster: config and command."""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.core.errors import StackError
from pipeline.stack import processes

__all__ = [
    "KafkaNode",
    "format_storage",
    "formatted_cluster_id",
    "java_binary",
    "plan_nodes",
    "render_log4j",
    "render_properties",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KafkaNode:
    """Where one node listens and keeps its files."""

    node_id: int
    port: int
    controller_port: int
    home: Path

    @property
    def config_path(self) -> Path:
        return self.home / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_path(self) -> Path:
        return self.home / "kafka.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def plan_nodes(home: Path, count: int, known: list[dict[str, Any]]) -> list[KafkaNode]:
    """The ``count`` nodes of the stack in ``home``, each on its recorded ports if it can.

    ``known`` is what ``stack.json`` records of each node. A live node keeps its ports, a
    dead one gets them back when they are free. A dead node whose port another process
    took moves only when no node runs (the voters are rewritten together); with live voters
    expecting it there, that is an error rather than a split quorum. New nodes get free
    ports that no recorded node uses.
    """
    recorded = {int(b["node_id"]): b for b in known}
    reserved = {int(b[key]) for b in known for key in ("port", "controller_port")}
    any_live = any(processes.recorded_alive(b) for b in known)
    nodes = []
    for node_id in range(1, count + 1):
        ports = _kept_ports(recorded.get(node_id), any_live)
        if ports is None:
            ports = (_fresh_port(reserved), _fresh_port(reserved))
        reserved.update(ports)
        nodes.append(KafkaNode(node_id, *ports, home / f"kafka-{node_id}"))
    return nodes


def _kept_ports(entry: dict[str, Any] | None, any_live: bool) -> tuple[int, int] | None:
    if entry is None:
        return None
    ports = (int(entry["port"]), int(entry["controller_port"]))
    if processes.recorded_alive(entry):
        return ports
    taken = [port for port in ports if not processes.port_is_free(port)]
    if not taken:
        return ports
    name = f"kafka-{entry['node_id']}"
    if any_live:
        raise StackError(
            f"{name} cannot come back: another process listens on port {taken[0]}, where "
            "the running nodes expect it; free the port, or run 'driftline stack down' "
            "and 'driftline stack up' to move every node"
        )
    log.warning("%s moves to new ports: port %s is taken by another process", name, taken[0])
    return None


def _fresh_port(reserved: set[int]) -> int:
    """A free port that no node of the stack has recorded."""
    port = processes.free_port()
    while port in reserved:
        port = processes.free_port()
    reserved.add(port)
    return port


def render_properties(node: KafkaNode, cluster: list[KafkaNode]) -> str:
    """``server.properties`` for ``node`` in a cluster where every node is also a controller.

    >>> n = KafkaNode(1, 9092, 9093, Path("/s/kafka-1"))
    >>> text = render_properties(n, [n])
    >>> "controller.quorum.voters=1@127.0.0.1:9093" in text
    True
    >>> "offsets.topic.replication.factor=1" in text
    True
    """
    size = len(cluster)
    replication = min(3, size)
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in cluster)
    settings = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": node.data_dir,
        "num.partitions": 1,
        "default.replication.factor": replication,
        "min.insync.replicas": 1,
        "offsets.topic.replication.factor": replication,
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": min(2, replication),
        "share.coordinator.state.topic.replication.factor": replication,
        "share.coordinator.state.topic.min.isr": min(2, replication),
        "group.initial.rebalance.delay.ms": 0,
        "auto.create.topics.enable": "false",
        "delete.topic.enable": "true",
        "log.retention.hours": 168,
    }
    lines = ["# written by driftline; regenerated at every 'driftline stack up'"]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def render_log4j(node: KafkaNode) -> str:
    """A log4j2 config that writes the broker's log to one file in its folder."""
    return "\n".join(
        [
            "status = warn",
            "appender.file.type = File",
            "appender.file.name = FILE",
            f"appender.file.fileName = {node.log_path}",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.file.ref = FILE",
            "logger.kafka.name = org.apache.kafka",
            "logger.kafka.level = WARN",
            "",
        ]
    )


def java_binary() -> str:
    """The ``java`` to run Kafka with (``$JAVA_HOME/bin/java`` first)."""
    import os

    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").exists():
        return str(Path(home, "bin", "java"))
    found = shutil.which("java")
    if found is None:
        raise StackError("no 'java' found; Kafka 4.x needs Java 17+ (Debian: openjdk-17-jre)")
    return found


def java_command(libs: Path, node: KafkaNode, main: str, *args: str, heap: str) -> list[str]:
    """The JVM command line running ``main`` with the Kafka jars."""
    return [
        java_binary(),
        f"-Xmx{heap}",
        "-Xms128m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={node.home / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


def formatted_cluster_id(node: KafkaNode) -> str | None:
    """The cluster id ``node``'s storage was formatted with, or ``None`` if it was not."""
    try:
        text = (node.data_dir / "meta.properties").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "cluster.id":
            return value.strip()
    return None


def format_storage(libs: Path, node: KafkaNode, cluster_id: str) -> None:
    """Format ``node``'s storage for ``cluster_id`` unless it is formatted already.

    Formatted storage is never touched again: a restarted node keeps its data.
    """
    if (node.data_dir / "meta.properties").exists():
        return
    command = java_command(
        libs,
        node,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(node.config_path),
        "--ignore-formatted",
        heap="256m",
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise StackError(
            f"formatting Kafka storage of node {node.node_id} failed:\n"
            + (done.stdout + done.stderr)[-2000:]
        )
