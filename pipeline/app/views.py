"""Terminal views (rich): the metrics table and the demo's live panel."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from driftline.consumers.worker import Worker
from driftline.core.learning.metrics import COUNTERS, merge_snapshots

__all__ = [
    "LiveView",
    "alerts_table",
    "demo_summary",
    "live_panel",
    "metrics_table",
    "models_table",
    "quality_log_table",
    "quality_table",
    "series_table",
]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


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
        table.add_row(name, *[_fmt(c.get(name)) for c in columns])
    for name in _COUNTS:
        table.add_row(name, *[_fmt(c.get("counts", {}).get(name, 0)) for c in columns])
    for q in ("p50", "p99"):
        table.add_row(
            f"lateness {q} (s)",
            *[_fmt((c.get("lateness_seconds") or {}).get(q)) for c in columns],
        )
    for q in ("p50", "p99"):
        table.add_row(
            f"event to Redis {q} (s)",
            *[_fmt((c.get("latency_seconds") or {}).get(q)) for c in columns],
        )
    reasons = sorted({r for c in columns for r in c.get("dead_letters", {})})
    for reason in reasons:
        table.add_row(
            f"dead letter: {reason}",
            *[_fmt(c.get("dead_letters", {}).get(reason, 0)) for c in columns],
        )
    for decision in ("decision", "argmax", "majority"):
        if any(c.get("cost_per_1000") for c in columns):
            table.add_row(
                f"cost per 1,000: {decision}",
                *[_fmt((c.get("cost_per_1000") or {}).get(decision)) for c in columns],
            )
    return table


def quality_table(total: dict[str, Any]) -> Table | None:
    """The four dimensions of data quality at a glance (``None``: nothing to show yet)."""
    quality = total.get("quality")
    if not quality:
        return None
    table = Table(title="data quality (a score is the share of records with no finding)")
    table.add_column("dimension")
    table.add_column("score", justify="right")
    table.add_column("records flagged", justify="right")
    table.add_column("per minute", justify="right")
    table.add_column("findings by rule")
    per_minute = quality.get("per_minute", {})
    for dimension, about in quality["dimensions"].items():
        rate = sum(n for name, n in per_minute.items() if name.startswith(f"{dimension}/"))
        rules = ", ".join(f"{rule} {n:,}" for rule, n in about["rules"].items()) or "-"
        score = about["score"]
        table.add_row(
            dimension,
            "-" if score is None else f"{100 * score:.2f}%",
            _fmt(about["events"]),
            f"{rate:,.1f}",
            rules,
        )
    labels = quality.get("labels")
    if labels and labels.get("coverage") is not None:
        table.add_row(
            "label coverage",
            f"{100 * labels['coverage']:.2f}%",
            "",
            "",
            f"learned {labels['learned']:,}, pending {labels['pending']:,}, expired "
            f"{labels['expired']:,} (label came later {labels['expired_label_came_later']:,}, "
            f"never sent {labels['expired_never_sent']:,})",
        )
    missing = sorted(
        (
            (rules["missing"], name)
            for name, rules in quality["features"].items()
            if rules.get("missing")
        ),
        reverse=True,
    )
    if missing:
        shown = ", ".join(f"{name} {n:,}" for n, name in missing[:8])
        table.add_row("missing values", "", "", "", shown + (" ..." if len(missing) > 8 else ""))
    if total.get("watermark_lag_s") is not None:
        table.add_row(
            "watermark lag", "", "", "", f"{total['watermark_lag_s']:,.1f} s behind the wall clock"
        )
    return table


def quality_log_table(findings: list[dict[str, Any]]) -> Table:
    """The newest findings of the quality log, one row each."""
    table = Table(title="quality log (newest first)")
    for column in (
        "partition",
        "offset",
        "event id",
        "kind",
        "dimension",
        "rule",
        "feature",
        "action",
    ):
        table.add_column(column)
    for f in findings:
        table.add_row(
            *[
                _fmt(f.get(name))
                for name in (
                    "partition",
                    "offset",
                    "event_id",
                    "kind",
                    "dimension",
                    "rule",
                    "feature",
                    "action",
                )
            ]
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
            _fmt(scores.get("accuracy", scores.get("mae"))),
            _fmt(scores.get("roc_auc")),
            _fmt(scores.get("log_loss")),
            _fmt(cost),
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
                _window_name(float(length)),
                model,
                point["start"],
                _fmt(point["n"]),
                _fmt(point.get("accuracy", point.get("mae"))),
                _fmt(point.get("roc_auc")),
                _fmt(point.get("log_loss")),
                costs,
            )
    return table


def _window_name(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size:g} {unit}"
    return f"{seconds:g} s"


def alerts_table(alerts: list[dict[str, Any]]) -> Table:
    """Alerts, newest first: what, which detector, when in event time, and what was done."""
    table = Table(title="alerts (newest first)")
    for name in ("event_time", "partition", "kind", "subject", "signal", "detector", "action"):
        table.add_column(name)
    table.add_column("evidence")
    for alert in alerts:
        evidence = ", ".join(
            f"{k}={_fmt(v)}" for k, v in sorted((alert.get("statistic") or {}).items())
        )
        table.add_row(
            str(alert.get("event_time")),
            str(alert["partition"]),
            alert["kind"],
            alert["subject"],
            alert["signal"],
            alert["detector"],
            alert["action"],
            evidence,
        )
    return table


def live_panel(status: dict[str, Any], totals: dict[str, Any]) -> Group:
    """The demo's live view: throughput, rolling accuracy, lateness, pending labels."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(justify="right")
    for name, value in status.items():
        head.add_row(name, _fmt(value))
    counts = totals.get("counts", {})
    lateness = totals.get("lateness_seconds") or {}
    body = Table.grid(padding=(0, 2))
    body.add_column(style="bold")
    body.add_column(justify="right")
    for name in ("observations", "outcomes", "learned", "pending", "expired", "dead_letters"):
        body.add_row(name, _fmt(counts.get(name, 0)))
    for name in ("accuracy", "rolling_accuracy", "baseline_accuracy", "mae", "rolling_mae"):
        if name in totals or name.startswith("rolling") and totals.get(name) is not None:
            body.add_row(name, _fmt(totals.get(name)))
    body.add_row(
        "lateness p50 / p99 (s)", f"{_fmt(lateness.get('p50'))} / {_fmt(lateness.get('p99'))}"
    )
    return Group(head, body)


def demo_summary(summary: dict[str, Any]) -> Group:
    """The demo's closing table (counts that add up, the model against the baseline),
    under the warnings that must be read first (learning held back by lateness)."""
    lines = [Text(f"WARNING: {w}", style="bold red") for w in summary.get("warnings") or []]
    return Group(*lines, _summary_table(summary))


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="driftline demo: a year of NYC flights, predicted then learned")
    table.add_column("")
    table.add_column("", justify="right")
    for name in (
        "observations",
        "predictions",
        "outcomes",
        "learned",
        "pending",
        "expired",
        "dead_letters",
    ):
        table.add_row(name, _fmt(summary[name]))
    metrics = summary["metrics"]
    for name in (
        "accuracy",
        "baseline_accuracy",
        "majority_share",
        "roc_auc",
        "log_loss",
        "precision",
        "recall",
        "f1",
    ):
        table.add_row(name, _fmt(metrics.get(name)))
    by = summary.get("beats_majority_by")
    verdict = (
        "-"
        if by is None
        else (f"+{by * 100:.2f} points" if by > 0 else f"{by * 100:.2f} points (does not beat it)")
    )
    table.add_row("vs always predicting the majority", verdict)
    lateness = summary.get("lateness_seconds") or {}
    table.add_row(
        "lateness p50 / p99 (s)", f"{_fmt(lateness.get('p50'))} / {_fmt(lateness.get('p99'))}"
    )
    costs = (summary.get("costs") or {}).get("per_1000_decisions")
    if costs:
        matrix = summary["costs"]["cost_matrix"]
        table.add_section()
        table.add_row(
            "cost per 1,000 decisions",
            f"(a missed delay {matrix['false_negative']:g}, a false alarm "
            f"{matrix['false_positive']:g})",
        )
        table.add_row("  cost-aware decision", _fmt(costs["decision"]))
        table.add_row("  most likely class (argmax)", _fmt(costs["argmax"]))
        table.add_row("  always the majority", _fmt(costs["majority"]))
    models = summary.get("models") or {}
    if len(models) > 1:
        table.add_section()
        for name, model in models.items():
            where = ",".join(f"p{p}" for p in model["champion_in"]) or "no partition"
            cost = (model.get("cost_per_1000") or {}).get("decision")
            table.add_row(
                f"model {name} (champion in {where})",
                f"ROC AUC {_fmt(model.get('roc_auc'))}, cost {_fmt(cost)}",
            )
        promotions = summary.get("promotions") or []
        table.add_row("promotions", _fmt(len(promotions)))
        for p in promotions[:5]:
            table.add_row(f"  {p['flight_date']} p{p['partition']}", f"-> {p['subject']}")
    drift = summary.get("drift")
    if drift:
        table.add_section()
        table.add_row("drift alarms (warnings)", f"{drift['drifts']:,} ({drift['warnings']:,})")
        for subject, n in list(drift["by_subject"].items())[:6]:
            table.add_row(f"  {subject}", _fmt(n))
        for alarm in drift["first"][:4]:
            table.add_row(
                f"  {alarm['flight_date']} p{alarm['partition']} {alarm['kind']}",
                f"{alarm['subject']} ({alarm['detector']}, action {alarm['action']})",
            )
    quality = summary.get("quality")
    if quality:
        table.add_section()
        for name, d in quality["dimensions"].items():
            rules = ", ".join(f"{rule} {n:,}" for rule, n in d["rules"].items()) or "no finding"
            score = "-" if d["score"] is None else f"{100 * d['score']:.2f}%"
            table.add_row(f"data {name}", f"{score} ({rules})")
    faults = summary.get("faults")
    if faults:
        table.add_section()
        verdict = "met" if faults["passed"] else "NOT met"
        table.add_row("injected faults caught", f"targets (>= 99%, <= 1% false) {verdict}")
        for name, d in faults["dimensions"].items():
            caught = d["caught_share"]
            table.add_row(
                f"  {name}",
                f"{d['caught']:,} of {d['injected']:,} caught "
                f"({'-' if caught is None else f'{100 * caught:.2f}%'}), "
                f"false alarms {d['false_alarms']:,} ({100 * d['false_share']:.3f}%)",
            )
        table.add_row("  ground truth", faults["ground_truth"])
    worker = summary["worker"]
    table.add_section()
    table.add_row("worker records/s", _fmt(worker["records_per_s"]))
    table.add_row("elapsed (s)", _fmt(summary["elapsed_s"]))
    return table


class LiveView:
    """The demo's live panel, redrawn at most every ``interval_s`` whatever the batch rate."""

    def __init__(
        self,
        console: Console,
        started: float,
        interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.live = Live(console=console, refresh_per_second=4, transient=False)
        self.started = started
        self.interval_s = interval_s
        self.clock = clock
        self.drawn_at: float | None = None
        self.draws = 0

    def start(self) -> None:
        self.live.start()

    def stop(self) -> None:
        self.live.stop()

    def on_batch(self, worker: Worker, _predictions: list[Any]) -> None:
        """The worker's batch callback: redraw when the interval has passed."""
        now = self.clock()
        if self.drawn_at is not None and now - self.drawn_at < self.interval_s:
            return
        self.drawn_at = now
        self.draws += 1
        status = {
            "elapsed s": round(now - self.started, 1),
            "records": worker.stats.records,
            "records/s": round(worker.stats.rate),
            "partitions": ",".join(str(p) for p in sorted(worker.partitions_seen)),
        }
        self.live.update(live_panel(status, merge_snapshots(worker.snapshots())))
