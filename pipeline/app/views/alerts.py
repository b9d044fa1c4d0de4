"""What ``driftline alerts`` shows: drift alarms, promotions and rollbacks, newest first."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from driftline.app.views.cells import cell

__all__ = ["alerts_table"]


def alerts_table(alerts: list[dict[str, Any]]) -> Table:
    """Alerts, newest first: what, which detector, when in event time, and what was done."""
    table = Table(title="alerts (newest first)")
    for name in ("event_time", "partition", "kind", "subject", "signal", "detector", "action"):
        table.add_column(name)
    table.add_column("evidence")
    for alert in alerts:
        evidence = ", ".join(
            f"{k}={cell(v)}" for k, v in sorted((alert.get("statistic") or {}).items())
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
