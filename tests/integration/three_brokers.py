"""Helpers for runs on three brokers of their own (``stack up --brokers 3``): kill and
restart brokers, publish paced events with every delivery recorded, and read back what the
topics and Redis hold. Used by the broker-failure tests and the soak (``tests/soak``)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition
from kafka.errors import KafkaError

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka_clients import admin_client, make_consumer, make_producer
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import KafkaSettings, Settings
from driftline.core.errors import DriftlineError, PublishError
from driftline.core.events.model import Event
from driftline.core.events.ticks import WatermarkTick
from driftline.producers.publisher import Delivery, DeliveryBounds, EventPublisher
from driftline.read.tail import read_events
from driftline.stack import LocalStack
from driftline.stack.processes import start_ticks


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``condition`` until it holds; return the seconds it took, fail at the deadline."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def endpoints(stack: LocalStack) -> Endpoints:
    found = stack.endpoints()
    assert found is not None, stack.status().to_dict()
    return found


def broker_pids(stack: LocalStack) -> dict[int, int]:
    return {int(b["node_id"]): int(b["pid"]) for b in stack.status().brokers}


def sigkill(pid: int, timeout_s: float = 30) -> None:
    """SIGKILL ``pid`` and wait until it is gone."""
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: start_ticks(pid) is None, timeout_s, f"process {pid} to die")
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def isr_of(kafka: KafkaSettings, topic: str) -> dict[int, list[int]] | None:
    """Each partition's in-sync replicas (``None`` while the cluster does not answer)."""
    try:
        with admin_client(kafka) as admin:
            [described] = admin.describe_topics([topic])
    except (KafkaError, DriftlineError, OSError):
        return None
    return {p["partition_index"]: sorted(p["isr_nodes"]) for p in described["partitions"]}


def coordinator_of(kafka: KafkaSettings, group: str) -> int | None:
    """The broker coordinating ``group``: the leader of its ``__consumer_offsets`` partition
    (Java's ``abs(group.hashCode()) % partitions``)."""
    try:
        with admin_client(kafka) as admin:
            [offsets] = admin.describe_topics(["__consumer_offsets"])
    except (KafkaError, DriftlineError, OSError):
        return None
    code = 0
    for char in group:
        code = (31 * code + ord(char)) & 0xFFFFFFFF
    index = (code & 0x7FFFFFFF) % len(offsets["partitions"])
    [partition] = [p for p in offsets["partitions"] if p["partition_index"] == index]
    return int(partition["leader_id"])


def fully_in_sync(kafka: KafkaSettings, topics: list[str]) -> bool:
    """Whether all three replicas of every partition of ``topics`` are in sync."""
    for topic in topics:
        isr = isr_of(kafka, topic)
        if not isr or any(nodes != [1, 2, 3] for nodes in isr.values()):
            return False
    return True


def restart(stack: LocalStack, kafka: KafkaSettings, topics: list[str], node_id: int) -> float:
    """``LocalStack.up()`` brings the killed broker back; wait until it is in every ISR."""
    started = time.monotonic()
    before = broker_pids(stack)
    stack.up(brokers=3)
    after = broker_pids(stack)
    assert after[node_id] != before[node_id], "up() did not restart the killed broker"
    assert {n: p for n, p in after.items() if n != node_id} == {
        n: p for n, p in before.items() if n != node_id
    }, "up() restarted brokers that were running"
    wait_for(lambda: fully_in_sync(kafka, topics), 180, f"broker {node_id} in every ISR")
    return time.monotonic() - started


def driftline(*args: str) -> list[str]:
    return [sys.executable, "-m", "driftline", *args]


def read_topic(kafka: KafkaSettings, topic: str) -> list[Event]:
    """Every event of ``topic`` (watermark ticks left out), read to its end."""
    consumer = make_consumer(kafka, enable_auto_commit=False)
    try:
        records = list(read_events(consumer, topic, last=None, idle_timeout_s=1.0))
    finally:
        consumer.close()
    assert all(r.error is None for r in records), [r.error for r in records if r.error]
    return [
        r.event for r in records if r.event is not None and not isinstance(r.event, WatermarkTick)
    ]


def end_offsets(kafka: KafkaSettings, topic: str) -> dict[int, int]:
    consumer = make_consumer(kafka, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return {tp.partition: end for tp, end in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


@dataclass
class Publishing:
    """A publisher thread: paced chunks of events, every delivery recorded."""

    settings: Settings
    events: list[Event]
    chunk: int = 50
    pace_s: float = 0.2
    acknowledged: list[Delivery] = field(default_factory=list)
    failed: list[Delivery] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent: int = 0
    finish: threading.Event = field(default_factory=threading.Event)

    def heard(self, delivery: Delivery) -> None:
        (self.acknowledged if delivery.acknowledged else self.failed).append(delivery)

    def run(self) -> None:
        kafka = self.settings.kafka
        bounds = DeliveryBounds(kafka.request_timeout_ms)
        publisher = EventPublisher(
            make_producer(kafka, **bounds.producer_options()),
            self.settings.topics.events,
            on_delivery=self.heard,
            **bounds.publisher_options(),
        )
        with publisher:
            for start in range(0, len(self.events), self.chunk):
                if self.finish.is_set():
                    break
                try:
                    for event in self.events[start : start + self.chunk]:
                        publisher.publish(event)
                        self.sent += 1
                    publisher.flush()
                except PublishError as exc:  # recorded; the run goes on
                    self.errors.append(str(exc))
                self.finish.wait(self.pace_s)  # pacing, not synchronisation


def predicted_ids(redis_url: str, namespace: str) -> list[str]:
    client: Any = make_redis(redis_url)
    try:
        return [f[b"event_id"].decode() for _, f in client.xrange(f"{namespace}:predictions")]
    finally:
        client.close()


def predicted_count(redis_url: str, namespace: str) -> int:
    client = make_redis(redis_url)
    try:
        return int(client.xlen(f"{namespace}:predictions"))
    finally:
        client.close()


def metric_totals(redis_url: str, namespace: str) -> Counter[str]:
    client = make_redis(redis_url)
    try:
        raw = client.hgetall(f"{namespace}:metrics")
    finally:
        client.close()
    totals: Counter[str] = Counter()
    for value in raw.values():
        totals.update(json.loads(value)["counts"])
    return totals


# -- a namespace on a stack of its own, and the environment of its commands -----------------------
#: The checkpoint key of runs on a stack of their own (32 characters).
OWN_CHECKPOINT_KEY = "driftline-own-stack-checkpoint-k"


def own_settings(stack: LocalStack, namespace: str, **overrides: Any) -> Settings:
    """Settings of ``namespace`` on ``stack`` (no ``.env`` file): ``overrides`` by field name.
    On a secured stack (``stack up --secure``) its clients' TLS files and SCRAM user come
    with them."""
    found = endpoints(stack)
    secure = stack.config.secure
    settings = Settings(
        _env_file=None,
        namespace=namespace,
        redis_url=found.redis_url,
        checkpoint_key=OWN_CHECKPOINT_KEY,
        stack_home=stack.home,
        stack_secure=secure,
        **({} if secure else {"kafka_bootstrap": found.bootstrap}),
        **overrides,
    )
    kafka = settings.kafka.model_copy(update={"bootstrap": found.bootstrap})
    return settings.model_copy(update={"kafka": kafka})


def own_env(stack: LocalStack, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ``driftline`` command on ``stack`` in ``settings``' namespace:
    this process's, without its ``DRIFTLINE_`` variables, and ``extra`` (by variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    return env | {
        "DRIFTLINE_STACK_HOME": str(stack.home),
        # a secured stack's clients find Kafka and Redis, and their credentials, in its home
        **(
            {"DRIFTLINE_STACK_SECURE": "1"}
            if stack.config.secure
            else {
                "DRIFTLINE_KAFKA_BOOTSTRAP": settings.kafka.bootstrap or "",
                "DRIFTLINE_REDIS_URL": endpoints(stack).redis_url,
            }
        ),
        "DRIFTLINE_NAMESPACE": settings.namespace,
        "DRIFTLINE_CHECKPOINT_KEY": OWN_CHECKPOINT_KEY,
        "DRIFTLINE_PARTITIONS": str(settings.kafka.partitions),
        "COLUMNS": "1000",  # log lines unwrapped, so tracebacks can be read back
        **extra,
    }
