"""Task metrics snapshots as Prometheus metric families (prometheus-client).

One function, :func:`task_families`, turns the snapshots a worker writes to Redis (the
``<ns>:metrics`` hash, :meth:`driftline.core.task.partition.PartitionTask.snapshot`) into metric
families, labelled by partition (and model, and dead-letter reason). The worker's own
exposition (``driftline consume --metrics-port``) and ``driftline serve``'s ``/metrics``
both use it, so a scrape of either names the same series the same way. Names follow
Prometheus's conventions: the ``driftline_`` prefix, ``_total`` for counters, base units
(seconds, bytes) in the name, ``_ratio`` for shares between 0 and 1.

Counters come from the tasks' checkpointed counts, so a partition's counter goes on from
where it was when another worker takes it over (its ``instance`` label changes). Every
series carries a ``namespace`` label, and each exposition a ``driftline_build_info``
(:mod:`driftline.adapters.prometheus_identity`).

>>> from prometheus_client.core import CollectorRegistry
>>> from prometheus_client.exposition import generate_latest
>>> snap = {"partition": 0, "kind": "classification", "counts": {"records": 3}, "scored": 0,
...         "dead_letters": {"schema": 1}, "lateness_buckets": [], "models": {}}
>>> text = generate_latest(SnapshotCollector(lambda: [snap])).decode()
>>> 'driftline_records_total{namespace="driftline",partition="0"} 3.0' in text
True
>>> 'driftline_dead_letters_total{namespace="driftline",partition="0",reason="schema"} 1.0' in text
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from driftline.adapters.prometheus_identity import build_info, with_namespace
from driftline.adapters.prometheus_models import ModelFamilies
from driftline.core.durations import DurationHistogram
from driftline.core.quality.figures import merge_quality

__all__ = [
    "DEFAULT_NAMESPACE",
    "LATENESS_TOP_S",
    "SnapshotCollector",
    "histogram_buckets",
    "task_families",
]

#: The namespace label of a collector not told one (the settings' default namespace).
DEFAULT_NAMESPACE = "driftline"

#: The largest finite ``le`` bucket of the lateness and latency histograms: one week.
#: Above it, values count in ``+Inf`` only (the snapshots' buckets go up to ~30 years).
LATENESS_TOP_S = 1e6

#: ``(counter name, the snapshot's count, help)``: every task counter worth a series.
_COUNTERS = (
    ("records", "records", "Records read from the events topic (events, not ticks)."),
    ("observations", "observations", "Observations (events to predict) accepted."),
    ("outcomes", "outcomes", "Outcomes (labels) accepted."),
    ("predictions", "predictions", "Predictions made and written to Redis."),
    ("labels_learned", "learned", "Labels learned from (prequentially scored first)."),
    ("labels_expired", "expired", "Predictions whose label never came within its wait."),
    (
        "labels_not_learned_late",
        "late_not_learned",
        "Labels of late observations scored but not learned (the contract's predict-only).",
    ),
    ("duplicates", "duplicates", "Records dropped as duplicates of an event id seen before."),
    ("refused", "refused", "Observations whose learning was refused (guarded values)."),
    ("alerts", "alerts", "Alerts raised: drift alarms, promotions and rollbacks."),
    ("drift_alarms", "drift_alarms", "Drift alarms raised (a detector's drift, not a warning)."),
    ("promotions", "promotions", "Challengers promoted to champion."),
    ("rollbacks", "rollbacks", "Rollbacks to an earlier checkpoint obeyed."),
    ("watermark_ticks", "watermark_ticks", "Watermark ticks read."),
)


def histogram_buckets(counts: list[int], top: float = LATENESS_TOP_S) -> list[tuple[str, int]]:
    """A snapshot's bucket counts as Prometheus ``le`` buckets (cumulative, ``+Inf`` last).

    >>> histogram_buckets([0] * 40, top=0.002)
    [('0.0', 0), ('0.001', 0), ('0.002', 0), ('+Inf', 0)]
    """
    return [
        ("+Inf" if math.isinf(bound) else repr(bound), seen)
        for bound, seen in DurationHistogram(counts).cumulative(top)
    ]


def task_families(
    snapshots: Iterable[dict[str, Any]],
    now: datetime | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> list[Metric]:
    """The metric families of these task snapshots (one labelled series per partition, and
    per model: :mod:`driftline.adapters.prometheus_models`), each series labelled with the
    ``namespace`` the tasks run in; ``now`` is the wall clock the watermark's lag is
    measured against (default: now)."""
    snaps = sorted(snapshots, key=lambda s: s.get("partition", -1))
    counters = {
        name: CounterMetricFamily(f"driftline_{name}", text, labels=["partition"])
        for name, _, text in _COUNTERS
    }
    dead = CounterMetricFamily(
        "driftline_dead_letters",
        "Records dead-lettered, by reason.",
        labels=["partition", "reason"],
    )
    pending = GaugeMetricFamily(
        "driftline_labels_pending", "Predictions waiting for their label.", labels=["partition"]
    )
    watermark = GaugeMetricFamily(
        "driftline_watermark_timestamp_seconds",
        "The task's watermark (event time), seconds since the Unix epoch.",
        labels=["partition"],
    )
    lateness = HistogramMetricFamily(
        "driftline_lateness_seconds",
        "Event time to broker ingest time of each observation (how late events arrive).",
        labels=["partition"],
    )
    latency = HistogramMetricFamily(
        "driftline_event_to_redis_latency_seconds",
        "Broker ingest time to the acknowledged Redis write of each prediction.",
        labels=["partition"],
    )
    models = ModelFamilies()
    quality = _QualityFamilies()
    wall = (now or datetime.now(UTC)).timestamp()
    for snap in snaps:
        partition = str(snap.get("partition", ""))
        counts = snap.get("counts", {})
        quality.add(partition, snap, wall)
        for name, key, _ in _COUNTERS:
            counters[name].add_metric([partition], counts.get(key, 0))
        for reason, n in sorted(snap.get("dead_letters", {}).items()):
            dead.add_metric([partition, reason], n)
        pending.add_metric([partition], counts.get("pending", 0))
        if snap.get("watermark"):
            watermark.add_metric([partition], datetime.fromisoformat(snap["watermark"]).timestamp())
        if snap.get("lateness_buckets"):
            lateness.add_metric(
                [partition],
                histogram_buckets(snap["lateness_buckets"]),
                snap.get("lateness_sum_s", 0.0),
            )
        if snap.get("latency_buckets"):
            latency.add_metric(
                [partition],
                histogram_buckets(snap["latency_buckets"]),
                snap.get("latency_sum_s", 0.0),
            )
        models.add(partition, snap.get("models") or {}, snap)
    families: list[Metric] = [*counters.values(), dead, pending, watermark, lateness, latency]
    return with_namespace(families + models.families() + quality.families(), namespace)


class _QualityFamilies:
    """The data-quality families: findings per dimension and rule, a score per
    dimension, missing values per feature, lateness per source, the watermark's lag."""

    def __init__(self) -> None:
        self.findings = CounterMetricFamily(
            "driftline_quality_findings",
            "Data-quality findings, by dimension and rule (docs/contracts.md).",
            labels=["partition", "dimension", "rule"],
        )
        self.flagged = CounterMetricFamily(
            "driftline_quality_records_flagged",
            "Records with at least one finding of the dimension.",
            labels=["partition", "dimension"],
        )
        self.score = GaugeMetricFamily(
            "driftline_quality_score_ratio",
            "Share of records with no finding of the dimension (completeness with a "
            "contract: share of declared values present).",
            labels=["partition", "dimension"],
        )
        self.missing = CounterMetricFamily(
            "driftline_missing_values",
            "Missing values of a feature the data contract declares.",
            labels=["partition", "feature"],
        )
        self.sources = HistogramMetricFamily(
            "driftline_source_lateness_seconds",
            "Event time to broker ingest time, per source (the contract's source feature).",
            labels=["partition", "source"],
        )
        self.lag = GaugeMetricFamily(
            "driftline_watermark_lag_seconds",
            "How far the task's watermark trails the wall clock at the scrape.",
            labels=["partition"],
        )

    def add(self, partition: str, snap: dict[str, Any], wall: float) -> None:
        if snap.get("watermark"):
            lag = wall - datetime.fromisoformat(snap["watermark"]).timestamp()
            self.lag.add_metric([partition], lag)
        raw = snap.get("quality")
        if not raw:
            return
        records = snap.get("counts", {}).get("records", 0)
        merged = merge_quality([raw], records)
        for dimension, about in merged["dimensions"].items():
            for rule, n in about["rules"].items():
                self.findings.add_metric([partition, dimension, rule], n)
            self.flagged.add_metric([partition, dimension], about["events"])
            if about["score"] is not None:
                self.score.add_metric([partition, dimension], about["score"])
        for feature, rules in merged["features"].items():
            if rules.get("missing"):
                self.missing.add_metric([partition, feature], rules["missing"])
        for source, hist in merged["sources"].items():
            self.sources.add_metric(
                [partition, source], histogram_buckets(hist["buckets"]), hist["sum_s"]
            )

    def families(self) -> list[Metric]:
        return [self.findings, self.flagged, self.score, self.missing, self.sources, self.lag]


class SnapshotCollector(Collector):
    """A collector of :func:`task_families` over the snapshots ``snapshots()`` gives at
    each scrape (a worker's tasks, or what Redis holds), and ``driftline_build_info``,
    every series labelled with ``namespace``."""

    def __init__(
        self,
        snapshots: Callable[[], Iterable[dict[str, Any]]],
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        self._snapshots = snapshots
        self.namespace = namespace

    def collect(self) -> Iterator[Metric]:
        yield build_info(self.namespace)
        yield from task_families(self._snapshots(), namespace=self.namespace)
