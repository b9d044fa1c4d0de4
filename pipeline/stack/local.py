"""The local stack: a KRaft Kafka cluster and a Redis server on free loopback ports.

Everything lives in one folder (``DRIFTLINE_STACK_HOME``, default ``./.driftline``)::

    stack.json             what runs: pids, ports, bootstrap servers, Redis URL
    kafka-<id>/            server.properties, log4j2.properties, kafka.log, data/
    redis/                 redis.conf, redis.log, appendonly files

``up`` is idempotent (a running stack is left alone and reported), ``down`` stops only
the processes recorded in ``stack.json`` and verified by their command line.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis
from kafka.errors import KafkaError

from pipeline.adapters.endpoints import Endpoints
from pipeline.adapters.kafka_clients import admin_client
from pipeline.adapters.settings import KafkaSettings, StackSettings
from pipeline.core.errors import ServiceUnavailable, StackError
from pipeline.stack import processes
from pipeline.stack.jars import ensure_kafka_jars
from pipeline.stack.kafka_node import (
    KafkaNode,
    format_storage,
    java_command,
    render_log4j,
    render_properties,
)
from pipeline.stack.redis_node import redis_command, render_redis_conf

__all__ = ["LocalStack", "StackStatus", "wait_kafka", "wait_redis"]

log = logging.getLogger(__name__)


@dataclass
class StackStatus:
    """What ``driftline stack status --json`` prints."""

    running: bool
    home: str
    kafka_version: str
    bootstrap_servers: str | None
    redis_url: str | None
    brokers: list[dict[str, Any]] = field(default_factory=list)
    redis: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LocalStack:
    """Start, inspect and stop the local Kafka + Redis processes."""

    def __init__(self, config: StackSettings) -> None:
        self.config = config
        self.home = config.home
        self.state_path = self.home / "stack.json"

    # -- state -------------------------------------------------------------------------
    def _read_state(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self.state_path.read_text())
            return state
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise StackError(f"{self.state_path} is not valid JSON: {exc}") from exc

    def _write_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_path)

    @staticmethod
    def _alive(entry: dict[str, Any] | None) -> bool:
        if not entry:
            return False
        started = entry.get("started")  # absent in a state file of another version
        return started is not None and processes.is_ours(int(entry["pid"]), int(started))

    def status(self) -> StackStatus:
        """What the state file records, with each process checked for life."""
        state = self._read_state() or {}
        brokers = [dict(b, alive=self._alive(b)) for b in state.get("brokers", [])]
        redis_entry = state.get("redis")
        redis_info = dict(redis_entry, alive=self._alive(redis_entry)) if redis_entry else None
        running = (
            bool(brokers)
            and all(b["alive"] for b in brokers)
            and bool(redis_info and redis_info["alive"])
        )
        return StackStatus(
            running=running,
            home=str(self.home),
            kafka_version=state.get("kafka_version", self.config.kafka_version),
            bootstrap_servers=state.get("bootstrap_servers") if running else None,
            redis_url=state.get("redis_url") if running else None,
            brokers=brokers,
            redis=redis_info,
        )

    # -- up ----------------------------------------------------------------------------
    def endpoints(self) -> Endpoints | None:
        """Where the running stack's Kafka and Redis are (``None`` when it is not running)."""
        status = self.status()
        if not status.running or not status.bootstrap_servers or not status.redis_url:
            return None
        return Endpoints(status.bootstrap_servers, status.redis_url, "local-stack")

    def up(self, brokers: int | None = None) -> StackStatus:
        """Start whatever is not running and wait until Kafka and Redis both answer."""
        count = brokers or self.config.brokers
        self.home.mkdir(parents=True, exist_ok=True)
        state = self._read_state() or {}
        known = state.get("brokers", [])
        if known and len(known) != count:
            raise StackError(
                f"the stack in {self.home} has {len(known)} broker(s), not {count}; "
                "run 'driftline stack down --purge' first"
            )
        if known and state.get("kafka_version") != self.config.kafka_version:
            raise StackError(
                f"the stack in {self.home} was made with Kafka {state.get('kafka_version')}; "
                "run 'driftline stack down --purge' to start over with "
                f"{self.config.kafka_version}"
            )
        current = self.status()
        if current.running:
            self._wait_ready(current.bootstrap_servers or "", count, current.redis_url or "")
            return current

        libs = ensure_kafka_jars(self.config.cache_dir, self.config.kafka_version)
        cluster_id = state.get("cluster_id") or _new_cluster_id()
        state.update(
            home=str(self.home), kafka_version=self.config.kafka_version, cluster_id=cluster_id
        )
        nodes = self._plan_nodes(count, known)
        if not all(self._alive(b) for b in known) and any(self._alive(b) for b in known):
            # A partly running cluster: its voters must all agree on the ports, so restart all.
            processes.stop_processes([(int(e["pid"]), e.get("started", -1)) for e in known])
        broker_entries: list[dict[str, Any]] = []
        for node in nodes:
            node.home.mkdir(parents=True, exist_ok=True)
            node.config_path.write_text(render_properties(node, nodes))
            (node.home / "log4j2.properties").write_text(render_log4j(node))
        for node in nodes:
            format_storage(libs, node, cluster_id)
        for node in nodes:
            command = java_command(
                libs, node, "kafka.Kafka", str(node.config_path), heap=self.config.kafka_heap
            )
            pid = _spawn(command, node.home / "stdout.log")
            broker_entries.append(
                {
                    "node_id": node.node_id,
                    "pid": pid,
                    "port": node.port,
                    "controller_port": node.controller_port,
                    "home": str(node.home),
                    "log": str(node.log_path),
                    "started": processes.start_ticks(pid),
                }
            )
        state["brokers"] = broker_entries
        state["bootstrap_servers"] = ",".join(n.bootstrap for n in nodes)
        self._write_state(state)

        redis_entry = state.get("redis")
        if not self._alive(redis_entry):
            redis_entry = self._start_redis(redis_entry)
            state["redis"] = redis_entry
            state["redis_url"] = f"redis://127.0.0.1:{redis_entry['port']}/0"
            self._write_state(state)
        self._wait_ready(state["bootstrap_servers"], count, state["redis_url"])
        return self.status()

    def _plan_nodes(self, count: int, known: list[dict[str, Any]]) -> list[KafkaNode]:
        alive = [b for b in known if self._alive(b)]
        nodes = []
        taken: set[int] = set()
        for node_id in range(1, count + 1):
            previous = next((b for b in known if b["node_id"] == node_id), None)
            ports = []
            for key in ("port", "controller_port"):
                wanted = previous[key] if previous and not alive else None
                if wanted and wanted not in taken and processes.port_is_free(wanted):
                    ports.append(int(wanted))
                else:
                    port = processes.free_port()
                    while port in taken:
                        port = processes.free_port()
                    ports.append(port)
                taken.add(ports[-1])
            nodes.append(KafkaNode(node_id, ports[0], ports[1], self.home / f"kafka-{node_id}"))
        return nodes

    def _start_redis(self, previous: dict[str, Any] | None) -> dict[str, Any]:
        home = self.home / "redis"
        home.mkdir(parents=True, exist_ok=True)
        port = (
            previous["port"]
            if previous and processes.port_is_free(previous["port"])
            else (processes.free_port())
        )
        conf = home / "redis.conf"
        conf.write_text(render_redis_conf(port=port, home=home))
        pid = _spawn(redis_command(conf, port), home / "stdout.log")
        return {
            "pid": pid,
            "port": port,
            "home": str(home),
            "log": str(home / "redis.log"),
            "started": processes.start_ticks(pid),
        }

    def _wait_ready(self, bootstrap: str, brokers: int, redis_url: str) -> None:
        deadline = time.monotonic() + self.config.start_timeout_s
        wait_redis(redis_url, deadline, self.check_processes)
        wait_kafka(bootstrap, brokers, deadline, self.check_processes)

    def check_processes(self) -> None:
        """Raise with the log's tail if a process the stack started has died."""
        state = self._read_state() or {}
        for entry in [*state.get("brokers", []), state.get("redis")]:
            if entry and not self._alive(entry):
                tail = _tail(Path(entry["log"])) or _tail(Path(entry["home"]) / "stdout.log")
                raise StackError(f"process {entry['pid']} exited; last log lines:\n{tail}")

    # -- down --------------------------------------------------------------------------
    def down(self, purge: bool = False) -> list[int]:
        """Stop the processes this stack started; with ``purge`` delete their data too."""
        state = self._read_state() or {}
        entries = [e for e in [state.get("redis"), *state.get("brokers", [])] if e]
        stopped = processes.stop_processes([(int(e["pid"]), e.get("started", -1)) for e in entries])
        if purge:
            import shutil

            for path in [*self.home.glob("kafka-*"), self.home / "redis", self.state_path]:
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
        return stopped


def _new_cluster_id() -> str:
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _spawn(command: list[str], stdout_path: Path) -> int:
    """Start a process in its own session, so it outlives the command that started it."""
    with stdout_path.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    return process.pid


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_redis(url: str, deadline: float, check: Callable[[], None] = lambda: None) -> None:
    """Poll until Redis at ``url`` answers PING; ``check`` raises if its process died."""
    last: object = None
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError as exc:
                last = exc
            check()
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"Redis at {url} did not answer in time: {last}")
            time.sleep(0.1)
    finally:
        client.close()


def wait_kafka(
    bootstrap: str, brokers: int, deadline: float, check: Callable[[], None] = lambda: None
) -> None:
    """Poll until ``brokers`` brokers are registered at ``bootstrap``."""
    config = KafkaSettings(
        bootstrap=bootstrap, client_id="driftline-stack", request_timeout_ms=3000
    )
    quiet = logging.getLogger("kafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # refused connections are expected while it boots
    try:
        _poll_kafka(config, brokers, deadline, check)
    finally:
        quiet.setLevel(level)


def _poll_kafka(
    config: KafkaSettings, brokers: int, deadline: float, check: Callable[[], None]
) -> None:
    last: object = None
    while time.monotonic() < deadline:
        check()
        try:
            with admin_client(config) as admin:
                seen = len(admin.describe_cluster()["brokers"])
                if seen >= brokers:
                    return
                last = f"{seen} of {brokers} brokers registered"
        except (ServiceUnavailable, KafkaError, OSError) as exc:
            last = exc
        time.sleep(0.25)
    raise ServiceUnavailable(f"Kafka at {config.bootstrap} was not ready in time: {last}")
