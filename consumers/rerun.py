"""Re-run an offset range of the events topic through a fresh worker, in its own namespace.

``driftline replay``: the records ``[start, end)`` of each chosen partition go, in offset
order, through the same :class:`~driftline.consumers.worker.Worker` and tasks as ``driftline
consume``, but with a fresh state, outputs under another namespace (predictions, metrics,
checkpoints, dead letters, alerts), no consumer group (nothing is committed, nothing is
taken from the live workers) and no watermark ticks written (the source topic is only
read). The run's result carries a digest of every prediction (its partition and offset,
the entity, the label, the probabilities exactly as stored, the model and its version,
the decision and threshold, and the configuration's fingerprint), sorted by partition and
offset: the same records with the same configuration and seed give the same digest, in
any batch sizes, on any machine.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka_clients import make_consumer
from driftline.adapters.prediction_record import encoded_values
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.consumers.alerts import AlertPublisher
from driftline.consumers.clients import make_worker_producer
from driftline.consumers.dead_letters import DeadLetterPublisher
from driftline.consumers.ports import RebalanceListener
from driftline.consumers.runner import checkpoint_codec, checkpoint_store, redis_sink, worker_config
from driftline.consumers.tasks import TaskStore
from driftline.consumers.worker import Worker
from driftline.core.errors import ConfigError
from driftline.core.events.records import InputRecord, Prediction
from driftline.core.task.fingerprint import config_fingerprint

__all__ = ["PredictionDigest", "RangeSource", "RerunResult", "rerun"]


class RangeSource:
    """The records ``[start, end)`` of each partition, in offset order, without a group."""

    def __init__(self, consumer: KafkaConsumer, topic: str, ranges: Mapping[int, tuple[int, int]]):
        self.consumer = consumer
        self.topic = topic
        self.ranges = dict(ranges)

    def _tp(self, partition: int) -> TopicPartition:
        return TopicPartition(self.topic, partition)

    def subscribe(self, listener: RebalanceListener) -> None:
        self.consumer.assign([self._tp(p) for p in sorted(self.ranges)])
        for partition, (start, _) in self.ranges.items():
            self.consumer.seek(self._tp(partition), start)
        listener.on_assigned(set(self.ranges))

    def poll(self, timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        batch = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        out: dict[int, list[InputRecord]] = {}
        for tp, records in batch.items():
            end = self.ranges[tp.partition][1]
            kept = [
                InputRecord(r.partition, r.offset, r.key, r.value, r.timestamp)
                for r in records
                if r.offset < end
            ]
            if kept:
                out[tp.partition] = kept
            if records and records[-1].offset >= end - 1:
                self.consumer.pause(tp)  # read to its end: nothing more is wanted
        return out

    def assignment(self) -> set[int]:
        return set(self.ranges)

    def beginning_offset(self, partition: int) -> int:
        """Where the replay begins: a fresh task starts there, not at the log's start."""
        return self.ranges[partition][0]

    def lags(self) -> dict[int, int]:
        return {
            p: max(0, end - self.consumer.position(self._tp(p)))
            for p, (_, end) in self.ranges.items()
        }

    def lag(self) -> int:
        return sum(self.lags().values())

    def seek(self, partition: int, offset: int) -> None:
        self.consumer.seek(self._tp(partition), offset)

    def commit(self, offsets: Mapping[int, int]) -> bool:
        return True  # no group: a replay takes nothing from the live workers

    def keepalive(self) -> None:
        pass  # no group membership to keep

    def close(self) -> None:
        self.consumer.close(autocommit=False)


@dataclass
class PredictionDigest:
    """Every prediction's stored values, digested in (partition, offset) order."""

    rows: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, predictions: Sequence[Prediction]) -> None:
        for p in predictions:
            label, probabilities, _, decision = encoded_values(p)
            threshold = "null" if p.threshold is None else repr(float(p.threshold))
            text = "\t".join(
                (p.key, p.event_id, label, probabilities, p.model, str(p.model_version))
                + (decision, threshold, p.config)
            )
            self.rows.append((p.partition, p.offset, text))

    def hexdigest(self) -> str:
        digest = hashlib.sha256()
        for partition, offset, text in sorted(self.rows):
            digest.update(f"{partition}\t{offset}\t{text}\n".encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class RerunResult:
    namespace: str
    ranges: dict[int, tuple[int, int]]
    records: int
    predictions: int
    dead_letters: int
    config: str
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "ranges": {str(p): list(r) for p, r in sorted(self.ranges.items())},
            "records": self.records,
            "predictions": self.predictions,
            "dead_letters": self.dead_letters,
            "config": self.config,
            "digest": self.digest,
        }


def resolve_ranges(
    consumer: KafkaConsumer,
    topic: str,
    partitions: Sequence[int] | None,
    start: int,
    end: int | None,
) -> dict[int, tuple[int, int]]:
    """``[max(start, oldest kept), min(end, the end now))`` of each partition asked for
    (default: every partition of the topic)."""
    known = sorted(consumer.partitions_for_topic(topic) or [])
    if not known:
        raise ConfigError(f"topic {topic} does not exist (or has no partition)")
    chosen = sorted(set(partitions)) if partitions else known
    unknown = [p for p in chosen if p not in known]
    if unknown:
        raise ConfigError(f"topic {topic} has no partition {unknown[0]} (it has {known})")
    tps = [TopicPartition(topic, p) for p in chosen]
    firsts, ends = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
    ranges = {}
    for tp in tps:
        low = max(start, int(firsts[tp]))
        high = int(ends[tp]) if end is None else min(end, int(ends[tp]))
        if high > low:
            ranges[tp.partition] = (low, high)
    if not ranges:
        raise ConfigError(f"no record of {topic} lies in offsets [{start}, {end or 'end'})")
    return ranges


def rerun(
    source_settings: Settings,
    settings: Settings,
    endpoints: Endpoints,
    *,
    partitions: Sequence[int] | None = None,
    start: int = 0,
    end: int | None = None,
    local_key: Any = None,
) -> RerunResult:
    """Re-run ``source_settings``' events topic, offsets ``[start, end)``, through a fresh
    worker with ``settings`` (their namespace: where every output goes, emptied first by
    the caller). Returns the counts and the digest of the predictions."""
    if settings.namespace == source_settings.namespace:
        raise ConfigError("a replay writes into its own namespace, not the one it reads")
    kafka = settings.kafka.at(endpoints.bootstrap)
    topic = source_settings.topics.events
    sealer = checkpoint_codec(settings.checkpoints, local_key)
    consumer = make_consumer(
        kafka,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",  # as the workers read
    )
    try:
        ranges = resolve_ranges(consumer, topic, partitions, start, end)
    except BaseException:  # nothing to replay: the worker that would close it never runs
        consumer.close(autocommit=False)
        raise
    source = RangeSource(consumer, topic, ranges)
    redis_client = make_redis(endpoints.redis_url, timeout_s=settings.redis.timeout_s)
    producer = make_worker_producer(kafka)
    digest = PredictionDigest()
    task_config = settings.task_config()
    config = worker_config(settings, idle_watermark_s=None)
    worker = Worker(
        source=source,
        tasks=TaskStore(
            checkpoint_store(settings.checkpoints, settings.namespace, redis_client),
            sealer,
            task_config,
            settings.namespace,
        ),
        sink=redis_sink(settings, redis_client),
        dead_letters=DeadLetterPublisher(producer, settings.topics.dead_letter, topic),
        ticks=None,
        alerts=AlertPublisher(producer, settings.topics.alerts),
        config=config,
        on_batch=lambda _worker, predictions: digest.add(predictions),
    )
    try:
        worker.run(threading.Event(), finished=lambda: source.lag() == 0)
    finally:
        producer.close(timeout=10)
        redis_client.close()
    return RerunResult(
        namespace=settings.namespace,
        ranges=ranges,
        records=worker.stats.records,
        predictions=worker.stats.predictions,
        dead_letters=worker.stats.dead_letters,
        config=config_fingerprint(task_config),
        digest=digest.hexdigest(),
    )
