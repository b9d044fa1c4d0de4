"""The demo: stack, fresh topics and state, flights replayed live, the worker, a summary.

Composition only: it starts ``driftline produce flights`` as a child process (the producer
gets its own core and interpreter), runs the worker here until the replay has ended and
every partition is read to its end, shows the live view, and reads the final metrics
back from Redis, as any application would. The pieces it wires are tested on their own:
:func:`~driftline.app.namespace.prepare_namespace`, :class:`~driftline.app.views.LiveView`,
:meth:`~driftline.consumers.worker.Worker.run` (``finished``),
:func:`~driftline.app.summary.summarize`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from driftline.adapters.endpoints import Endpoints, resolve_endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.app.namespace import prepare_namespace
from driftline.app.summary import summarize
from driftline.app.views import LiveView
from driftline.consumers.runner import run_worker, worker_config
from driftline.core.errors import DriftlineError
from driftline.producers.faults import read_truth
from driftline.producers.flights import (
    DEFAULT_SPEED,
    DEMO_KEY_BY,
    INJECT_SPEED,
    DemoOptions,
    FlightClock,
    demo_settings,
    fault_report,
    require_demo_extra,
)
from driftline.read.reader import PredictionsClient
from driftline.stack import LocalStack

__all__ = ["DEFAULT_SPEED", "INJECT_SPEED", "DemoOptions", "run_demo"]


def _producer_command(settings: Settings, options: DemoOptions) -> list[str]:
    command = [sys.executable, "-m", "driftline", "produce", "flights", "--key-by", DEMO_KEY_BY]
    command += ["--namespace", settings.namespace, "--speed", repr(options.speed), "--rebase"]
    # The warped clock starts on a flight week's edge: the daily and weekly windows then
    # hold the same flights in every run (their starts follow the wall clock otherwise).
    command += ["--rebase-align", repr(7 * options.flight_day_s)]
    command += ["--delay-mean", repr(options.delay_mean_s)]
    command += ["--delay-max", repr(options.delay_max_s), "--seed", str(settings.seed), "--json"]
    if options.limit is not None:
        command += ["--limit", str(options.limit)]
    if options.inject:
        seed = settings.seed if options.inject_seed is None else options.inject_seed
        command += ["--inject", options.inject, "--inject-seed", str(seed)]
        # late faults beyond the flights contract's lateness (flight time, the default)
        command += ["--ground-truth", str(options.ground_truth)]
    return command


def run_demo(
    settings: Settings,
    options: DemoOptions,
    console: Console,
    on_ready: Callable[[Endpoints], None] | None = None,
) -> dict[str, Any]:
    """Run the whole demo and return its summary. ``on_ready`` is called with the
    services once the namespace is fresh, before any event is published (``--serve``
    starts the dashboard there)."""
    # The replay's clock: each record keeps its scheduled arrival as its timestamp, so
    # what is late (and so what is learned) does not depend on how busy the machine is.
    settings = settings.with_overrides(kafka_timestamps="replay")
    require_demo_extra("driftline demo")  # before anything starts
    stack = LocalStack(settings.stack)
    if not (settings.kafka.bootstrap and settings.redis.url):
        with console.status("starting the local stack (the first run fetches Kafka)..."):
            stack.up()
    endpoints = resolve_endpoints(settings.kafka, settings.redis, stack.endpoints)
    prepare_namespace(settings, endpoints, fresh=True)
    if on_ready is not None:
        on_ready(endpoints)
    env = os.environ | {
        "DRIFTLINE_KAFKA_BOOTSTRAP": endpoints.bootstrap,
        "DRIFTLINE_REDIS_URL": endpoints.redis_url,
        "DRIFTLINE_KAFKA_TIMESTAMPS": "replay",
    }
    started = time.monotonic()
    producer = subprocess.Popen(
        _producer_command(settings, options),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    view = LiveView(console, started) if options.live else None
    worker_settings = demo_settings(settings, options)
    config = worker_config(worker_settings)
    try:
        if view is not None:
            view.start()
        worker = run_worker(
            worker_settings,
            endpoints,
            config,
            threading.Event(),
            on_batch=view.on_batch if view is not None else None,
            finished=lambda: producer.poll() is not None,
            local_key=stack.checkpoint_key if endpoints.source == "local-stack" else None,
        )
    finally:
        if view is not None:
            view.stop()
        if producer.poll() is None:
            producer.terminate()
        out, err = producer.communicate(timeout=60)
    if producer.returncode != 0:
        raise DriftlineError(f"the flights producer failed:\n{err.strip()[-2000:]}")
    published = json.loads(out.strip().splitlines()[-1])
    reader = PredictionsClient(make_redis(endpoints.redis_url), settings.namespace)
    from driftline.producers.flights.events import first_departure  # pandas: the extra

    clock = FlightClock.of_replay(published, origin=first_departure())
    summary = summarize(
        published,
        reader.metrics(),
        worker,
        time.monotonic() - started,
        alerts=reader.alerts(count=100_000),
        series=reader.series(),
        clock=clock,
    )
    if options.inject and options.ground_truth is not None:
        truth = read_truth(options.ground_truth)
        log = _whole_quality_log(reader)
        summary["faults"] = fault_report(truth, log, published, options.ground_truth)
    return summary


def _whole_quality_log(reader: PredictionsClient, page: int = 10_000) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = "0"
    while True:
        entries = reader.quality_log(page, after)
        found += entries
        if len(entries) < page:
            return found
        after = entries[-1]["id"]
