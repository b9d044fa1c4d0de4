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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from driftline.adapters.endpoints import Endpoints, resolve_endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.app.namespace import prepare_namespace
from driftline.app.summary import FlightClock, summarize
from driftline.app.views import LiveView
from driftline.consumers.runner import run_worker, worker_config
from driftline.core.errors import DriftlineError
from driftline.producers.fault_score import score_faults
from driftline.producers.faults import read_truth
from driftline.producers.flights import flight_events
from driftline.read.reader import PredictionsClient
from driftline.stack import LocalStack

__all__ = [
    "DEFAULT_SPEED",
    "INJECT_SPEED",
    "DemoOptions",
    "demo_settings",
    "fault_report",
    "run_demo",
]

#: A year of flights in about two minutes.
DEFAULT_SPEED = 365 * 24 * 3600 / 120
#: With faults injected, a year in four: the worker is the slower side either way (about
#: five minutes for the year), and a producer at half the pace leaves it more of the CPU.
INJECT_SPEED = DEFAULT_SPEED / 2

#: The demo's challenger: the default model, learning four times faster (it adapts
#: sooner to a change, at the price of noisier weights).
DEMO_CHALLENGERS = {
    "fast": (
        "(compose.SelectType(float, int) | preprocessing.StandardScaler())"
        " + (compose.SelectType(str) | preprocessing.OneHotEncoder())"
        " | linear_model.LogisticRegression(optimizer=optim.SGD(0.02))"
    )
}


@dataclass(frozen=True)
class DemoOptions:
    limit: int | None = None
    speed: float = DEFAULT_SPEED
    #: How late events reach Kafka, in flight time: a few minutes on average, at most an
    #: hour (on the warped clock: these divided by ``speed``). Delays of days would have the
    #: demo predict flights long after they landed.
    delay_mean_world_s: float = 10 * 60.0
    delay_max_world_s: float = 3600.0
    pending_ttl_world_s: float = 2 * 24 * 3600.0
    live: bool = True
    #: The data contract the worker applies (a file or a built-in name; ``None``: none).
    contract: str | None = "flights"
    #: Faults to inject (``"all=0.01"``, see :mod:`driftline.producers.faults`), their seed
    #: (default: the settings' seed) and where the ground truth goes.
    inject: str | None = None
    inject_seed: int | None = None
    ground_truth: Path | None = None

    @property
    def delay_mean_s(self) -> float:
        """The mean arrival delay on the warped clock (what the producer draws)."""
        return self.delay_mean_world_s / self.speed

    @property
    def delay_max_s(self) -> float:
        return self.delay_max_world_s / self.speed

    @property
    def flight_day_s(self) -> float:
        """A day of flight time on the warped clock, in whole microseconds (so a week is
        exactly seven of them, and the producer can start the clock on a week's edge)."""
        return round(24 * 3600 * 1_000_000 / self.speed) / 1_000_000


def demo_settings(settings: Settings, options: DemoOptions) -> Settings:
    """The worker settings the demo runs with, and why (each override is the replay's)."""
    return settings.with_overrides(
        # Event times are warped onto the wall clock, so their calendar is not the world's;
        # the flights carry their local schedule (hour, weekday, month) as features.
        calendar_features=False,
        # Keyed by aircraft: the plane's own recent outcomes (a late plane stays late), and
        # those of its origin, carrier, route and destination, each as learned so far.
        history_groups=("key", "origin", "carrier", "route", "dest"),
        # A prediction waits two days of flight time for its label, on the warped clock.
        pending_ttl_s=options.pending_ttl_world_s / options.speed,
        # A missed delay costs five times a false alarm (Machine Learning Design Patterns,
        # ch. 1): the decision follows the costs, with its threshold tuned as labels come.
        cost_false_negative=5.0,
        cost_false_positive=1.0,
        # A challenger learns the same stream; the better one over 5,000 labels serves.
        challengers=dict(DEMO_CHALLENGERS),
        promote_window=5000,
        promote_margin=0.05,
        # The late share compared between the same windows (a detector on the 0/1 stream
        # alarmed at every stormy day: 505 times in the year).
        drift_labels="PSI",
        # Feature shares compared over windows of 5,000 observations (two weeks of a
        # partition's flights): weekday and weather cycles shorter than that average out.
        drift_category_window=5000,
        # Scores per flight day and flight week, on the warped clock.
        metric_windows_s=(options.flight_day_s, 7 * options.flight_day_s),
        # Arrivals are up to delay_max late: the watermark waits that long (a contract
        # that says how late the stream may be overrides it).
        allowed_lateness_s=options.delay_max_s,
        # The flights' data contract (pipeline/contracts/flights.toml), its durations in
        # flight time on the warped clock (two hours of lateness are 27 ms of it): the
        # events topic keeps each record's scheduled arrival (kafka_timestamps="replay"),
        # so lateness is the replayed delay, exact however busy the machine is.
        contract=options.contract,
        contract_time_scale=options.speed,
        kafka_timestamps="replay",
        # With faults injected, the quality log keeps every finding for the report.
        quality_log_maxlen=2_000_000 if options.inject else None,
    )


def _producer_command(settings: Settings, options: DemoOptions) -> list[str]:
    # Keyed by aircraft (tail number), so Redis holds each plane's latest prediction.
    command = [sys.executable, "-m", "driftline", "produce", "flights", "--key-by", "tailnum"]
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
    clock = FlightClock(
        origin=next(flight_events(limit=1)).observation.event_time,
        rebase_to=datetime.fromisoformat(published["rebase_to"]),
        speed=float(published["time_scale"]),
    )
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
        summary["faults"] = fault_report(reader, options.ground_truth, published)
    return summary


def fault_report(
    reader: PredictionsClient, truth_path: Path, published: dict[str, Any]
) -> dict[str, Any]:
    """What the worker caught of the faults the producer injected, per dimension, and its
    false alarms on the clean flights (findings from the quality log, read whole)."""
    truth = read_truth(truth_path)
    findings = [
        (f["event_id"], f["kind"], f["dimension"], f["rule"])
        for f in _whole_quality_log(reader)
        if f["event_id"] is not None
    ]
    injected = published.get("injected", {})
    flights = (
        published["observations"] - injected.get("duplicate", 0) - injected.get("near-duplicate", 0)
    )
    faulted = {row.event_id for row in truth if row.fault != "near-duplicate"}
    score = score_faults(truth, findings, clean_events=flights - len(faulted))
    return score.to_json() | {
        "passed": score.passed(),
        "ground_truth": str(truth_path),
        "clean_flights": flights - len(faulted),
        "findings": len(findings),
    }


def _whole_quality_log(reader: PredictionsClient, page: int = 10_000) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = "0"
    while True:
        entries = reader.quality_log(page, after)
        found += entries
        if len(entries) < page:
            return found
        after = entries[-1]["id"]
