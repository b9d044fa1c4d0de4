"""A worker's Prometheus exposition: ``driftline consume --metrics-port P``, which also
answers the probes ``/livez`` and ``/readyz`` (:mod:`driftline.consumers.health`).

At each scrape, :class:`WorkerCollector` reads the worker's tasks (their snapshots, as
:mod:`driftline.adapters.prometheus` names them) and the worker's own figures: the consumer
lag per partition, the batch and checkpoint durations as histograms, the checkpoints'
sizes, outages and retries; ``driftline_build_info``, and every series labelled with the
worker's namespace. Nothing is counted twice: the collector reads what the loop
keeps anyway, in the scrape's thread (the loop asks Kafka for the lag itself, every
``WorkerConfig.lag_interval_s``, since a Kafka consumer serves one thread).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import ProcessCollector, make_wsgi_app
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

from driftline.adapters.prometheus import histogram_buckets, task_families
from driftline.adapters.prometheus_identity import build_info, with_namespace
from driftline.consumers.health import WorkerHealth
from driftline.consumers.worker import Worker

__all__ = ["WorkerCollector", "serve_worker_metrics", "worker_registry"]

log = logging.getLogger(__name__)

#: The largest finite ``le`` bucket of the batch and checkpoint durations: ten minutes.
_DURATION_TOP_S = 600.0


class WorkerCollector(Collector):
    """The worker's tasks and loop, as Prometheus metric families."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        namespace = self.worker.store.namespace
        yield build_info(namespace)
        yield from task_families(self.worker.snapshots(), namespace=namespace)
        yield from with_namespace(self._loop_families(), namespace)

    def _loop_families(self) -> Iterator[Metric]:
        """The worker's own figures: lag, durations, checkpoints, outages, waiting."""
        stats = self.worker.stats
        lag = GaugeMetricFamily(
            "driftline_consumer_lag_records",
            "Records between the worker's position and the end of each partition it holds.",
            labels=["partition"],
        )
        for partition, behind in sorted(dict(stats.lags).items()):
            lag.add_metric([str(partition)], behind)
        yield lag
        yield _histogram(
            "driftline_worker_batch_duration_seconds",
            "Wall time of one batch: tasks, Redis, alerts and dead letters written.",
            stats.batch_seconds.counts,
            stats.batch_s,
        )
        yield _histogram(
            "driftline_worker_checkpoint_duration_seconds",
            "Wall time of one checkpoint: sealing and storing a task's state.",
            stats.checkpoint_seconds.counts,
            stats.checkpoint_s,
        )
        size = GaugeMetricFamily(
            "driftline_worker_checkpoint_size_bytes",
            "Size of the last checkpoint of each partition (sealed).",
            labels=["partition"],
        )
        for partition, n in sorted(dict(stats.checkpoint_sizes).items()):
            size.add_metric([str(partition)], n)
        yield size
        for name, value, text in (
            ("batches", stats.batches, "Batches processed."),
            ("checkpoints", stats.checkpoints, "Checkpoints stored."),
            ("outages", stats.outages, "Outages of Kafka or Redis waited out."),
            ("retries", stats.retries, "Retries made while waiting out outages."),
            (
                "redis_full",
                stats.redis_full,
                "Times Redis was full (maxmemory under noeviction): the batch held until "
                "memory freed.",
            ),
            ("redis_refused", stats.redis_refused, "Predictions Redis refused (dead-lettered)."),
            (
                "fetch_stalls",
                stats.fetch_stalls,
                "Times a partition with records behind was fetched nothing for "
                "DRIFTLINE_STALL_S: the Kafka consumer was renewed.",
            ),
        ):
            yield CounterMetricFamily(f"driftline_worker_{name}", text, value=value)
        yield GaugeMetricFamily(
            "driftline_worker_partitions",
            "Partitions this worker holds now.",
            value=len(self.worker.tasks),
        )
        waiting = GaugeMetricFamily(
            "driftline_worker_waiting_seconds",
            "How long the worker has waited for what it names (a service being retried, "
            "a Kafka call past DRIFTLINE_STALL_S, a partition assignment, records of a partition "
            "the consumer no longer fetches); absent: nothing.",
            labels=["waiting_for"],
        )
        awaited = self.worker.waiting()
        if awaited is not None:
            waiting.add_metric([awaited[0]], round(awaited[1], 3))
        yield waiting


def _histogram(name: str, text: str, counts: list[int], total: float) -> Metric:
    family = HistogramMetricFamily(name, text)
    family.add_metric([], histogram_buckets(counts, top=_DURATION_TOP_S), total)
    return family


def worker_registry(worker: Worker) -> CollectorRegistry:
    """A registry of the worker's collector and this process's CPU, memory and files."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkerCollector(worker))
    ProcessCollector(registry=registry)
    return registry


def serve_worker_metrics(
    worker: Worker, port: int, host: str = "127.0.0.1", *, live_s: float | None = None
) -> Any:
    """Serve ``/metrics``, ``/livez`` and ``/readyz`` for ``worker`` on ``host:port`` in a
    daemon thread; return the server (its ``shutdown()`` stops it; its ``server_port`` is
    the port, for port 0). ``live_s``: how long the loop may not turn before ``/livez``
    fails (default twice the Kafka call limit, ``DRIFTLINE_STALL_S``: past it the
    watchdog reports the call)."""
    limit = live_s if live_s is not None else 2 * worker.config.stall_s
    health = WorkerHealth(worker, live_s=limit)
    app = _with_health(make_wsgi_app(worker_registry(worker)), health)

    class Server(ThreadingWSGIServer):
        address_family = _family(host, port)

    server = make_server(host, port, app, Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="driftline-metrics", daemon=True).start()
    log.info("Prometheus metrics on http://%s:%s/metrics", host, server.server_port)
    return server


def _with_health(metrics: Any, health: WorkerHealth) -> Any:
    """A WSGI app answering ``/livez`` and ``/readyz`` from ``health``, the rest ``metrics``."""
    probes = {"/livez": health.livez, "/readyz": health.readyz}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        probe = probes.get(environ.get("PATH_INFO", ""))
        if probe is None:
            return metrics(environ, start_response)
        status, body = probe()
        payload = json.dumps(body).encode()
        phrase = "200 OK" if status == 200 else "503 Service Unavailable"
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response(phrase, headers)
        return [payload]

    return app


def _family(host: str, port: int) -> socket.AddressFamily:
    """IPv6 for an IPv6 address (``::``), else IPv4."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)
    return infos[0][0] if infos else socket.AF_INET


class _Quiet(WSGIRequestHandler):
    """No line on stderr per request (a probe every few seconds would flood the log)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        return
