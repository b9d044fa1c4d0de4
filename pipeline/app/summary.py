"""The demo's summary: counts that add up, the models against the majority baseline, the
costs of three ways to decide, the champion and its promotions, and the drift alarms."""

from __future__ import annotations

from collections import Counter
from typing import Any

from driftline.consumers.worker import Worker
from driftline.producers.flights.clock import FlightClock

__all__ = ["FlightClock", "summarize", "warnings"]

#: Drift alarms listed one by one in the summary (the rest are counted).
LISTED_ALARMS = 12


def summarize(
    published: dict[str, Any],
    metrics: dict[str, Any],
    worker: Worker,
    elapsed_s: float,
    *,
    alerts: list[dict[str, Any]] | None = None,
    series: dict[str, list[dict[str, Any]]] | None = None,
    clock: FlightClock | None = None,
) -> dict[str, Any]:
    """The demo's summary: counts that add up, the model against the majority baseline,
    the costs, the models and promotions, the drift alarms, and the weekly scores."""
    total = metrics["total"]
    counts = total.get("counts", {})
    accuracy = total.get("accuracy")
    baseline = total.get("baseline_accuracy")
    majority = total.get("majority_share")
    return {
        "warnings": warnings(counts, alerts or [], clock),
        "observations": counts.get("observations", 0),
        "outcomes": counts.get("outcomes", 0),
        "predictions": counts.get("predictions", 0),
        "learned": counts.get("learned", 0),
        "pending": counts.get("pending", 0),
        "expired": counts.get("expired", 0),
        "late_not_learned": counts.get("late_not_learned", 0),
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
        "quality": _quality(total.get("quality")),
        "costs": _costs(total),
        "models": _models(metrics.get("models", {})),
        "promotions": [
            _alert_row(a, clock)
            for a in sorted(alerts or [], key=_in_time)
            if a["kind"] == "promotion"
        ],
        "drift": _drift(alerts or [], clock),
        "weekly": _weekly(series or {}, clock),
    }


#: The share of labels kept from learning by lateness that is worth the summary's first line
#: even without an alert (the alert needs 20% of a task's last 1,000 observations).
LATE_WARNING_SHARE = 0.05


def warnings(
    counts: dict[str, Any], alerts: list[dict[str, Any]], clock: FlightClock | None = None
) -> list[str]:
    """What the reader must see first: learning that lateness held back.

    >>> warnings({"learned": 90, "late_not_learned": 10}, [])
    ['10 of 100 labels (10.0%) were not learned: their observations came later than the \
allowed lateness']
    >>> warnings({"learned": 99, "late_not_learned": 1}, [])
    []
    """
    found = []
    late, learned = counts.get("late_not_learned", 0), counts.get("learned", 0)
    starved = [a for a in alerts if a["kind"] == "timeliness" and a["signal"] == "starved"]
    if starved:
        first = min(starved, key=_in_time)
        when = clock.flight_date(first.get("event_time")) if clock else first.get("event_time")
        partitions = sorted({a["partition"] for a in starved})
        found.append(
            f"learning stalled in partition(s) {', '.join(map(str, partitions))}: more than "
            f"{100 * first['statistic']['alarm_share']:.0f}% of observations came later than "
            f"the allowed lateness ({first['statistic']['allowed_lateness_s']:g} s), from "
            f"{when} (alert 'timeliness late-inputs')"
        )
    if late and (starved or late >= LATE_WARNING_SHARE * (late + learned)):
        found.append(
            f"{late:,} of {late + learned:,} labels ({100 * late / (late + learned):.1f}%) were "
            "not learned: their observations came later than the allowed lateness"
        )
    return found


def _costs(total: dict[str, Any]) -> dict[str, Any] | None:
    cost = total.get("cost_per_1000")
    if not cost:
        return None
    return {"per_1000_decisions": cost, "cost_matrix": total.get("cost_matrix")}


def _models(models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        name: {
            "champion_in": model["champion_in"],
            **{
                k: model["scores"].get(k)
                for k in ("accuracy", "roc_auc", "log_loss", "recall", "cost_per_1000")
            },
        }
        for name, model in models.items()
    }


def _in_time(alert: dict[str, Any]) -> tuple[Any, ...]:
    """Event time, then where in the log: the same order whatever order they were written."""
    return (alert.get("event_time") or "", alert["partition"], alert["offset"], alert["subject"])


def _alert_row(alert: dict[str, Any], clock: FlightClock | None) -> dict[str, Any]:
    when = alert.get("event_time")
    return {
        "flight_date": clock.flight_date(when) if clock else when,
        "partition": alert["partition"],
        "kind": alert["kind"],
        "subject": alert["subject"],
        "signal": alert["signal"],
        "detector": alert["detector"],
        "action": alert["action"],
        "statistic": alert.get("statistic"),
    }


def _drift(alerts: list[dict[str, Any]], clock: FlightClock | None) -> dict[str, Any]:
    """Drift alarms of the run: counted by kind and subject, the concept and label ones
    listed first (oldest first), then features."""
    alarms = [a for a in reversed(alerts) if a["kind"] not in ("promotion", "rollback")]
    drifts = [a for a in alarms if a["signal"] == "drift"]
    counted = Counter(f"{a['kind']}:{a['subject']}" for a in drifts)
    rank = {"concept": 0, "label": 1, "category": 2, "feature": 3}
    listed = sorted(drifts, key=lambda a: (rank.get(a["kind"], 9), *_in_time(a)))
    listed = listed[:LISTED_ALARMS]
    return {
        "drifts": len(drifts),
        "warnings": len(alarms) - len(drifts),
        "by_subject": dict(counted.most_common()),
        "first": [_alert_row(a, clock) for a in listed],
    }


def _weekly(
    series: dict[str, list[dict[str, Any]]], clock: FlightClock | None
) -> dict[str, list[dict[str, Any]]]:
    """Each model's scores per flight week (the longest window), with flight dates."""
    if not series:
        return {}
    longest = max(float(name.partition(":")[0]) for name in series)
    weekly = {}
    for name, points in series.items():
        length, _, model = name.partition(":")
        if float(length) != longest:
            continue
        weekly[model] = [
            {
                "week_of": clock.flight_date(p["start"]) if clock else p["start"],
                "labels": p["n"],
                "accuracy": p.get("accuracy"),
                "roc_auc": p.get("roc_auc"),
                "log_loss": p.get("log_loss"),
                "cost_per_1000": p.get("cost_per_1000"),
            }
            for p in points
        ]
    return weekly


def _quality(quality: dict[str, Any] | None) -> dict[str, Any] | None:
    """Each dimension's score and findings by rule, and the label coverage."""
    if not quality:
        return None
    return {
        "dimensions": {
            name: {"score": d["score"], "records_flagged": d["events"], "rules": d["rules"]}
            for name, d in quality["dimensions"].items()
        },
        "label_coverage": (quality.get("labels") or {}).get("coverage"),
    }
