"""What the worker caught of the faults injected into the flights, and its false alarms on
the clean flights: the ground truth scored against the worker's quality log.

>>> from driftline.producers.faults import InjectedFault
>>> truth = [InjectedFault("f1", "observation", "duplicate", "accuracy")]
>>> log = [{"event_id": "f1", "kind": "observation", "dimension": "accuracy",
...         "rule": "duplicate"}, {"event_id": None, "kind": "outcome",
...         "dimension": "timeliness", "rule": "late"}]
>>> published = {"observations": 101, "injected": {"duplicate": 1}}
>>> report = fault_report(truth, log, published, "truth.jsonl")
>>> report["passed"], report["clean_flights"], report["findings"]
(True, 99, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from driftline.producers.fault_score import score_faults
from driftline.producers.faults import InjectedFault

__all__ = ["fault_report"]


def fault_report(
    truth: list[InjectedFault],
    quality_log: Iterable[Mapping[str, Any]],
    published: Mapping[str, Any],
    truth_path: str | Path,
) -> dict[str, Any]:
    """The score of the findings of ``quality_log`` (its entries with an event id) against
    ``truth`` (read from ``truth_path``), per dimension, with whether it passed.

    The clean flights are those the producer published (``published``, its summary) less
    the duplicates it added and the flights it put a fault into.
    """
    findings = [
        (f["event_id"], f["kind"], f["dimension"], f["rule"])
        for f in quality_log
        if f["event_id"] is not None
    ]
    injected = published.get("injected", {})
    flights = (
        published["observations"] - injected.get("duplicate", 0) - injected.get("near-duplicate", 0)
    )
    faulted = {row.event_id for row in truth if row.fault != "near-duplicate"}
    score = score_faults(truth, findings, clean_events=flights - len(faulted))
    return score.to_json() | {
        "passed": score.passed(),
        "ground_truth": str(truth_path),
        "clean_flights": flights - len(faulted),
        "findings": len(findings),
    }
