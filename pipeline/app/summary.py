"""The demo's summary: counts that add up, and the model against the majority baseline."""

from __future__ import annotations

from typing import Any

from consumers.worker import Worker

__all__ = ["summarize"]


def summarize(
    published: dict[str, Any], metrics: dict[str, Any], worker: Worker, elapsed_s: float
) -> dict[str, Any]:
    """The demo's summary: counts that add up, the model against the majority baseline."""
    total = metrics["total"]
    counts = total.get("counts", {})
    accuracy = total.get("accuracy")
    baseline = total.get("baseline_accuracy")
    majority = total.get("majority_share")
    return {
        "observations": counts.get("observations", 0),
        "outcomes": counts.get("outcomes", 0),
        "predictions": counts.get("predictions", 0),
        "learned": counts.get("learned", 0),
        "pending": counts.get("pending", 0),
        "expired": counts.get("expired", 0),
        "duplicates": counts.get("duplicates", 0),
        "dead_letters": counts.get("dead_letters", 0),
        "dead_letters_by_kind": {
            "observation": counts.get("dead_letters_observation", 0),
            "outcome": counts.get("dead_letters_outcome", 0),
            "undecodable": counts.get("dead_letters", 0)
            - counts.get("dead_letters_observation", 0)
            - counts.get("dead_letters_outcome", 0),
        },
        "lateness_seconds": total.get("lateness_seconds"),
        "event_to_redis_seconds": total.get("latency_seconds"),
        "metrics": {
            name: total.get(name)
            for name in (
                "accuracy",
                "rolling_accuracy",
                "baseline_accuracy",
                "majority_share",
                "precision",
                "recall",
                "f1",
                "roc_auc",
                "log_loss",
            )
        },
        "beats_majority_by": (
            round(accuracy - max(baseline, majority), 4)
            if None not in (accuracy, baseline, majority)
            else None
        ),
        "published": {
            k: published[k]
            for k in ("published", "observations", "outcomes", "out_of_order", "elapsed_s")
        },
        "worker": {
            "records": worker.stats.records,
            "records_per_s": round(worker.stats.rate, 1),
            "partitions": sorted(worker.partitions_seen),
        },
        "elapsed_s": round(elapsed_s, 1),
    }
