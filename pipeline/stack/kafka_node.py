"""One KRaft node (broker and controller) of the local Kafka cluster: config and command."""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftline.core.errors import StackError
from driftline.stack import processes
from driftline.stack.secret_files import write_private

__all__ = [
    "KafkaNode",
    "KafkaServerSecurity",
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


@dataclass(frozen=True)
class KafkaServerSecurity:
    """What a secured node needs: its keystore, the CA it trusts, the SCRAM users.

    Clients and the brokers among themselves speak SASL_SSL with SCRAM-SHA-512 and mutual
    TLS; the brokers log in as ``broker_user``. Its ``repr`` shows no password.
    """

    keystore: Path
    keystore_password: str
    truststore: Path
    broker_user: str
    broker_password: str
    client_user: str
    client_password: str
    mechanism: str = "SCRAM-SHA-512"

    def __repr__(self) -> str:
        return f"KafkaServerSecurity(keystore={str(self.keystore)!r}, passwords='***')"

    def passwords(self) -> tuple[str, ...]:
        return (self.keystore_password, self.broker_password, self.client_password)

    def scram_credentials(self) -> list[str]:
        """The ``--add-scram`` values of the storage format (secrets: never print them)."""
        return [
            f"{self.mechanism}=[name={user},password={password}]"
            for user, password in (
                (self.broker_user, self.broker_password),
                (self.client_user, self.client_password),
            )
        ]


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
    taken = [port for port in ports if not processes.port_frees(port)]
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


def render_properties(
    node: KafkaNode, cluster: list[KafkaNode], security: KafkaServerSecurity | None = None
) -> str:
    """``server.properties`` for ``node`` in a cluster where every node is also a controller.

    With ``security`` the one client listener is SASL_SSL (see :func:`secured_listener`);
    the file then holds passwords: write it owner-only (:func:`write_properties`).

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
    listener = "PLAINTEXT" if security is None else "SASL_SSL"
    settings: dict[str, Any] = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        "listeners": f"{listener}://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"{listener}://127.0.0.1:{node.port}",
        "listener.security.protocol.map": f"{listener}:{listener},CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": listener,
        **(secured_listener(security) if security is not None else {}),
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


def secured_listener(security: KafkaServerSecurity) -> dict[str, Any]:
    """The settings of a SASL_SSL listener: TLS with client certificates required, SCRAM.

    Clients and the brokers among themselves use it (the brokers as their own SCRAM user).
    The KRaft controller listener stays PLAINTEXT: it is bound to 127.0.0.1 only and carries
    the controllers' quorum traffic, which Kafka cannot send over SASL without more set-up
    than a local stack is worth; anyone able to reach it is already on this machine.

    >>> s = KafkaServerSecurity(Path("/k.p12"), "kp", Path("/ca.crt"), "broker", "bp", "app", "ap")
    >>> options = secured_listener(s)
    >>> options["listener.name.sasl_ssl.ssl.client.auth"], options["sasl.enabled.mechanisms"]
    ('required', 'SCRAM-SHA-512')
    """
    mechanism = security.mechanism
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{security.broker_user}" password="{security.broker_password}";'
    )
    return {
        "sasl.enabled.mechanisms": mechanism,
        "sasl.mechanism.inter.broker.protocol": mechanism,
        f"listener.name.sasl_ssl.{mechanism.lower()}.sasl.jaas.config": jaas,
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": security.keystore,
        "ssl.keystore.password": security.keystore_password,
        "ssl.key.password": security.keystore_password,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": security.truststore,
        # on a SASL_SSL listener Kafka reads it only with the listener's prefix (KIP-684)
        "listener.name.sasl_ssl.ssl.client.auth": "required",
        "ssl.endpoint.identification.algorithm": "https",
    }


def write_properties(node: KafkaNode, text: str) -> None:
    """Write ``server.properties`` readable by its owner only (it may hold passwords)."""
    write_private(node.config_path, text)


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


def format_storage(
    libs: Path, node: KafkaNode, cluster_id: str, security: KafkaServerSecurity | None = None
) -> None:
    """Format ``node``'s storage for ``cluster_id`` unless it is formatted already.

    Formatted storage is never touched again: a restarted node keeps its data. With
    ``security`` the SCRAM users are written into the storage's bootstrap metadata
    (StorageTool's ``--add-scram``); their passwords go to the JVM in an owner-only
    argument file (``java @file``), never on a command line others could read.
    """
    if (node.data_dir / "meta.properties").exists():
        return
    scram = [arg for value in (security.scram_credentials() if security else []) for arg in
             ("--add-scram", value)]  # fmt: skip
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
        *scram,
        heap="256m",
    )
    argfile = node.home / ".format.args"
    if scram:  # everything from the main class on goes into the file (java expands it)
        start = command.index("-cp")
        write_private(argfile, "\n".join(_argfile_quote(arg) for arg in command[start:]) + "\n")
        command = [*command[:start], f"@{argfile}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    finally:
        argfile.unlink(missing_ok=True)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        for secret in security.passwords() if security else ():
            output = output.replace(secret, "***")
        raise StackError(
            f"formatting Kafka storage of node {node.node_id} failed:\n" + output[-2000:]
        )


def _argfile_quote(arg: str) -> str:
    """One argument of a ``java @file``: quoted, backslashes and quotes escaped.

    >>> _argfile_quote('/libs/*')
    '"/libs/*"'
    """
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
