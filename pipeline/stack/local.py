"""The local stack: a KRaft Kafka cluster and a Redis server on free loopback ports.

Everything lives in one folder (``DRIFTLINE_STACK_HOME``, default ``./.driftline``)::

    stack.json             what runs: pids, ports, bootstrap servers, Redis URL (no password)
    kafka-<id>/            server.properties, log4j2.properties, kafka.log, data/
    redis/                 redis.conf (0600: it holds the password), redis.log, append-only files
    redis-<n>/             the same per node of a Redis Cluster (``up --redis-cluster``), nodes.conf
    secrets/               checkpoint.key, redis.password (see driftline.stack.secret_files)

``up`` starts only what is down, each process on the ports and with the data it had (a
node's storage is formatted once, for one cluster id), and waits until every process
answers; a running stack is left alone. ``status`` tells a usable stack with a process
down (*degraded*) from one that is not running (:mod:`driftline.stack.status`). ``down``
stops only the processes recorded in ``stack.json`` and verified by their start time.

The first ``up`` makes the stack's secrets, kept from then on (``down --purge`` too keeps
them): Redis requires its password, and :meth:`LocalStack.endpoints` is the one place
that hands out a Redis URL carrying it; ``status`` and ``stack.json`` never show it.

A *secured* stack (``DRIFTLINE_STACK_SECURE=1`` or ``driftline stack up --secure``) also
makes a CA, a server and a client certificate and SCRAM passwords in ``secrets/``
(:mod:`driftline.stack.certificates`, :func:`ensure_secured_secrets`): Kafka's one client
listener is SASL_SSL (SCRAM-SHA-512 as user ``driftline``, client certificates required),
Redis listens on TLS only with the ACL user ``driftline`` and no default user. The mode
belongs to the home: a stack made one way is not restarted the other way (``down --purge``
first), and its clients must use the same setting, which gives them the stack's files
(:meth:`StackSettings.secured_kafka`; the Redis URL of :meth:`endpoints` carries its own).

With ``up(redis_cluster=True)`` Redis is a three-master Redis Cluster instead
(:mod:`driftline.stack.redis_cluster`). That mode too belongs to the home: ``stack.json``
records it, later ``up`` calls restart the cluster's dead nodes without being told, and the
Redis URL is the first node's (clients find the others). A home with one Redis is not
turned into a cluster (``down --purge`` first), and a secured stack has no cluster mode.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.settings import STACK_USER, KafkaSettings, StackSettings
from driftline.core.errors import StackError
from driftline.stack import processes
from driftline.stack.certificates import TlsFiles, ensure_tls
from driftline.stack.jars import ensure_kafka_jars
from driftline.stack.kafka_node import (
    KafkaNode,
    KafkaServerSecurity,
    format_storage,
    formatted_cluster_id,
    java_command,
    plan_nodes,
    render_log4j,
    render_properties,
    write_properties,
)
from driftline.stack.processes import spawn as _spawn
from driftline.stack.readiness import wait_kafka, wait_redis
from driftline.stack.redis_cluster import ensure_cluster
from driftline.stack.redis_node import (
    RedisTls,
    redis_command,
    require_password,
    secured_url,
    with_password,
    write_redis_conf,
)
from driftline.stack.secret_files import (
    CHECKPOINT_KEY,
    REDIS_PASSWORD,
    ensure_secrets,
    ensure_secured_secrets,
    read_secret,
)
from driftline.stack.status import StackStatus, judge

__all__ = ["LocalStack", "StackStatus", "wait_kafka", "wait_redis"]

log = logging.getLogger(__name__)


class LocalStack:
    """Start, inspect, repair and stop the local Kafka + Redis processes."""

    def __init__(self, config: StackSettings) -> None:
        self.config = config
        self.home = config.home
        self.state_path = self.home / "stack.json"
        self.secrets_dir = self.home / "secrets"

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

    def status(self) -> StackStatus:
        """What the state file records, with each process checked for life.

        ``running`` is true while the stack is usable, even with a broker down
        (``degraded``); see :func:`driftline.stack.status.judge`.
        """
        state = self._read_state() or {}
        brokers = [
            dict(b, name=f"kafka-{b['node_id']}", alive=processes.recorded_alive(b))
            for b in state.get("brokers", [])
        ]
        redis_entry = state.get("redis")
        redis_info = (
            dict(redis_entry, name="redis", alive=processes.recorded_alive(redis_entry))
            if redis_entry
            else None
        )
        redis_nodes = [
            dict(n, alive=processes.recorded_alive(n)) for n in state.get("redis_nodes", [])
        ]
        health = judge(brokers, redis_info, redis_nodes)
        return StackStatus(
            running=health.running,
            home=str(self.home),
            kafka_version=state.get("kafka_version", self.config.kafka_version),
            bootstrap_servers=state.get("bootstrap_servers") if health.running else None,
            redis_url=state.get("redis_url") if health.running else None,
            brokers=brokers,
            redis=redis_info,
            degraded=health.degraded,
            down=health.down,
            secrets_dir=str(self.secrets_dir) if self.secrets_dir.is_dir() else None,
            secure=bool(state.get("secure", False)),
            redis_cluster=bool(state.get("redis_cluster", False)),
            redis_nodes=redis_nodes,
        )

    def endpoints(self) -> Endpoints | None:
        """Where the stack's Kafka and Redis are, ``None`` unless it is running.

        A degraded stack still answers, with every broker in the bootstrap list: clients
        reach the live ones, and the restarted one when ``up`` brings it back.
        """
        status = self.status()
        if not status.running or not status.bootstrap_servers or not status.redis_url:
            return None
        self._same_mode(status.secure)
        password = self._redis_password()
        if status.secure:
            if password is None:
                raise StackError(f"the secured stack in {self.home} has lost its Redis password")
            redis_url = self._secured_redis_url(status.redis_url, password)
        else:
            redis_url = with_password(status.redis_url, password)
        return Endpoints(status.bootstrap_servers, redis_url, "local-stack")

    def _same_mode(self, secure: bool) -> None:
        """Refuse to mix a secured stack with plain clients, or the other way round."""
        if secure == self.config.secure:
            return
        if secure:
            raise StackError(
                f"the local stack in {self.home} is secured (TLS, SCRAM, Redis ACL): set "
                "DRIFTLINE_STACK_SECURE=1 so that its clients use its certificates and users"
            )
        raise StackError(
            f"the local stack in {self.home} is not secured: unset DRIFTLINE_STACK_SECURE, or "
            "run 'driftline stack down --purge' and 'driftline stack up --secure'"
        )

    def _secured_redis_url(self, url: str, password: str) -> str:
        files = self.config.client_files
        return secured_url(url, password, self._redis_tls(), files.client_cert, files.client_key)

    def _tls(self) -> TlsFiles:
        return TlsFiles(self.config.client_files.tls_dir)

    def _redis_tls(self) -> RedisTls:
        tls = self._tls()
        return RedisTls(tls.server_cert, tls.server_key, tls.ca_cert, STACK_USER)

    def _kafka_security(self) -> KafkaServerSecurity:
        """The brokers' security, with the secrets and certificates made if need be."""
        secured = ensure_secured_secrets(self.secrets_dir)
        tls = ensure_tls(self._tls().directory, secured.keystore_password)
        return KafkaServerSecurity(
            keystore=tls.server_keystore,
            keystore_password=secured.keystore_password,
            truststore=tls.ca_cert,
            broker_user="broker",
            broker_password=secured.broker_password,
            client_user=STACK_USER,
            client_password=secured.kafka_password,
        )

    def checkpoint_key(self) -> bytes | None:
        """The key the stack made for sealing checkpoints, ``None`` before the first ``up``.

        The bytes of ``secrets/checkpoint.key``'s text (64 hex digits): the same key as
        ``DRIFTLINE_CHECKPOINT_KEY`` set to that text.
        """
        key = read_secret(self.secrets_dir / CHECKPOINT_KEY)
        return key.encode() if key is not None else None

    def _redis_password(self) -> str | None:
        return read_secret(self.secrets_dir / REDIS_PASSWORD)

    # -- up ----------------------------------------------------------------------------
    def up(self, brokers: int | None = None, *, redis_cluster: bool = False) -> StackStatus:
        """Start whatever is down and wait until every broker and Redis answer.

        A process that died comes back on its recorded ports with its data: a broker
        rejoins the quorum that expects it there, Redis replays its append-only file. The
        live processes are left alone. ``redis_cluster`` makes Redis a three-master Redis
        Cluster; a home that has one keeps it without being told again.
        """
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
        secure = self.config.secure
        if known or state.get("redis"):
            self._same_mode_to_start(bool(state.get("secure", False)))
        cluster = _cluster_mode(self.home, state, redis_cluster, secure)
        password = ensure_secrets(self.secrets_dir).redis_password
        security = self._kafka_security() if secure else None
        state["secure"] = secure
        nodes = plan_nodes(self.home, count, known)
        recorded = {int(b["node_id"]): b for b in known}
        dead = [n for n in nodes if not processes.recorded_alive(recorded.get(n.node_id))]
        if dead:
            self._start_brokers(state, nodes, dead, security)
        if cluster:
            state["redis_cluster"] = True
            ensure_cluster(
                self.home,
                state,
                password,
                deadline=time.monotonic() + self.config.start_timeout_s,
                save=lambda: self._write_state(state),
                check=self.check_processes,
            )
        elif processes.recorded_alive(state.get("redis")):
            if not secure:
                require_password(state["redis_url"], password)
        else:
            redis_entry = self._start_redis(state.get("redis"), password, secure)
            state["redis"] = redis_entry
            port = redis_entry["port"]
            state["redis_url"] = (
                f"rediss://{STACK_USER}@127.0.0.1:{port}/0"
                if secure
                else f"redis://127.0.0.1:{port}/0"
            )
            self._write_state(state)
        if secure:
            url = self._secured_redis_url(state["redis_url"], password)
            client = self.config.secured_kafka(KafkaSettings())
        else:
            url, client = with_password(state["redis_url"], password), None
        self._wait_ready(nodes, url, client)
        return self.status()

    def _same_mode_to_start(self, secure: bool) -> None:
        if secure != self.config.secure:
            made = "secured" if secure else "not secured"
            wanted = "with" if self.config.secure else "without"
            raise StackError(
                f"the stack in {self.home} was made {made}; run 'driftline stack down --purge' "
                f"first to start it {wanted} TLS and SCRAM, or use another DRIFTLINE_STACK_HOME"
            )

    def _start_brokers(
        self,
        state: dict[str, Any],
        nodes: list[KafkaNode],
        dead: list[KafkaNode],
        security: KafkaServerSecurity | None = None,
    ) -> None:
        """Start the ``dead`` nodes of ``nodes``; formatted storage is kept as it is."""
        libs = ensure_kafka_jars(self.config.cache_dir, self.config.kafka_version)
        cluster_id = (
            state.get("cluster_id")
            or next(filter(None, (formatted_cluster_id(n) for n in nodes)), None)
            or _new_cluster_id()
        )
        state.update(
            home=str(self.home), kafka_version=self.config.kafka_version, cluster_id=cluster_id
        )
        for node in dead:
            node.home.mkdir(parents=True, exist_ok=True)
            write_properties(node, render_properties(node, nodes, security))
            (node.home / "log4j2.properties").write_text(render_log4j(node))
        for node in dead:
            format_storage(libs, node, cluster_id, security)
        entries = {int(b["node_id"]): b for b in state.get("brokers", [])}
        for node in dead:
            command = java_command(
                libs, node, "kafka.Kafka", str(node.config_path), heap=self.config.kafka_heap
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
        self._write_state(state)

    def _start_redis(
        self, previous: dict[str, Any] | None, password: str, secure: bool = False
    ) -> dict[str, Any]:
        """Start Redis on its recorded port when free (its data is in its folder)."""
        home = self.home / "redis"
        home.mkdir(parents=True, exist_ok=True)
        port = int(previous["port"]) if previous else None
        if port is None or not processes.port_is_free(port):
            if port is not None:
                log.warning("redis moves to a new port: port %s is taken by another process", port)
            port = processes.free_port()
        conf = home / "redis.conf"
        tls = self._redis_tls() if secure else None
        write_redis_conf(conf, port=port, home=home, password=password, tls=tls)
        pid = _spawn(redis_command(conf, port, tls=secure), home / "stdout.log")
        return {
            "pid": pid,
            "port": port,
            "home": str(home),
            "log": str(home / "redis.log"),
            "started": processes.start_ticks(pid),
        }

    def _wait_ready(
        self, nodes: list[KafkaNode], redis_url: str, kafka: KafkaSettings | None = None
    ) -> None:
        """Wait until Redis and each node answer (a node answers once it has started)."""
        deadline = time.monotonic() + self.config.start_timeout_s
        wait_redis(redis_url, deadline, self.check_processes)
        for node in nodes:
            wait_kafka(node.bootstrap, len(nodes), deadline, self.check_processes, kafka)

    def check_processes(self) -> None:
        """Raise with the log's tail if a process the stack started has died."""
        state = self._read_state() or {}
        for entry in [*state.get("brokers", []), state.get("redis"), *state.get("redis_nodes", [])]:
            if entry and not processes.recorded_alive(entry):
                tail = _tail(Path(entry["log"])) or _tail(Path(entry["home"]) / "stdout.log")
                raise StackError(f"process {entry['pid']} exited; last log lines:\n{tail}")

    # -- down --------------------------------------------------------------------------
    def down(self, purge: bool = False) -> list[int]:
        """Stop the processes this stack started; with ``purge`` delete their data too.

        The secrets are kept: checkpoints sealed with the key may live outside the stack.
        """
        state = self._read_state() or {}
        recorded = [state.get("redis"), *state.get("redis_nodes", []), *state.get("brokers", [])]
        entries = [e for e in recorded if e]
        stopped = processes.stop_processes([(int(e["pid"]), e.get("started", -1)) for e in entries])
        if purge:
            import shutil

            for path in [
                *self.home.glob("kafka-*"),
                self.home / "redis",
                *self.home.glob("redis-*"),
                self.state_path,
            ]:
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
        return stopped


def _cluster_mode(home: Path, state: dict[str, Any], wanted: bool, secure: bool) -> bool:
    """Whether this ``up`` runs a Redis Cluster: when asked, or when the home has one."""
    if state.get("redis_cluster"):
        return True
    if not wanted:
        return False
    if secure:
        raise StackError(
            "a secured stack runs one Redis: '--redis-cluster' and '--secure' do not go together"
        )
    if state.get("redis"):
        raise StackError(
            f"the stack in {home} runs one Redis; run 'driftline stack down --purge' first to "
            "start it with a Redis Cluster, or use another DRIFTLINE_STACK_HOME"
        )
    return True


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
