"""The baselines the worker is measured against, each on the same records and model.

- :func:`bare_loop`: the limit. River alone: each model predicts on each observation's
  vector and learns when its label comes, on vectors made beforehand (by the baselines'
  featurizer, or recorded from the task's own calls: :class:`~benchmarks.workloads.BareLoop`).
  No decoding, no I/O.
- :func:`plain_consumption`: the client alone: read the topic, nothing else.
- :func:`naive_pipeline`: the tutorial version: iterate message by message, decode,
  predict, learn when the label record arrives (a dict join), one Redis SET per prediction.

With several models (the demo's main model and its challenger) every loop runs each
model's calls on the same vector and writes the first (main) model's probabilities.
- :func:`lean_loop`: the leanest delayed-label loop one can write on the same client:
  batch poll, schemaless decode, dict join, one pipelined Redis write per key per batch,
  nothing else (no validation, dedupe, metrics, checkpoints or guard). What the client
  allows.

Each returns a :class:`Run`: records handled and the seconds from the first record to
the last (start-up, connection and group join excluded, as for the worker).
"""

from __future__ import annotations

import io
import json
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import fastavro
from kafka import TopicPartition

from driftline.adapters.kafka_clients import make_consumer
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.core.events.model import Observation, avro_schema
from driftline.core.learning.models import build_model

from .task_vectors import Step, task_steps
from .workloads import BareLoop, Featurizer, Workload

__all__ = [
    "Run",
    "bare_loop",
    "lean_loop",
    "lean_loop_confluent",
    "naive_pipeline",
    "plain_consumption",
    "plain_consumption_confluent",
]

_HEADER = struct.Struct(">bI")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Run:
    records: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


class _Decoder:
    """Schemaless Avro decode of the two event schemas (ids 1 and 2), nothing checked."""

    def __init__(self) -> None:
        self.schemas = {
            1: fastavro.parse_schema(avro_schema("observation")),
            2: fastavro.parse_schema(avro_schema("outcome")),
        }

    def __call__(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        _, schema_id = _HEADER.unpack_from(raw)
        body = io.BytesIO(raw)
        body.seek(_HEADER.size)
        return schema_id, fastavro.schemaless_reader(body, self.schemas[schema_id], None)  # type: ignore[return-value]


def _models(settings: Settings) -> tuple[list[Any], Featurizer]:
    """The task's models, the first (main) one then its challengers, and its features."""
    config = settings.task_config()
    specs = [config.model, *(spec for _, spec in config.challengers)]
    return [build_model(spec, config.seed) for spec in specs], Featurizer(config)


def _featurizer_steps(workload: Workload, featurizer: Featurizer) -> list[Step]:
    """Every model call's vector, built beforehand as the worker would (untimed)."""
    arrival = datetime.now(UTC)
    steps: list[Step] = []
    waiting: dict[str, tuple[dict[str, Any], Any]] = {}
    for event in workload.events:
        if isinstance(event, Observation):
            built = featurizer.build(event, arrival + timedelta(seconds=1))
            waiting[event.event_id] = built
            steps.append((True, built[0], None))
        else:
            found = waiting.pop(event.event_id, None)
            if found is not None:
                featurizer.learned(found[1], event.label)  # type: ignore[union-attr]
                steps.append((False, found[0], event.label))  # type: ignore[union-attr]
    return steps


def bare_loop(
    settings: Settings, workload: Workload, ready: Callable[[], object] | None = None
) -> Run:
    """River and nothing else: every model predicts on each observation's vector and
    learns when its label comes, on vectors made beforehand (see :class:`BareLoop`).
    ``ready`` is called once they are made, before the clock starts (processes that
    measure together wait there for each other)."""
    models, featurizer = _models(settings)
    if workload.bare is BareLoop.TASK_CALLS:
        steps = task_steps(settings, workload)
    else:
        steps = _featurizer_steps(workload, featurizer)
    if ready is not None:
        ready()
    started = time.perf_counter()
    if len(models) == 1:  # no inner loop: the limit of one model as it stands
        (model,) = models
        for is_observation, x, label in steps:
            if is_observation:
                model.predict_proba_one(x)
            else:
                model.learn_one(x, label)
    else:
        for is_observation, x, label in steps:
            if is_observation:
                for model in models:
                    model.predict_proba_one(x)
            else:
                for model in models:
                    model.learn_one(x, label)
    return Run(len(workload.events), time.perf_counter() - started)


def _consumer(settings: Settings, **options: Any) -> Any:
    return make_consumer(
        settings.kafka,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_bytes=32 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        **options,
    )


def plain_consumption(settings: Settings, total: int) -> Run:
    """kafka-python reading the topic, in batches, doing nothing with the records."""
    consumer = _consumer(settings)
    consumer.subscribe([settings.topics.events])
    seen = 0
    started = None
    try:
        while seen < total:
            batch = consumer.poll(timeout_ms=500, max_records=settings.worker.max_poll_records)
            if batch and started is None:
                started = time.perf_counter()
            seen += sum(len(records) for records in batch.values())
        return Run(seen, time.perf_counter() - (started or time.perf_counter()))
    finally:
        consumer.close(autocommit=False)


def _observation(fields: dict[str, Any]) -> Observation:
    return Observation.model_construct(**fields)


def naive_pipeline(settings: Settings, total: int, prefix: str) -> Run:
    """Message by message: decode, predict, learn on the label (dict join), one SET each."""
    models, featurizer = _models(settings)
    main, challengers = models[0], models[1:]
    decode = _Decoder()
    redis = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    consumer = _consumer(settings)
    consumer.subscribe([settings.topics.events])
    waiting: dict[str, tuple[dict[str, Any], Any]] = {}
    seen = 0
    started = None
    try:
        for message in consumer:
            started = started or time.perf_counter()
            seen += 1
            schema_id, fields = decode(message.value)
            if schema_id == 1:
                obs = _observation(fields)
                ingest = _EPOCH + timedelta(milliseconds=message.timestamp)
                x, groups = featurizer.build(obs, ingest)
                proba = main.predict_proba_one(x)
                for challenger in challengers:
                    challenger.predict_proba_one(x)
                waiting[obs.event_id] = (x, groups)
                redis.set(
                    f"{prefix}:{obs.key}",
                    json.dumps(
                        {"event_id": obs.event_id, "proba": {str(k): v for k, v in proba.items()}}
                    ),
                )
            else:
                found = waiting.pop(fields["event_id"], None)
                if found is not None:
                    for model in models:
                        model.learn_one(found[0], fields["label"])
                    featurizer.learned(found[1], fields["label"])
            if seen >= total:
                break
        return Run(seen, time.perf_counter() - (started or time.perf_counter()))
    finally:
        consumer.close(autocommit=False)
        redis.close()


class _Lean:
    """The lean loop's state and its step for one batch of ``(value, ingest_ms)``."""

    def __init__(self, settings: Settings, prefix: str) -> None:
        self.models, self.featurizer = _models(settings)
        self.decode = _Decoder()
        self.redis = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
        self.prefix = prefix
        self.waiting: dict[str, tuple[dict[str, Any], Any]] = {}

    def batch(self, records: Any) -> None:
        models, featurizer, waiting = self.models, self.featurizer, self.waiting
        main, challengers = models[0], models[1:]
        latest: dict[str, dict[str, Any]] = {}
        for value, timestamp in records:
            schema_id, fields = self.decode(value)
            if schema_id == 1:
                obs = _observation(fields)
                ingest = _EPOCH + timedelta(milliseconds=timestamp)
                x, groups = featurizer.build(obs, ingest)
                proba = main.predict_proba_one(x)  # the main model's is written
                for challenger in challengers:
                    challenger.predict_proba_one(x)
                waiting[obs.event_id] = (x, groups)
                latest[obs.key] = {
                    "event_id": obs.event_id,
                    "probabilities": json.dumps({str(k): v for k, v in proba.items()}),
                }
            else:
                found = waiting.pop(fields["event_id"], None)
                if found is not None:
                    for model in models:
                        model.learn_one(found[0], fields["label"])
                    featurizer.learned(found[1], fields["label"])
        pipe = self.redis.pipeline(transaction=False)
        for key, mapping in latest.items():
            pipe.hset(f"{self.prefix}:{key}", mapping=mapping)
        pipe.execute()


def lean_loop(
    settings: Settings,
    total: int,
    prefix: str,
    partitions: list[int] | None = None,
    ready: Callable[[], object] | None = None,
) -> Run:
    """Batch poll, decode, dict join, one pipelined HSET per key per batch; nothing else.

    With ``partitions``, those partitions of the topic are assigned (no group), as when
    several processes share a topic; ``ready`` is called once the loop is set up, before
    its first poll (a barrier that starts several processes' loops together)."""
    lean = _Lean(settings, prefix)
    consumer = _consumer(settings)
    topic = settings.topics.events
    if partitions is None:
        consumer.subscribe([topic])
    else:
        consumer.assign([TopicPartition(topic, p) for p in partitions])
    if ready is not None:
        ready()
    seen = 0
    started = None
    try:
        while seen < total:
            batch = consumer.poll(timeout_ms=500, max_records=settings.worker.max_poll_records)
            if not batch:
                continue
            started = started or time.perf_counter()
            for records in batch.values():
                seen += len(records)
                lean.batch((m.value, m.timestamp) for m in records)
        return Run(seen, time.perf_counter() - (started or time.perf_counter()))
    finally:
        consumer.close(autocommit=False)
        lean.redis.close()


def _confluent_consumer(settings: Settings) -> Any:
    from driftline.adapters.confluent_clients import make_confluent_consumer

    consumer = make_confluent_consumer(
        settings.kafka,
        {
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        },
    )
    consumer.subscribe([settings.topics.events])
    return consumer


def plain_consumption_confluent(settings: Settings, total: int) -> Run:
    """confluent-kafka reading the topic in batches, doing nothing with the records."""
    consumer = _confluent_consumer(settings)
    seen = 0
    started = None
    try:
        while seen < total:
            messages = consumer.consume(settings.worker.max_poll_records, 0.5)
            if messages and started is None:
                started = time.perf_counter()
            seen += sum(1 for m in messages if m.error() is None)
        return Run(seen, time.perf_counter() - (started or time.perf_counter()))
    finally:
        consumer.close()


def lean_loop_confluent(settings: Settings, total: int, prefix: str) -> Run:
    """The lean loop on confluent-kafka: what the faster client allows."""
    lean = _Lean(settings, prefix)
    consumer = _confluent_consumer(settings)
    seen = 0
    started = None
    try:
        while seen < total:
            messages = [
                m
                for m in consumer.consume(settings.worker.max_poll_records, 0.5)
                if m.error() is None
            ]
            if not messages:
                continue
            started = started or time.perf_counter()
            seen += len(messages)
            lean.batch((m.value(), m.timestamp()[1]) for m in messages)
        return Run(seen, time.perf_counter() - (started or time.perf_counter()))
    finally:
        consumer.close()
        lean.redis.close()
