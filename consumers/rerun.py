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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka.range_source import open_range_source
from driftline.adapters.prediction_record import encoded_values
from driftline.adapters.settings import Settings
from driftline.consumers.runner import WorkerBuilder, worker_config
from driftline.core.errors import ConfigError
from driftline.core.events.records import Prediction
from driftline.core.task.fingerprint import config_fingerprint

__all__ = ["PredictionDigest", "RerunResult", "rerun"]


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
    builder = WorkerBuilder(settings, endpoints, local_key=local_key)
    topic = source_settings.topics.events
    source = open_range_source(builder.kafka, topic, partitions, start, end)
    digest = PredictionDigest()
    with builder.worker(
        lambda: source,
        worker_config(settings, idle_watermark_s=None),
        source_topic=topic,
        on_batch=lambda _worker, predictions: digest.add(predictions),
    ) as worker:
        worker.run(threading.Event(), finished=lambda: source.lag() == 0)
    return RerunResult(
        namespace=settings.namespace,
        ranges=source.ranges,
        records=worker.stats.records,
        predictions=worker.stats.predictions,
        dead_letters=worker.stats.dead_letters,
        config=config_fingerprint(worker.store.config),
        digest=digest.hexdigest(),
    )
