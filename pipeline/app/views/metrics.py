"""What ``driftline metrics`` shows: totals and each task, each model, and the metrics over
event time."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from driftline.app.views.cells import cell, window_name
from driftline.core.learning.metrics import COUNTERS

__all__ = ["metrics_table", "models_table", "series_table"]

_SCORES = {
    "classification": [
        "accuracy",
        "rolling_accuracy",
        "baseline_accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "log_loss",
    ],
    "regression": ["mae", "rolling_mae", "baseline_mae", "rmse", "r2"],
}
_COUNTS = [name for name in COUNTERS if not name.startswith("dead_letters_")]


def metrics_table(data: dict[str, Any]) -> Table:
    """Totals and each task side by side."""
    total = data["total"]
    tasks = data["tasks"]
    table = Table(title="driftline metrics (prequential: scored before learning)")
    table.add_column("metric")
    table.add_column("total", justify="right")
    for partition in tasks:
        table.add_column(f"p{partition}", justify="right")
    columns = [total, *tasks.values()]
    for name in _SCORES.get(total.get("kind", "classification"), []):
        table.add_row(name, *[cell(c.get(name)) for c in columns])
    for name in _COUNTS:
        table.add_row(name, *[cell(c.get("counts", {}).get(name, 0)) for c in columns])
    for q in ("p50", "p99"):
        table.add_row(
            f"lateness {q} (s)",
            *[cell((c.get("lateness_seconds") or {}).get(q)) for c in columns],
        )
    for q in ("p50", "p99"):
        table.add_row(
            f"event to Redis {q} (s)",
            *[cell((c.get("latency_seconds") or {}).get(q)) for c in columns],
        )
    reasons = sorted({r for c in columns for r in c.get("dead_letters", {})})
    for reason in reasons:
        table.add_row(
            f"dead letter: {reason}",
            *[cell(c.get("dead_letters", {}).get(reason, 0)) for c in columns],
        )
    for decision in ("decision", "argmax", "majority"):
        if any(c.get("cost_per_1000") for c in columns):
            table.add_row(
                f"cost per 1,000: {decision}",
                *[cell((c.get("cost_per_1000") or {}).get(decision)) for c in columns],
            )
    return table


def models_table(models: dict[str, dict[str, Any]]) -> Table:
    """Each model's own prequential scores, over every task, and where it is champion."""
    table = Table(title="models (each scored on the same labels)")
    for name in ("model", "champion in", "accuracy", "roc_auc", "log_loss", "cost/1000"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for name, model in models.items():
        scores = model["scores"]
        cost = (scores.get("cost_per_1000") or {}).get("decision")
        champion = ",".join(f"p{p}" for p in model["champion_in"]) or "-"
        table.add_row(
            name,
            champion,
            cell(scores.get("accuracy", scores.get("mae"))),
            cell(scores.get("roc_auc")),
            cell(scores.get("log_loss")),
            cell(cost),
        )
    return table


def series_table(series: dict[str, list[dict[str, Any]]]) -> Table:
    """The metrics time series: one row per closed event-time window and model."""
    table = Table(title="metrics over event time (one row per window)")
    for name in ("window", "model", "start", "labels", "accuracy", "roc_auc", "log_loss"):
        table.add_column(name, justify="right" if name not in ("model", "start") else "left")
    table.add_column("cost/1000 decision / argmax / majority", justify="right")
    for name, points in series.items():
        length, _, model = name.partition(":")
        for point in points:
            cost = point.get("cost_per_1000")
            costs = (
                f"{cost['decision']:,.0f} / {cost['argmax']:,.0f} / {cost['majority']:,.0f}"
                if cost
                else "-"
            )
            table.add_row(
                window_name(float(length)),
                model,
                point["start"],
                cell(point["n"]),
                cell(point.get("accuracy", point.get("mae"))),
                cell(point.get("roc_auc")),
                cell(point.get("log_loss")),
                costs,
            )
    return table
