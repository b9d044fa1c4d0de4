"""Worker throughput against its baselines, measured in one run on the same events.

    python -m benchmarks.throughput [--flights 20000] [--json]

Baselines: the bare River loop (predict, then learn when the label comes, on the same
feature vectors, no decoding, no bookkeeping) and a plain kafka-python consumer reading
the same topic message by message. Measured: the task core in memory (decode, validate,
dedupe, features, label history, prequential step, metrics) and the whole worker on the
real Kafka and Redis (batches, Redis pipelines, checkpoints, commits). The ratios say
what each layer costs; absolute rates depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer

from consumers.runner import run_worker, worker_config
from pipeline.adapters.endpoints import Endpoints, resolve_endpoints
from pipeline.adapters.settings import Settings
from pipeline.core.codec import EventCodec
from pipeline.core.events import Observation
from pipeline.core.models import build_model
from pipeline.core.task import InputRecord, PartitionTask
from pipeline.core.times import to_millis
from pipeline.stack import LocalStack
from producers.flights import flight_events
from producers.replay import ReplayPlan
from tests.integration.helpers import create_topics, publish


def _bare_river(settings: Settings, timed: list[Any]) -> float:
    """Predict on each observation, learn on its outcome: River and nothing else."""
    config = settings.task_config()
    model = build_model(config.model, config.seed)
    task = PartitionTask(0, config)  # only for its feature builder
    xs = {}
    for t in timed:
        if isinstance(t.event, Observation):
            xs[t.event.event_id] = task.features.build(t.event, t.arrival)
    started = time.perf_counter()
    stored: dict[str, Any] = {}
    for t in timed:
        event = t.event
        if isinstance(event, Observation):
            x = xs[event.event_id]
            model.predict_proba_one(x)
            stored[event.event_id] = x
        else:
            x = stored.pop(event.event_id, None)
            if x is not None:
                model.learn_one(x, event.label)
    return len(timed) / (time.perf_counter() - started)


def _task_core(settings: Settings, timed: list[Any]) -> float:
    codec = EventCodec()
    records = [
        InputRecord(0, i, t.event.key.encode(), codec.encode(t.event), to_millis(t.arrival))
        for i, t in enumerate(timed)
    ]
    task = PartitionTask(0, settings.task_config())
    started = time.perf_counter()
    for start in range(0, len(records), 2000):
        task.process(records[start : start + 2000], datetime.now(UTC))
    return len(records) / (time.perf_counter() - started)


def _plain_consumer(settings: Settings, total: int) -> float:
    consumer = KafkaConsumer(
        settings.topics.events,
        bootstrap_servers=settings.kafka.bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    seen = 0
    started = None
    for _ in consumer:
        started = started or time.perf_counter()
        seen += 1
        if seen >= total:
            break
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return seen / elapsed if elapsed > 0 else 0.0


def _endpoints(settings: Settings) -> Endpoints:
    return resolve_endpoints(settings.kafka, settings.redis, lambda: None)


def _worker(settings: Settings, total: int) -> float:
    endpoints = _endpoints(settings)
    stop = threading.Event()
    marks: dict[str, float] = {}

    def on_batch(worker: Any, _predictions: Any) -> None:
        marks.setdefault("first", time.perf_counter())
        marks["last"] = time.perf_counter()

    worker = run_worker(
        settings,
        endpoints,
        worker_config(settings, idle_watermark_s=None),
        stop,
        on_batch,
        finished=lambda: True,  # everything is published before the worker starts
    )
    elapsed = marks["last"] - marks["first"]
    return worker.stats.records / elapsed if elapsed > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flights", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base = Settings()
    stack = LocalStack(base.stack)
    if not (base.kafka.bootstrap and base.redis.url):
        stack.up()
    endpoints = resolve_endpoints(base.kafka, base.redis, stack.endpoints)
    settings = base.with_overrides(
        namespace=f"bench{uuid.uuid4().hex[:8]}",
        kafka_bootstrap=endpoints.bootstrap,
        redis_url=endpoints.redis_url,
        partitions=1,
    )
    timed = list(ReplayPlan(seed=settings.seed).schedule(flight_events(limit=args.flights)))
    create_topics(settings, partitions=1)
    total = publish(settings, (t.event for t in timed))
    rates = {
        "bare_river_loop": _bare_river(settings, timed),
        "task_core_in_memory": _task_core(settings, timed),
        "plain_consumer_per_message": _plain_consumer(settings, total),
        "worker_end_to_end": _worker(settings, total),
    }
    result = {
        "events": total,
        "events_per_s": {k: round(v) for k, v in rates.items()},
        "ratios": {
            "task_core / bare_river": round(
                rates["task_core_in_memory"] / rates["bare_river_loop"], 3
            ),
            "worker / bare_river": round(rates["worker_end_to_end"] / rates["bare_river_loop"], 3),
            "worker / plain_consumer": round(
                rates["worker_end_to_end"] / rates["plain_consumer_per_message"], 3
            ),
        },
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
