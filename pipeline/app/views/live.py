"""The demo's live view: throughput, rolling accuracy, lateness, pending labels, redrawn
while the worker runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from driftline.app.views.cells import cell
from driftline.core.learning.metrics import merge_snapshots

if TYPE_CHECKING:  # the worker (its clients, River) only as a type: the views load quickly
    from driftline.consumers.worker import Worker

__all__ = ["LiveView", "live_panel"]


def live_panel(status: dict[str, Any], totals: dict[str, Any]) -> Group:
    """The demo's live view: throughput, rolling accuracy, lateness, pending labels."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(justify="right")
    for name, value in status.items():
        head.add_row(name, cell(value))
    counts = totals.get("counts", {})
    lateness = totals.get("lateness_seconds") or {}
    body = Table.grid(padding=(0, 2))
    body.add_column(style="bold")
    body.add_column(justify="right")
    for name in ("observations", "outcomes", "learned", "pending", "expired", "dead_letters"):
        body.add_row(name, cell(counts.get(name, 0)))
    for name in ("accuracy", "rolling_accuracy", "baseline_accuracy", "mae", "rolling_mae"):
        if name in totals or name.startswith("rolling") and totals.get(name) is not None:
            body.add_row(name, cell(totals.get(name)))
    body.add_row(
        "lateness p50 / p99 (s)", f"{cell(lateness.get('p50'))} / {cell(lateness.get('p99'))}"
    )
    return Group(head, body)


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
