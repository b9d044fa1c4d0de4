"""The demo: stack, fresh topics, a year of flights replayed live, the worker, a summary.

This is composition, like :mod:`pipeline.app.cli`: it starts ``driftline produce flights``
as a child process (the producer gets its own core and its own interpreter), runs the
worker in this process until the stream is drained, shows a live view, and reads the
final metrics back from Redis, as any application would.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.live import Live

from consumers.runner import run_worker, worker_config
from consumers.worker import Worker
from consumers.reader import PredictionsClient
from pipeline.adapters.endpoints import Endpoints, resolve_endpoints
from pipeline.core.errors import DriftlineError
from pipeline.core.metrics import merge_snapshots
from pipeline.adapters.redis_clients import make_redis
from pipeline.adapters.redis_keys import RedisKeys
from pipeline.adapters.settings import Settings
from pipeline.stack import LocalStack
from pipeline.adapters.topics import prepare_topics
from pipeline.app.views import live_panel

__all__ = ["DemoOptions", "run_demo"]

log = logging.getLogger(__name__)

#: A year of flights in about two minutes.
DEFAULT_SPEED = 365 * 24 * 3600 / 120


@dataclass(frozen=True)
class DemoOptions:
    limit: int | None = None
    speed: float = DEFAULT_SPEED
    delay_mean_s: float = 1.0
    delay_max_s: float = 10.0
    pending_ttl_world_s: float = 2 * 24 * 3600.0
    live: bool = True


def demo_settings(settings: Settings, options: DemoOptions) -> Settings:
    """The worker settings the demo runs with, and why (each override is the replay's)."""
    return settings.with_overrides(
        # Event times are warped onto the wall clock, so their calendar is not the world's;
        # the flights carry their local schedule (hour, weekday, month) as features.
        calendar_features=False,
        history_groups=("key", "carrier", "dest"),
        # A prediction waits two days of flight time for its label, on the warped clock.
        pending_ttl_s=options.pending_ttl_world_s / options.speed,
        # Arrivals are up to delay_max late: the watermark waits that long.
        allowed_lateness_s=options.delay_max_s,
        idle_watermark_s=None,
    )


def _fresh(settings: Settings, endpoints: Endpoints) -> None:
    prepare_topics(settings, endpoints.bootstrap, fresh=True)
    client = make_redis(endpoints.redis_url)
    try:
        prefix = RedisKeys(settings.namespace)
        doomed = [prefix.metrics, prefix.predictions_stream]
        doomed += list(client.scan_iter(match=prefix.prediction_pattern, count=1000))
        for start in range(0, len(doomed), 500):
            client.unlink(*doomed[start : start + 500])
    finally:
        client.close()


def _producer_command(settings: Settings, options: DemoOptions) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "produce",
        "flights",
        "--namespace",
        settings.namespace,
        "--speed",
        repr(options.speed),
        "--rebase",
        "--delay-mean",
        repr(options.delay_mean_s),
        "--delay-max",
        repr(options.delay_max_s),
        "--seed",
        str(settings.seed),
        "--json",
    ]
    if options.limit is not None:
        command += ["--limit", str(options.limit)]
    return command


def run_demo(settings: Settings, options: DemoOptions, console: Console) -> dict[str, Any]:
    """Run the whole demo and return its summary."""
    if not (settings.kafka.bootstrap and settings.redis.url):
        with console.status("starting the local stack (the first run fetches Kafka)..."):
            LocalStack(settings.stack).up()
    endpoints = resolve_endpoints(settings)
    _fresh(settings, endpoints)
    worker_settings = demo_settings(settings, options)
    env = os.environ | {
        "DRIFTLINE_KAFKA_BOOTSTRAP": endpoints.bootstrap,
        "DRIFTLINE_REDIS_URL": endpoints.redis_url,
    }
    started = time.monotonic()
    producer = subprocess.Popen(
        _producer_command(settings, options),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stop = threading.Event()
    client = PredictionsClient(make_redis(endpoints.redis_url), settings.namespace)
    live = Live(console=console, refresh_per_second=4, transient=False) if options.live else None
    last_view = [0.0]

    def on_batch(worker: Worker, _predictions: list[Any]) -> None:
        now = time.monotonic()
        if now - last_view[0] < 0.5:
            return
        last_view[0] = now
        totals = _merge_tasks(worker)
        status = {
            "elapsed s": round(now - started, 1),
            "records": worker.stats.records,
            "records/s": round(worker.stats.rate),
            "partitions": ",".join(str(p) for p in sorted(worker.partitions_seen)),
        }
        if live is not None:
            live.update(live_panel(status, totals))
        elif now - last_view[0] < 0.6 and worker.stats.batches % 50 == 0:
            log.info("%s records, %.0f/s", worker.stats.records, worker.stats.rate)

    def drained(worker: Worker) -> bool:
        if producer.poll() is None:
            return False
        if producer.returncode != 0:
            stop.set()
            return True
        return bool(worker.consumer.assignment()) and worker.lag() == 0

    config = worker_config(worker_settings, idle_watermark_s=None)
    try:
        if live is not None:
            live.start()
        worker = run_worker(worker_settings, endpoints, config, stop, on_batch, drained)
    finally:
        if live is not None:
            live.stop()
        if producer.poll() is None:
            producer.terminate()
        out, err = producer.communicate(timeout=60)
    if producer.returncode != 0:
        raise DriftlineError(f"the flights producer failed:\n{err.strip()[-2000:]}")
    published = json.loads(out.strip().splitlines()[-1])
    metrics = client.metrics()
    return summarize(published, metrics, worker, time.monotonic() - started)


def _merge_tasks(worker: Worker) -> dict[str, Any]:
    return merge_snapshots(worker.snapshots())


def summarize(
    published: dict[str, Any], metrics: dict[str, Any], worker: Worker, elapsed_s: float
) -> dict[str, Any]:
    """The demo's summary: counts that add up, the model against the majority baseline."""
    total = metrics["total"]
    counts = total.get("counts", {})
    accuracy = total.get("accuracy")
    baseline = total.get("baseline_accuracy")
    majority = total.get("majority_share")
    return {
        "observations": counts.get("observations", 0),
        "outcomes": counts.get("outcomes", 0),
        "predictions": counts.get("predictions", 0),
        "learned": counts.get("learned", 0),
        "pending": counts.get("pending", 0),
        "expired": counts.get("expired", 0),
        "duplicates": counts.get("duplicates", 0),
        "dead_letters": counts.get("dead_letters", 0),
        "dead_letters_by_kind": {
            "observation": counts.get("dead_letters_observation", 0),
            "outcome": counts.get("dead_letters_outcome", 0),
            "undecodable": counts.get("dead_letters", 0)
            - counts.get("dead_letters_observation", 0)
            - counts.get("dead_letters_outcome", 0),
        },
        "lateness_seconds": total.get("lateness_seconds"),
        "metrics": {
            name: total.get(name)
            for name in (
                "accuracy",
                "rolling_accuracy",
                "baseline_accuracy",
                "majority_share",
                "precision",
                "recall",
                "f1",
                "roc_auc",
                "log_loss",
            )
        },
        "beats_majority_by": (
            round(accuracy - max(baseline, majority), 4)
            if None not in (accuracy, baseline, majority)
            else None
        ),
        "published": {
            k: published[k]
            for k in ("published", "observations", "outcomes", "out_of_order", "elapsed_s")
        },
        "worker": {
            "records": worker.stats.records,
            "records_per_s": round(worker.stats.rate, 1),
            "partitions": sorted(worker.partitions_seen),
        },
        "elapsed_s": round(elapsed_s, 1),
    }
