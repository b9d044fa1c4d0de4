"""What the benchmarks beyond throughput share.

A fresh namespace with its topics; a ``driftline consume`` process configured the way a
user would configure it (every setting as its ``DRIFTLINE_*`` variable); publishing that
reports each record's partition; and the two clocks read back: the broker's ingest time
of each observation (``LogAppendTime``) and the Redis time of each prediction (the
millisecond part of its predictions stream id).

>>> percentiles([5.0, 1.0, 3.0, 2.0, 4.0], (50, 100))
{'p50': 3.0, 'p100': 5.0}
>>> stream_ms(b"1717171717171-3")
1717171717171
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from driftline.adapters.endpoints import resolve_endpoints
from driftline.adapters.kafka_clients import admin_client, make_consumer, make_producer
from driftline.adapters.redis_clients import RedisClient, make_redis
from driftline.adapters.redis_keys import unlink_all
from driftline.adapters.settings import Settings, variable_names
from driftline.adapters.topics import delete_topics, prepare_topics
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation
from driftline.stack import LocalStack

__all__ = [
    "LocalKey",
    "WorkerProcess",
    "bench_base",
    "closing_redis",
    "drop_namespaces",
    "fresh_settings",
    "frozen_heap",
    "new_namespace",
    "ingest_times",
    "load",
    "percentiles",
    "prediction_times",
    "publish",
    "redis_client",
    "settings_env",
    "stream_ms",
]

LocalKey = Callable[[], bytes | None]


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Everything allocated so far (the workload's events) out of the collector's walks.

    A full collection walks every tracked object: without this, whichever pipeline runs
    while the bench holds 200,000 events pays for walking them, and the later ones more.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def bench_base() -> tuple[Settings, LocalKey]:
    """The settings of this run pointed at the services (the local stack, started when
    needed, unless both are set) and the stack's checkpoint key, as throughput's main."""
    base = Settings()
    stack = LocalStack(base.stack)
    if not (base.kafka.bootstrap and base.redis.url):
        stack.up()
    endpoints = resolve_endpoints(base.kafka, base.redis, stack.endpoints)
    base = base.with_overrides(kafka_bootstrap=endpoints.bootstrap, redis_url=endpoints.redis_url)
    atexit.register(drop_namespaces, base)
    return base, stack.checkpoint_key


#: The namespaces this run made: dropped when it ends (:func:`drop_namespaces`).
_MADE: list[str] = []


def new_namespace() -> str:
    """A namespace of this run's own (``bench<hex>``), remembered to be dropped at exit."""
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    _MADE.append(namespace)
    return namespace


def drop_namespaces(base: Settings) -> int:
    """Delete the Redis keys and Kafka topics of the namespaces this run made.

    A bench run writes hundreds of thousands of hashes and stream entries per pipeline;
    left behind, runs pile up in the stack's Redis (gigabytes, and its AOF rewrites then
    compete with the next run for the CPU). Returns the number of Redis keys deleted.
    """
    made, _MADE[:] = list(_MADE), []
    if not made or not (base.redis.url and base.kafka.bootstrap):
        return 0
    deleted = 0
    with closing_redis(base) as client:
        for namespace in made:  # ``bench<hex>*``: the confluent run's ``bench<hex>c`` too
            keys = list(client.scan_iter(match=f"{namespace}*", count=5000))
            unlink_all(client, keys)
            deleted += len(keys)
    with admin_client(base.kafka) as admin:
        topics = [t for t in admin.list_topics() if t.split(".")[0].startswith(tuple(made))]
        delete_topics(admin, topics)
    return deleted


def fresh_settings(base: Settings, **overrides: Any) -> Settings:
    """``base`` with ``overrides`` in a namespace of its own (``bench<hex>``), topics made."""
    namespace = new_namespace()
    settings = base.with_overrides(namespace=namespace, **overrides)
    prepare_topics(settings.kafka, namespace)
    return settings


def load() -> list[float]:
    """The machine's load averages (1, 5, 15 min): what else was running."""
    return [round(x, 2) for x in os.getloadavg()]


# -- settings as a process sees them -------------------------------------------------------
def _variable_text(value: Any) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list | dict):
        return json.dumps(value)
    return str(value)


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting that has a value, as the ``DRIFTLINE_*`` variable that sets it.

    >>> env = settings_env(Settings(_env_file=None, namespace="n1", checkpoint_every=7))
    >>> env["DRIFTLINE_NAMESPACE"], env["DRIFTLINE_CHECKPOINT_EVERY"]
    ('n1', '7')
    """
    env = {"DRIFTLINE_NAMESPACE": settings.namespace, "DRIFTLINE_SEED": str(settings.seed)}
    for dotted, variable in variable_names().items():
        group, name = dotted.split(".")
        value = getattr(getattr(settings, group), name)
        if value is not None:
            env[variable] = _variable_text(value)
    return env


def _command() -> list[str]:
    """The venv's ``driftline`` entry point, else ``python -m driftline``."""
    script = Path(sys.executable).with_name("driftline")
    return [str(script)] if script.exists() else [sys.executable, "-m", "driftline"]


class WorkerProcess:
    """``driftline consume ARGS`` in a process of its own, configured by variables only.

    Its standard error goes to a log file (shown by :meth:`log_tail`); the checkpoint key,
    when it is the local stack's, is handed over in an owner-only file. Leaving the block
    stops the process if it still runs (SIGTERM, then SIGKILL) and removes its files.
    """

    def __init__(
        self, settings: Settings, local_key: LocalKey | None, *args: str, name: str = "worker"
    ) -> None:
        self.settings = settings
        self.local_key = local_key
        self.args = args
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.spawned_at = 0.0
        self._folder = Path(tempfile.mkdtemp(prefix="driftline-bench-"))  # 0700

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
        env |= settings_env(self.settings)
        checkpoints = self.settings.checkpoints
        if checkpoints.key is None and checkpoints.key_file is None:
            key = self.local_key() if self.local_key is not None else None
            if key:
                path = self._folder / "checkpoint.key"
                path.touch(mode=0o600)
                path.write_bytes(key)
                env["DRIFTLINE_CHECKPOINT_KEY_FILE"] = str(path)
        return env

    @property
    def log_path(self) -> Path:
        return self._folder / f"{self.name}.log"

    def start(self) -> WorkerProcess:
        env = self.env()
        with self.log_path.open("ab") as log, (self._folder / "stdout").open("wb") as out:
            self.spawned_at = time.monotonic()
            self.process = subprocess.Popen(
                [*_command(), "consume", *self.args], env=env, stdout=out, stderr=log
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait(self, timeout_s: float) -> int:
        """The exit code; :class:`TimeoutError` (the process left running) after
        ``timeout_s``."""
        assert self.process is not None, "not started"
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise TimeoutError(f"{self.name} still running after {timeout_s:.0f} s") from exc

    def peak_rss_kb(self) -> int | None:
        """The process's peak resident set so far (``VmHWM``), ``None`` once it is gone.

        Not ``ru_maxrss`` after it exits: on Linux a child inherits its parent's peak
        through ``exec`` (the ``vfork``ed child's old memory map is the parent's), so a
        large benchmark process would show as the worker's peak.
        """
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None  # a zombie has no memory map

    def stop(self, timeout_s: float = 60) -> int:
        """SIGTERM (the worker finishes its batch, checkpoints, leaves); SIGKILL if stuck."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        try:
            return self.wait(timeout_s)
        except TimeoutError:
            self.process.kill()  # type: ignore[union-attr]
            return self.wait(10)

    def summary(self) -> dict[str, Any]:
        """The ``--json`` summary (the last line of standard output), ``{}`` without one."""
        lines = (self._folder / "stdout").read_text().strip().splitlines()
        return json.loads(lines[-1]) if lines else {}

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.process is not None:
                self.stop(timeout_s=30)
        finally:
            for path in self._folder.iterdir():
                path.unlink()
            self._folder.rmdir()


# -- Kafka ---------------------------------------------------------------------------------
def publish(settings: Settings, records: Iterable[tuple[bytes, bytes]]) -> list[int]:
    """Send pre-encoded ``(key, value)`` records as fast as the producer goes; the
    partition of each, in order, once all are acknowledged (raises if one is not)."""
    producer = make_producer(settings.kafka)
    try:
        futures = [
            producer.send(settings.topics.events, key=key, value=value) for key, value in records
        ]
        producer.flush(timeout=600)
        return [future.get(timeout=0).partition for future in futures]
    finally:
        producer.close(timeout=10)


def ingest_times(settings: Settings, wanted: Callable[[str], bool] | None = None) -> dict[str, int]:
    """``event_id -> broker ingest time (ms)`` of every observation in the events topic.

    The topic stamps records with ``LogAppendTime``: the broker's clock. ``wanted`` keeps
    only the event ids it accepts (every record is still read and decoded).
    """
    from kafka import TopicPartition

    codec = EventCodec()
    topic = settings.topics.events
    consumer = make_consumer(settings.kafka, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        found: dict[str, int] = {}
        deadline = time.monotonic() + 300
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} back took over 300 s")
            for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                for record in records:
                    event = codec.decode(record.value)
                    if isinstance(event, Observation) and (
                        wanted is None or wanted(event.event_id)
                    ):
                        found[event.event_id] = record.timestamp
        return found
    finally:
        consumer.close(autocommit=False)


# -- Redis ---------------------------------------------------------------------------------
def redis_client(settings: Settings) -> RedisClient:
    return make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]


def stream_ms(entry_id: bytes | str) -> int:
    """The millisecond part of a stream entry id (``<ms>-<seq>``): Redis's clock."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])


def prediction_times(client: RedisClient, namespace: str) -> Iterator[tuple[int, str]]:
    """``(ms, event_id)`` of each entry of ``<ns>:predictions``, oldest first."""
    key = f"{namespace}:predictions"
    start = "-"
    while True:
        entries = client.xrange(key, min=start, count=10_000)
        for entry_id, fields in entries:
            yield stream_ms(entry_id), fields[b"event_id"].decode()
        if len(entries) < 10_000:
            return
        last = entries[-1][0].decode()
        start = f"({last}"


@contextlib.contextmanager
def closing_redis(settings: Settings) -> Iterator[RedisClient]:
    client = redis_client(settings)
    try:
        yield client
    finally:
        client.close()


def redis_cpu_s(settings: Settings) -> tuple[float, float]:
    """The CPU seconds Redis has used since it started (``INFO cpu``: its user and system
    time), every thread of the server and its main thread, which runs the commands (every
    thread where a server older than 6.2 does not tell): before and after a run, what the
    run cost Redis, and how long Redis kept a client that waits for each reply waiting."""
    with closing_redis(settings) as client:
        info = client.info("cpu")
    every = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    main = info.get("used_cpu_user_main_thread"), info.get("used_cpu_sys_main_thread")
    return every, every if None in main else float(main[0]) + float(main[1])


# -- figures -------------------------------------------------------------------------------
def percentiles(values: Sequence[float], points: Iterable[int]) -> dict[str, float]:
    """Nearest-rank percentiles of ``values`` (not empty)."""
    ordered = sorted(values)
    shown: dict[str, float] = {}
    for point in points:
        rank = max(1, -(-point * len(ordered) // 100))  # ceil(point/100 * n)
        shown[f"p{point}"] = ordered[min(rank, len(ordered)) - 1]
    return shown
