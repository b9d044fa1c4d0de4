"""The demo summary's warnings: learning held back by lateness is said first, with the
share of labels not learned."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console

from driftline.app.summary import warnings
from driftline.app.views import demo_summary
from tests.unit.core.task.test_partition_quality import at


def test_the_summary_says_it_first() -> None:
    alert = {
        "kind": "timeliness",
        "signal": "starved",
        "partition": 2,
        "offset": 7,
        "subject": "late-inputs",
        "event_time": (at(0) + timedelta(days=3)).isoformat(),
        "statistic": {"late_share": 0.93, "alarm_share": 0.2, "allowed_lateness_s": 7200},
    }
    found = warnings({"learned": 11_721, "late_not_learned": 315_625}, [alert])
    assert found[0].startswith("learning stalled in partition(s) 2: more than 20%")
    assert "315,625 of 327,346 labels (96.4%) were not learned" in found[1]
    console = Console(record=True, width=200)
    summary = {
        "warnings": found,
        **dict.fromkeys(
            ("observations", "predictions", "outcomes", "learned", "pending", "expired"), 0
        ),
        "dead_letters": 0,
        "metrics": {},
        "worker": {"records_per_s": 0, "partitions": []},
        "elapsed_s": 0,
    }
    console.print(demo_summary(summary))
    text = console.export_text()
    assert text.splitlines()[0].startswith("WARNING: learning stalled")
    assert warnings({"learned": 327_346, "late_not_learned": 0}, []) == []


def test_the_summary_prints_the_event_to_redis_latency() -> None:
    summary = {
        "warnings": [],
        **dict.fromkeys(
            ("observations", "predictions", "outcomes", "learned", "pending", "expired"), 0
        ),
        "dead_letters": 0,
        "metrics": {},
        "lateness_seconds": {"p50": 12.5, "p99": 300.0},
        "event_to_redis_seconds": {"p50": 1.8146718, "p99": 4.9318181},
        "worker": {"records_per_s": 0, "partitions": []},
        "elapsed_s": 0,
    }
    console = Console(record=True, width=200)
    console.print(demo_summary(summary))
    row = next(line for line in console.export_text().splitlines() if "event to Redis" in line)
    assert "p50 / p99 (s)" in row
    assert "1.8147 / 4.9318" in row, row
