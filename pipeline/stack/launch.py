"""Starting the local stack's processes and noticing when one dies: the brokers that are
down (their configuration written, their storage formatted once for the cluster's id), a
Redis on its recorded port when free, and the check, while waiting for them, that every
process the stack recorded is still alive (with its log's tail when not).

>>> check_started({"brokers": [], "redis": None})  # nothing recorded, nothing dead
"""

from __future__ import annotations

import base64
import logging
import uuid
from pathlib import Path
from typing import Any

from driftline.adapters.settings import StackSettings
from driftline.core.errors import StackError
from driftline.stack import processes
from driftline.stack.jars import ensure_kafka_jars
from driftline.stack.kafka_node import (
    KafkaNode,
    KafkaServerSecurity,
    format_storage,
    formatted_cluster_id,
    java_command,
    render_log4j,
    render_properties,
    write_properties,
)
from driftline.stack.processes import spawn as _spawn
from driftline.stack.redis_node import RedisTls, redis_command, write_redis_conf

__all__ = ["check_started", "start_brokers", "start_redis"]

log = logging.getLogger(__name__)


def start_brokers(
    config: StackSettings,
    state: dict[str, Any],
    nodes: list[KafkaNode],
    dead: list[KafkaNode],
    security: KafkaServerSecurity | None = None,
) -> None:
    """Start the ``dead`` nodes of ``nodes`` and record them in ``state`` (which the caller
    writes); formatted storage is kept as it is."""
    libs = ensure_kafka_jars(config.cache_dir, config.kafka_version)
    cluster_id = (
        state.get("cluster_id")
        or next(filter(None, (formatted_cluster_id(n) for n in nodes)), None)
        or _new_cluster_id()
    )
    state.update(home=str(config.home), kafka_version=config.kafka_version, cluster_id=cluster_id)
    for node in dead:
        node.home.mkdir(parents=True, exist_ok=True)
        write_properties(node, render_properties(node, nodes, security))
        (node.home / "log4j2.properties").write_text(render_log4j(node))
    for node in dead:
        format_storage(libs, node, cluster_id, security)
    entries = {int(b["node_id"]): b for b in state.get("brokers", [])}
    for node in dead:
        command = java_command(
            libs, node, "kafka.Kafka", str(node.config_path), heap=config.kafka_heap
        )
        pid = _spawn(command, node.home / "stdout.log")
        entries[node.node_id] = {
            "node_id": node.node_id,
            "pid": pid,
            "port": node.port,
            "controller_port": node.controller_port,
            "home": str(node.home),
            "log": str(node.log_path),
            "started": processes.start_ticks(pid),
        }
    state["brokers"] = [entries[n.node_id] for n in nodes]
    state["bootstrap_servers"] = ",".join(n.bootstrap for n in nodes)


def start_redis(
    home: Path,
    previous: dict[str, Any] | None,
    password: str,
    tls: RedisTls | None = None,
    maxmemory: str | None = None,
) -> dict[str, Any]:
    """Start Redis in ``home`` on its recorded port when free (its data is in its folder);
    with ``tls``, on TLS only; with ``maxmemory``, holding at most that. Returns its
    ``stack.json`` entry."""
    home.mkdir(parents=True, exist_ok=True)
    port = int(previous["port"]) if previous else None
    if port is None or not processes.port_frees(port):
        if port is not None:
            log.warning("redis moves to a new port: port %s is taken by another process", port)
        port = processes.free_port()
    conf = home / "redis.conf"
    write_redis_conf(conf, port=port, home=home, password=password, tls=tls, maxmemory=maxmemory)
    pid = _spawn(redis_command(conf, port, tls=tls is not None), home / "stdout.log")
    return {
        "pid": pid,
        "port": port,
        "home": str(home),
        "log": str(home / "redis.log"),
        "started": processes.start_ticks(pid),
    }


def check_started(state: dict[str, Any]) -> None:
    """Raise with the log's tail if a process recorded in ``state`` has died."""
    recorded = [
        *state.get("brokers", []),
        state.get("redis"),
        *state.get("redis_nodes", []),
        state.get("registry"),
    ]
    for entry in recorded:
        if entry and not processes.recorded_alive(entry):
            tail = _tail(Path(entry["log"])) or _tail(Path(entry["home"]) / "stdout.log")
            raise StackError(f"process {entry['pid']} exited; last log lines:\n{tail}")


def _new_cluster_id() -> str:
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
