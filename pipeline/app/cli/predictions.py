"""``driftline predictions`` and ``driftline metrics``: what the worker wrote to Redis.

The answer (a table, JSON) goes to standard output; the tables' modules are imported when
a command prints one.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from driftline.app.cli.alert_kind import AlertKind
from driftline.app.cli.common import Json, Namespace, emit_json, refuse_without
from driftline.app.cli.services import services_of
from driftline.app.logs import stderr, stdout

__all__ = ["predictions_app", "show_alerts", "show_metrics", "show_quality"]

predictions_app = typer.Typer(help="Read predictions from Redis.")


@predictions_app.command("get")
def predictions_get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="the entity key")],
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """The latest prediction for KEY (exit 1 when there is none)."""
    from rich.table import Table

    found = services_of(ctx, namespace).predictions.get(key)
    if found is None:
        stderr.print(f"no prediction for {key!r}")
        raise typer.Exit(1)
    if as_json:
        emit_json(found.to_dict())
        return
    table = Table(title=f"prediction for {key}", show_header=False)
    for name, value in found.to_dict().items():
        table.add_row(name, str(value))
    stdout.print(table)


@predictions_app.command("watch")
def predictions_watch(
    ctx: typer.Context,
    from_start: Annotated[bool, typer.Option(help="from the oldest kept prediction")] = False,
    count: Annotated[int | None, typer.Option(min=1, help="stop after N predictions")] = None,
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """Follow the predictions stream as the worker writes it (Ctrl-C to stop)."""
    client = services_of(ctx, namespace).predictions
    seen = 0
    try:
        for entry in client.follow(from_start=from_start):
            row = entry.to_dict()
            if as_json:
                emit_json(row)
            else:
                positive = entry.positive_probability
                scores = (
                    f"p={row['probabilities']}" if positive is None else f"p(positive)={positive}"
                )
                sys.stdout.write(
                    f"{row['event_time']} {row['key']:<12} {row['event_id']} "
                    f"prediction={json.dumps(row['prediction'])} {scores} "
                    f"v{row['model_version']}\n"
                )
                sys.stdout.flush()
            seen += 1
            if count is not None and seen >= count:
                break
    except KeyboardInterrupt:
        pass


def show_metrics(
    ctx: typer.Context,
    history: Annotated[
        bool, typer.Option("--history", help="the time series: one row per event-time window")
    ] = False,
    window: Annotated[
        float | None, typer.Option(min=0.001, help="with --history: only this window (s)")
    ] = None,
    model: Annotated[str | None, typer.Option(help="with --history: only this model")] = None,
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """The models' prequential metrics: totals, per model and per task (--history: over
    event time, one point per closed window)."""
    from driftline.app.views import metrics_table, models_table, quality_table, series_table

    refuse_without(ctx, "window", "history", history)
    refuse_without(ctx, "model", "history", history)
    client = services_of(ctx, namespace).predictions
    if history:
        series = client.series(window, model)
        if as_json:
            emit_json({"series": series})
            return
        stdout.print(series_table(series))
        if not series:
            stdout.print("no closed window yet: a window closes when a later label arrives")
        return
    data = client.metrics()
    if as_json:
        emit_json(data)
        return
    stdout.print(metrics_table(data))
    if len(data.get("models", {})) > 1:
        stdout.print(models_table(data["models"]))
    quality = quality_table(data["total"])
    if quality is not None:
        stdout.print(quality)


def show_alerts(
    ctx: typer.Context,
    count: Annotated[int, typer.Option(min=1, help="how many, newest first")] = 50,
    kind: Annotated[AlertKind | None, typer.Option(help="only alerts of this kind")] = None,
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """Drift alarms, promotions and rollbacks, with their evidence (newest first)."""
    from driftline.app.views import alerts_table

    alerts = services_of(ctx, namespace).predictions.alerts(
        count, None if kind is None else kind.value
    )
    if as_json:
        emit_json({"alerts": alerts})
        return
    stdout.print(alerts_table(alerts))


def show_quality(
    ctx: typer.Context,
    log: Annotated[
        int, typer.Option(min=0, help="also show the newest N findings of the quality log")
    ] = 20,
    as_json: Json = False,
    namespace: Namespace = None,
) -> None:
    """Data quality in four dimensions: scores, findings by rule, missing values, label
    coverage, lateness per source, and the newest findings (the quality log)."""
    from driftline.app.views import quality_log_table, quality_table

    client = services_of(ctx, namespace).predictions
    total = client.metrics()["total"]
    findings = client.quality_log(log) if log else []
    if as_json:
        emit_json(
            {
                "quality": total.get("quality"),
                "watermark_lag_s": total.get("watermark_lag_s"),
                "log": findings,
            }
        )
        return
    table = quality_table(total)
    if table is None:
        stdout.print("no task has written metrics yet")
        return
    stdout.print(table)
    if findings:
        stdout.print(quality_log_table(findings))
