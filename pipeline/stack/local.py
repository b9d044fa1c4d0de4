"""The local stack: a KRaft Kafka cluster and a Redis server on free loopback ports.

Everything lives in one folder (``DRIFTLINE_STACK_HOME``, default ``./.driftline``)::

    stack.json             what runs: pids, ports, bootstrap servers, Redis URL (no password)
    kafka-<id>/            server.properties, log4j2.properties, kafka.log, data/
    redis/                 redis.conf (0600: it holds the password), redis.log, append-only files
    redis-<n>/             the same per node of a Redis Cluster (``up --redis-cluster``), nodes.conf
    registry/              the schema registry's log (``up --registry``)
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
Redis listens on TLS only with the ACL user ``driftline`` (the default user has a password
nobody knows: see :func:`~driftline.stack.redis_node.render_redis_conf`). The mode
belongs to the home: a stack made one way is not restarted the other way (``down --purge``
first), and its clients must use the same setting, which gives them the stack's files
(:meth:`StackSettings.secured_kafka`; the Redis URL of :meth:`endpoints` carries its own).

With ``up(redis_cluster=True)`` Redis is a three-master Redis Cluster instead
(:mod:`driftline.stack.redis_cluster`). That mode too belongs to the home: ``stack.json``
records it, later ``up`` calls restart the cluster's dead nodes without being told, and the
Redis URL is the first node's (clients find the others). A home with one Redis is not
turned into a cluster (``down --purge`` first), and a secured stack has no cluster mode.

With ``up(registry=True)`` a Confluent-compatible schema registry runs too (Apicurio
Registry, built once with Maven into the cache: :mod:`driftline.stack.registry_jars`), on a
loopback port, in-memory (:mod:`driftline.stack.registry_node`). ``stack.json`` records it,
so later ``up`` calls restart it when it died; its death makes the stack degraded, not
down. :meth:`LocalStack.endpoints` hands out its URL (``.../apis/ccompat/v6``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.settings import STACK_USER, KafkaSettings, StackSettings
from driftline.stack import processes
from driftline.stack.compatibility import (
    cluster_mode,
    same_mode_for_clients,
    same_mode_to_start,
    same_shape,
)
from driftline.stack.credentials import StackCredentials
from driftline.stack.kafka_node import KafkaNode, plan_nodes
from driftline.stack.launch import check_started, start_brokers, start_redis
from driftline.stack.readiness import wait_kafka, wait_redis, wait_registry
from driftline.stack.redis_cluster import ensure_cluster
from driftline.stack.redis_node import require_password
from driftline.stack.registry_jars import ensure_registry_jar
from driftline.stack.registry_node import start_registry
from driftline.stack.secret_files import ensure_secrets
from driftline.stack.state_file import read_state, write_state
from driftline.stack.status import StackStatus, judge

__all__ = ["LocalStack", "StackStatus", "wait_kafka", "wait_redis"]

log = logging.getLogger(__name__)


class LocalStack:
    """Start, inspect, repair and stop the local Kafka + Redis processes.

    The state file (:mod:`~driftline.stack.state_file`), the secrets
    (:class:`~driftline.stack.credentials.StackCredentials`), the checks of a home's modes
    (:mod:`~driftline.stack.compatibility`) and the starting of processes
    (:mod:`~driftline.stack.launch`) live in modules of their own; this class runs them.
    """

    def __init__(self, config: StackSettings) -> None:
        self.config = config
        self.home = config.home
        self.state_path = self.home / "stack.json"
        self.credentials = StackCredentials(config)
        self.secrets_dir = self.credentials.secrets_dir

    def status(self) -> StackStatus:
        """What the state file records, with each process checked for life.

        ``running`` is true while the stack is usable, even with a broker down
        (``degraded``); see :func:`driftline.stack.status.judge`.
        """
        state = read_state(self.state_path) or {}
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
        registry_entry = state.get("registry")
        registry = (
            dict(registry_entry, alive=processes.recorded_alive(registry_entry))
            if registry_entry
            else None
        )
        health = judge(brokers, redis_info, redis_nodes, [registry] if registry else [])
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
            registry=registry,
            schema_registry_url=registry["url"]
            if registry and registry["alive"] and health.running
            else None,
        )

    def endpoints(self) -> Endpoints | None:
        """Where the stack's Kafka and Redis are, ``None`` unless it is running.

        A degraded stack still answers, with every broker in the bootstrap list: clients
        reach the live ones, and the restarted one when ``up`` brings it back.
        """
        status = self.status()
        if not status.running or not status.bootstrap_servers or not status.redis_url:
            return None
        same_mode_for_clients(self.home, status.secure, self.config.secure)
        password = self.credentials.redis_password()
        redis_url = self.credentials.client_redis_url(status.redis_url, password, status.secure)
        return Endpoints(
            status.bootstrap_servers, redis_url, "local-stack", status.schema_registry_url
        )

    def checkpoint_key(self) -> bytes | None:
        """The key the stack made for sealing checkpoints, ``None`` before the first ``up``.

        The bytes of ``secrets/checkpoint.key``'s text (64 hex digits): the same key as
        ``DRIFTLINE_CHECKPOINT_KEY`` set to that text.
        """
        return self.credentials.checkpoint_key()

    # -- up ----------------------------------------------------------------------------
    def up(
        self, brokers: int | None = None, *, redis_cluster: bool = False, registry: bool = False
    ) -> StackStatus:
        """Start whatever is down and wait until every broker and Redis answer.

        A process that died comes back on its recorded ports with its data: a broker
        rejoins the quorum that expects it there, Redis replays its append-only file. The
        live processes are left alone. ``redis_cluster`` makes Redis a three-master Redis
        Cluster; a home that has one keeps it without being told again. ``registry`` adds
        a schema registry, kept by later calls the same way (restarted empty).
        """
        count = brokers or self.config.brokers
        self.home.mkdir(parents=True, exist_ok=True)
        state = read_state(self.state_path) or {}
        same_shape(self.home, state, count, self.config.kafka_version)
        known = state.get("brokers", [])
        secure = self.config.secure
        if known or state.get("redis"):
            same_mode_to_start(self.home, bool(state.get("secure", False)), secure)
        cluster = cluster_mode(self.home, state, redis_cluster, secure)
        password = ensure_secrets(self.secrets_dir).redis_password
        security = self.credentials.kafka_security() if secure else None
        state["secure"] = secure
        nodes = plan_nodes(self.home, count, known)
        recorded = {int(b["node_id"]): b for b in known}
        dead = [n for n in nodes if not processes.recorded_alive(recorded.get(n.node_id))]
        if dead:
            start_brokers(self.config, state, nodes, dead, security)
            write_state(self.state_path, state)
        if cluster:
            state["redis_cluster"] = True
            ensure_cluster(
                self.home,
                state,
                password,
                deadline=time.monotonic() + self.config.start_timeout_s,
                save=lambda: write_state(self.state_path, state),
                check=self.check_processes,
            )
        elif processes.recorded_alive(state.get("redis")):
            if not secure:
                require_password(state["redis_url"], password)
        else:
            self._start_redis(state, password, secure)
        if registry or state.get("registry"):
            self._start_registry(state)
        url = self.credentials.client_redis_url(state["redis_url"], password, secure)
        client = self.config.secured_kafka(KafkaSettings()) if secure else None
        self._wait_ready(nodes, url, client)
        if state.get("registry"):
            deadline = time.monotonic() + self.config.start_timeout_s
            wait_registry(state["registry"]["url"], deadline, self.check_processes)
        return self.status()

    def _start_registry(self, state: dict[str, Any]) -> None:
        """Start the schema registry unless it is alive (building it first if needed)."""
        previous = state.get("registry")
        if processes.recorded_alive(previous):
            return
        jar = ensure_registry_jar(self.config.cache_dir)
        state["registry"] = start_registry(self.home / "registry", previous, jar)
        write_state(self.state_path, state)

    def _start_redis(self, state: dict[str, Any], password: str, secure: bool) -> None:
        """Start the one Redis (on TLS only when ``secure``) and record it and its URL."""
        tls = self.credentials.redis_tls() if secure else None
        redis_entry = start_redis(
            self.home / "redis", state.get("redis"), password, tls, self.config.redis_maxmemory
        )
        state["redis"] = redis_entry
        port = redis_entry["port"]
        state["redis_url"] = (
            f"rediss://{STACK_USER}@127.0.0.1:{port}/0" if secure else f"redis://127.0.0.1:{port}/0"
        )
        write_state(self.state_path, state)

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
        check_started(read_state(self.state_path) or {})

    # -- down --------------------------------------------------------------------------
    def down(self, purge: bool = False) -> list[int]:
        """Stop the processes this stack started; with ``purge`` delete their data too.

        The secrets are kept: checkpoints sealed with the key may live outside the stack.
        """
        state = read_state(self.state_path) or {}
        recorded = [
            state.get("registry"),
            state.get("redis"),
            *state.get("redis_nodes", []),
            *state.get("brokers", []),
        ]
        entries = [e for e in recorded if e]
        stopped = processes.stop_processes([(int(e["pid"]), e.get("started", -1)) for e in entries])
        if purge:
            import shutil

            for path in [
                *self.home.glob("kafka-*"),
                self.home / "redis",
                *self.home.glob("redis-*"),
                self.home / "registry",
                self.state_path,
            ]:
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
        return stopped
