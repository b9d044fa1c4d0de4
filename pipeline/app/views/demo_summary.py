"""The demo's closing summary: the warnings to read first, then one table in sections:
counts and scores, costs, models, drift, data quality, injected faults, the worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from driftline.app.views.cells import cell

__all__ = ["demo_summary"]

#: What the summary counts, in the order shown.
COUNTS = (
    "observations",
    "predictions",
    "outcomes",
    "learned",
    "pending",
    "expired",
    "dead_letters",
)
#: The model's scores shown, in order.
SCORES = (
    "accuracy",
    "baseline_accuracy",
    "majority_share",
    "roc_auc",
    "log_loss",
    "precision",
    "recall",
    "f1",
)

#: A section: adds its rows to the table, or nothing when the summary has none of it.
Section = Callable[[Table, dict[str, Any]], None]


def demo_summary(summary: dict[str, Any]) -> Group:
    """The demo's closing table (counts that add up, the model against the baseline),
    under the warnings that must be read first (learning held back by lateness)."""
    lines = [Text(f"WARNING: {w}", style="bold red") for w in summary.get("warnings") or []]
    return Group(*lines, summary_table(summary))


def summary_table(summary: dict[str, Any]) -> Table:
    """The summary's table, section after section."""
    table = Table(title="driftline demo: a year of NYC flights, predicted then learned")
    table.add_column("")
    table.add_column("", justify="right")
    sections: tuple[Section, ...] = (
        counts_and_scores,
        costs,
        models,
        drift,
        data_quality,
        faults,
        worker,
    )
    for section in sections:
        section(table, summary)
    return table


def counts_and_scores(table: Table, summary: dict[str, Any]) -> None:
    """Counts that add up, the model's scores, the margin over the majority, lateness and
    the event-to-Redis latency."""
    for name in COUNTS:
        table.add_row(name, cell(summary[name]))
    metrics = summary["metrics"]
    for name in SCORES:
        table.add_row(name, cell(metrics.get(name)))
    by = summary.get("beats_majority_by")
    verdict = (
        "-"
        if by is None
        else (f"+{by * 100:.2f} points" if by > 0 else f"{by * 100:.2f} points (does not beat it)")
    )
    table.add_row("vs always predicting the majority", verdict)
    lateness = summary.get("lateness_seconds") or {}
    table.add_row(
        "lateness p50 / p99 (s)", f"{cell(lateness.get('p50'))} / {cell(lateness.get('p99'))}"
    )
    # interpolated within their histogram bucket, as Prometheus's histogram_quantile does
    latency = summary.get("event_to_redis_seconds") or {}
    table.add_row(
        "event to Redis p50 / p99 (s)",
        f"{cell(latency.get('p50'))} / {cell(latency.get('p99'))}",
    )


def costs(table: Table, summary: dict[str, Any]) -> None:
    """Cost per 1,000 decisions: cost-aware, argmax and always the majority."""
    per_1000 = (summary.get("costs") or {}).get("per_1000_decisions")
    if not per_1000:
        return
    matrix = summary["costs"]["cost_matrix"]
    table.add_section()
    table.add_row(
        "cost per 1,000 decisions",
        f"(a missed delay {matrix['false_negative']:g}, a false alarm "
        f"{matrix['false_positive']:g})",
    )
    table.add_row("  cost-aware decision", cell(per_1000["decision"]))
    table.add_row("  most likely class (argmax)", cell(per_1000["argmax"]))
    table.add_row("  always the majority", cell(per_1000["majority"]))


def models(table: Table, summary: dict[str, Any]) -> None:
    """With challengers: each model, where it is champion, and the promotions."""
    by_name = summary.get("models") or {}
    if len(by_name) <= 1:
        return
    table.add_section()
    for name, model in by_name.items():
        where = ",".join(f"p{p}" for p in model["champion_in"]) or "no partition"
        cost = (model.get("cost_per_1000") or {}).get("decision")
        table.add_row(
            f"model {name} (champion in {where})",
            f"ROC AUC {cell(model.get('roc_auc'))}, cost {cell(cost)}",
        )
    promotions = summary.get("promotions") or []
    table.add_row("promotions", cell(len(promotions)))
    for p in promotions[:5]:
        table.add_row(f"  {p['flight_date']} p{p['partition']}", f"-> {p['subject']}")


def drift(table: Table, summary: dict[str, Any]) -> None:
    """Drift alarms and warnings, by subject, and the first alarms."""
    found = summary.get("drift")
    if not found:
        return
    table.add_section()
    table.add_row("drift alarms (warnings)", f"{found['drifts']:,} ({found['warnings']:,})")
    for subject, n in list(found["by_subject"].items())[:6]:
        table.add_row(f"  {subject}", cell(n))
    for alarm in found["first"][:4]:
        table.add_row(
            f"  {alarm['flight_date']} p{alarm['partition']} {alarm['kind']}",
            f"{alarm['subject']} ({alarm['detector']}, action {alarm['action']})",
        )


def data_quality(table: Table, summary: dict[str, Any]) -> None:
    """Each dimension of data quality: its score and its findings by rule."""
    quality = summary.get("quality")
    if not quality:
        return
    table.add_section()
    for name, d in quality["dimensions"].items():
        rules = ", ".join(f"{rule} {n:,}" for rule, n in d["rules"].items()) or "no finding"
        score = "-" if d["score"] is None else f"{100 * d['score']:.2f}%"
        table.add_row(f"data {name}", f"{score} ({rules})")


def faults(table: Table, summary: dict[str, Any]) -> None:
    """With ``--inject``: what the worker caught of each dimension, against the targets."""
    injected = summary.get("faults")
    if not injected:
        return
    table.add_section()
    verdict = "met" if injected["passed"] else "NOT met"
    table.add_row("injected faults caught", f"targets (>= 99%, <= 1% false) {verdict}")
    for name, d in injected["dimensions"].items():
        caught = d["caught_share"]
        table.add_row(
            f"  {name}",
            f"{d['caught']:,} of {d['injected']:,} caught "
            f"({'-' if caught is None else f'{100 * caught:.2f}%'}), "
            f"false alarms {d['false_alarms']:,} ({100 * d['false_share']:.3f}%)",
        )
    table.add_row("  ground truth", injected["ground_truth"])


def worker(table: Table, summary: dict[str, Any]) -> None:
    """The worker's rate and the demo's elapsed time."""
    table.add_section()
    table.add_row("worker records/s", cell(summary["worker"]["records_per_s"]))
    table.add_row("elapsed (s)", cell(summary["elapsed_s"]))
