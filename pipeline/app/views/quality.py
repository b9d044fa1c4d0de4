"""What ``driftline quality`` shows: the four dimensions of data quality, and the quality log."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from driftline.app.views.cells import cell

__all__ = ["quality_log_table", "quality_table"]


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
            cell(about["events"]),
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
                cell(f.get(name))
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
