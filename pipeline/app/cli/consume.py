"""``driftline consume``: the online worker."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from driftline.app.cli.common import Json, Namespace, emit_json, refuse_without
from driftline.app.cli.services import services_of
from driftline.app.logs import stdout

__all__ = ["FEATURES_HELP", "MODEL_HELP", "consume"]

#: ``--model`` of consume and replay (DRIFTLINE_MODEL).
MODEL_HELP = (
    "River expression, or module:attr imported from the working directory: a River "
    "estimator object (each partition and challenger learns its own clone) or a "
    "factory returning one, called with no argument or seed= (DRIFTLINE_MODEL)"
)
#: ``--features`` of consume and replay (DRIFTLINE_FEATURES).
FEATURES_HELP = (
    "module:function imported from the working directory, f(observation) -> dict: its "
    "output is what is predicted on, kept pending and learned, in place of the built-in "
    "feature steps (DRIFTLINE_FEATURES)"
)

log = logging.getLogger("driftline")


def consume(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    features: Annotated[str | None, typer.Option(help=FEATURES_HELP)] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the model (DRIFTLINE_SEED)")] = None,
    raw_features: Annotated[
        bool | None, typer.Option("--raw-features", help="no derived features")
    ] = None,
    max_events: Annotated[int | None, typer.Option(min=1, help="stop after N records")] = None,
    until_idle: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="stop after this many seconds without records while holding partitions "
            "and caught up",
        ),
    ] = None,
    pending_ttl: Annotated[
        float | None, typer.Option(help="event-time seconds a prediction waits for its label")
    ] = None,
    contract: Annotated[
        str | None,
        typer.Option(
            help="the stream's data contract: a TOML or YAML file, or 'flights' "
            "(DRIFTLINE_CONTRACT); see docs/contracts.md",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            envvar="DRIFTLINE_METRICS_PORT",
            help="serve Prometheus metrics on this port (/metrics) while consuming",
        ),
    ] = None,
    metrics_host: Annotated[
        str,
        typer.Option(
            envvar="DRIFTLINE_METRICS_HOST",
            help="the address the metrics port binds (0.0.0.0 in a container)",
        ),
    ] = "127.0.0.1",
    source: Annotated[
        Path | None,
        typer.Option(
            help="read your own topics, as this TOML or YAML file describes them "
            "(topics, format, field mapping: docs/sources.md); default: the namespace's "
            "events topic",
        ),
    ] = None,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            help="run N worker processes in one consumer group (one core each), stopped "
            "together by a signal; their summaries merged",
        ),
    ] = 1,
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """Join the consumer group: predict on every observation, learn on every outcome."""
    refuse_without(ctx, "metrics_host", "metrics_port", metrics_port is not None)
    from driftline.adapters.source_files import load_source
    from driftline.app.signals import stop_on_signals
    from driftline.consumers.process_tuning import limit_allocator
    from driftline.consumers.runner import (
        checked_task_config,
        checkpoint_codec,
        run_worker,
        worker_config,
    )
    from driftline.consumers.sourced import IngestAwareSource, start_ingest

    limit_allocator()  # before any client starts a thread: see driftline.consumers.process_tuning
    spec = None if source is None else load_source(source)  # a mistake: refused first
    services = services_of(
        ctx,
        namespace,
        model=model,
        features=features,
        seed=seed,
        raw_features=raw_features,
        pending_ttl_s=pending_ttl,
        contract=contract,
    )
    settings, endpoints, key = services.settings, services.endpoints, services.local_key
    checkpoint_codec(settings.checkpoints, key)  # no key: refused before anything starts
    checked_task_config(settings)  # nor a model, features or contract that cannot be made
    config = worker_config(settings, max_events=max_events, until_idle_s=until_idle)
    if processes > 1:  # checked above, as one worker's would be; each process reads again
        _run_processes(processes, metrics_port, as_json)
        return
    with stop_on_signals() as stop, ExitStack() as stages:  # signals: before the log lines
        ingest = None
        if spec is not None:
            ingest = stages.enter_context(start_ingest(settings, endpoints, spec, stop))
        log.info("consuming %s from %s", settings.topics.events, endpoints.describe())
        worker = run_worker(
            settings,
            endpoints,
            config,
            stop,
            local_key=key,
            metrics_port=metrics_port,
            metrics_host=metrics_host,
            exit_on_stall=True,
            wrap_source=None if ingest is None else partial(IngestAwareSource, ingest=ingest),
        )
    summary = worker.stats.to_dict() | {"partitions": sorted(worker.partitions_seen)}
    if ingest is not None:
        summary["ingest"] = ingest.stats.to_dict()
    _print(summary, as_json)


def _run_processes(count: int, metrics_port: int | None, as_json: bool) -> None:
    """``--processes N``: this command N times over (see
    :mod:`driftline.app.worker_processes`); the merged summary, the first failure's status."""
    import sys

    from driftline.app.worker_processes import WorkerProcesses, merged, worker_argv

    argv = sys.argv[1:]
    commands = [worker_argv(argv, index, metrics_port) for index in range(count)]
    log.info("consuming with %s worker processes", count)
    status, summaries = WorkerProcesses(commands).run()
    _print(merged(summaries), as_json)
    if status:
        raise typer.Exit(status)


def _print(summary: dict[str, object], as_json: bool) -> None:
    if as_json:
        emit_json(summary)
    else:
        stdout.print(summary)
