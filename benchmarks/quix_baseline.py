"""The Quix Streams baseline: driftline's job written as a Quix Streams 3 application.

What a user would write instead of driftline, the way Quix's docs show it: an
:class:`~quixstreams.Application` on the events topic with a custom value deserializer
(the worker's Confluent-framed schemaless Avro, decoded like the lean loop's), a
``StreamingDataFrame`` whose stateful ``apply`` keeps each observation's feature vector in
Quix's RocksDB state (keyed by the record key, the entity; under the observation's event
id) until its outcome arrives, and a ``BatchingSink`` that writes the predictions to Redis
at each checkpoint, one pipelined ``HSET`` per key per batch like the lean loop's
``{prefix}:{key}`` hashes.

On an observation the same River model as the other baselines (built like theirs, fed the
same vectors) predicts, and the prediction goes to the sink; on its outcome the model
learns the stored vector and the state entry is deleted. Quix's defaults stay on (a
5 s commit interval, at-least-once, a changelog topic for the state); only the consumer's
fetch sizes are set, to the lean loop's. The run stops through ``on_message_processed``
and :meth:`Application.stop` once ``total`` records were processed; the time runs from the
first record to the last prediction written (start-up and group join excluded, as for
the other baselines).

Quix Streams is the ``[bench]`` extra, imported only when :func:`quix_pipeline` runs;
:func:`available` says whether it is installed.

>>> job = _Job(*_fake_model())
>>> job.step((1, {"event_id": "e1", "key": "k", "features": {"x": 1.0}}), 1000, _FakeState())
{'key': 'k', 'event_id': 'e1', 'proba': {True: 0.5}}
>>> job.pending, job.learned
(1, 0)
>>> job.step((2, {"event_id": "e1", "label": True}), 2000, job_state := _FakeState(
...     {"e1": [{"x": 1.0}, None]})) is None, job.learned, job_state.values
(True, 1, {})
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from driftline.adapters.kafka_clients import admin_client
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.adapters.topics import delete_topics

from .baselines import _EPOCH, Run, _Decoder, _models, _observation
from .workloads import Workload

__all__ = ["QuixRun", "available", "quix_pipeline"]

#: The lean loop's fetch sizes (``benchmarks.baselines._consumer``), in librdkafka's names.
FETCH_CONFIG = {
    "fetch.max.bytes": 32 * 1024 * 1024,
    "max.partition.fetch.bytes": 8 * 1024 * 1024,
}


def available() -> bool:
    """Whether Quix Streams (the ``[bench]`` extra) is installed."""
    return importlib.util.find_spec("quixstreams") is not None


@dataclass(frozen=True)
class QuixRun(Run):
    """A :class:`Run` with what the model did: outcomes learned, vectors still waiting."""

    learned: int = 0
    pending: int = 0


class _Job:
    """The stateful step: predict on an observation, learn on its outcome.

    ``step`` is the stateful ``apply``'s callback (value, timestamp and the record key's
    :class:`~quixstreams.state.State`); it returns the prediction to write, or ``None``.
    """

    def __init__(self, model: Any, featurizer: Any) -> None:
        self.model, self.featurizer = model, featurizer
        self.learned = 0
        self.pending = 0
        self.first: float | None = None
        self.last = 0.0

    def step(self, value: tuple[int, dict[str, Any]], timestamp: int, state: Any) -> Any:
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last = now
        schema_id, fields = value
        if schema_id == 1:
            obs = _observation(fields)
            x, groups = self.featurizer.build(obs, _EPOCH + timedelta(milliseconds=timestamp))
            proba = self.model.predict_proba_one(x)
            state.set(obs.event_id, [x, groups])
            self.pending += 1
            return {"key": obs.key, "event_id": obs.event_id, "proba": proba}
        event_id = fields["event_id"]
        found = state.get(event_id)
        if found is not None:
            x, groups = found
            self.model.learn_one(x, fields["label"])
            self.featurizer.learned(groups, fields["label"])
            state.delete(event_id)
            self.pending -= 1
            self.learned += 1
        return None


def _deserializer(decode: _Decoder) -> Any:
    """A Quix value ``Deserializer``: ``(schema id, fields)`` of each record."""
    from quixstreams.models.serializers import Deserializer

    class AvroEvents(Deserializer):
        def __call__(self, value: bytes, ctx: Any) -> tuple[int, dict[str, Any]]:
            return decode(value)

    return AvroEvents()


def _sink(redis_url: str, prefix: str) -> Any:
    """A Quix ``BatchingSink`` writing each key's latest prediction of a batch as a hash
    (its probabilities serialized there: once per key and batch, not per record)."""
    from quixstreams.sinks import BatchingSink

    class RedisHashes(BatchingSink):
        def __init__(self) -> None:
            super().__init__()
            self.client: Any = None
            self.written_at = 0.0
            self.writes = 0

        def setup(self) -> None:
            self.client = make_redis(redis_url)
            self.client.ping()

        def write(self, batch: Any) -> None:
            latest = {item.value["key"]: item.value for item in batch}
            pipe = self.client.pipeline(transaction=False)
            for key, prediction in latest.items():
                proba = prediction["proba"]
                pipe.hset(
                    f"{prefix}:{key}",
                    mapping={
                        "event_id": prediction["event_id"],
                        "probabilities": json.dumps({str(k): v for k, v in proba.items()}),
                    },
                )
            pipe.execute()
            self.writes += len(latest)
            self.written_at = time.perf_counter()

    return RedisHashes()


def quix_pipeline(settings: Settings, total: int, prefix: str, workload: Workload) -> QuixRun:
    """driftline's job on Quix Streams 3: state until the outcome, predict, learn, sink.

    Reads ``settings.topics.events`` from the start with a fresh consumer group and a state
    directory of its own (removed after, with the changelog topic); stops after ``total``
    records, leaving the process's signal handlers as they were. ``workload`` names the run
    (its records must already be on the topic).
    """
    from quixstreams import Application
    from quixstreams.kafka.configuration import ConnectionConfig

    from driftline.adapters.confluent_clients import client_config

    group = f"bench-quix-{workload.name}-{uuid.uuid4().hex[:8]}"
    job = _Job(*_one_model(settings))
    sink = _sink(settings.redis.url.get_secret_value(), prefix)  # type: ignore[union-attr]
    seen = 0

    def processed(_topic: str, _partition: int, _offset: int) -> None:
        nonlocal seen
        seen += 1
        if seen >= total:
            app.stop()

    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    state_dir = tempfile.mkdtemp(prefix="driftline-quix-")
    try:
        app = Application(
            # the bootstrap servers, TLS and SASL of the confluent lean loop's consumer
            broker_address=ConnectionConfig.from_librdkafka_dict(
                client_config(settings.kafka), ignore_extras=True
            ),
            consumer_group=group,
            auto_offset_reset="earliest",
            consumer_extra_config=dict(FETCH_CONFIG),
            state_dir=state_dir,
            on_message_processed=processed,
            loglevel="WARNING",
        )
        topic = app.topic(
            settings.topics.events,
            key_deserializer="bytes",
            value_deserializer=_deserializer(_Decoder()),
        )
        sdf = app.dataframe(topic)
        sdf = sdf.apply(
            lambda value, _key, timestamp, _headers, state: job.step(value, timestamp, state),
            stateful=True,
            metadata=True,
        )
        sdf = sdf.filter(lambda prediction: prediction is not None)
        sdf.sink(sink)
        app.run()
    finally:  # Quix leaves its SIGINT and SIGTERM handlers (stopping this app) installed
        for number, handler in handlers.items():
            signal.signal(number, handler)
        shutil.rmtree(state_dir, ignore_errors=True)
        _drop_changelogs(settings, group)
        if sink.client is not None:
            sink.client.close()
    last = max(job.last, sink.written_at)
    return QuixRun(seen, last - (job.first or last), job.learned, job.pending)


def _drop_changelogs(settings: Settings, group: str) -> None:
    """Delete the changelog topics Quix made for this run's consumer group."""
    with admin_client(settings.kafka) as admin:
        delete_topics(admin, [t for t in admin.list_topics() if group in t])


def _one_model(settings: Settings) -> tuple[Any, Any]:
    """The task's one model and its features, as the other baselines build them (the
    Quix job runs on the synthetic workloads, which have no challenger)."""
    models, featurizer = _models(settings)
    if len(models) != 1:
        raise ValueError(f"the Quix baseline runs one model, the workload has {len(models)}")
    return models[0], featurizer


def _fake_model() -> tuple[Any, Any]:
    """A model and featurizer standing in for River's (for the doctest)."""

    class Model:
        def predict_proba_one(self, x: dict[str, Any]) -> dict[Any, float]:
            return {True: 0.5}

        def learn_one(self, x: dict[str, Any], y: Any) -> None:
            pass

    class Featurizer:
        def build(self, obs: Any, ingest: Any) -> tuple[dict[str, Any], Any]:
            return dict(obs.features), None

        def learned(self, groups: Any, label: Any) -> None:
            pass

    return Model(), Featurizer()


class _FakeState:
    """A dict standing in for Quix's ``State`` (for the doctest)."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)
