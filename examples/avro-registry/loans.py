"""A synthetic loan-default stream, written in Avro through a schema registry.

A year of loan applications (2024) goes into the topic ``loans``, keyed by customer id; each
loan's outcome (``defaulted``) is known 30 days after its application and goes into
``loan-outcomes``, keyed by loan id (an outcome does not carry the customer id). The same
seed gives the same stream. The chance of default depends on the application (its amount
against the income, the credit score, the employment, the term, the purpose), so a model
has something to learn.

The story's year runs on a warped clock: it is compressed into ``--duration`` seconds, and
each record is produced when its moment of the story comes. Its event time is the story's
(``applied_at``, ``resolved_at``); its Kafka timestamp is when it was produced, a
millisecond at least after the one before it, so a reader merging the two topics by
timestamp (as Kafka Streams and ``driftline consume --source`` do) sees the story's order.

The records are written as any application would write them, with confluent_kafka's
``AvroSerializer``, its schemas registered under the subjects ``loans-value`` and
``loan-outcomes-value`` (the default topic-name strategy). With ``--v2-from F`` the
applications from the fraction F of the story on are written with version 2 of their
schema, which adds a field with a default: readers go on reading both.

    python loans.py --count 2000

Kafka and the registry: ``--bootstrap`` and ``--registry``, else the environment's
``DRIFTLINE_KAFKA_BOOTSTRAP`` and ``DRIFTLINE_SCHEMA_REGISTRY_URL``, else the local stack's
(``driftline stack status --json``, run in this folder).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"

STORY_START = datetime(2024, 1, 1, tzinfo=UTC)
STORY_SPAN = timedelta(days=366)  # 2024 is a leap year
OUTCOME_AFTER = timedelta(days=30)

EMPLOYMENT = {"salaried": 0.0, "self-employed": 0.5, "retired": 0.2, "unemployed": 1.3}
EMPLOYMENT_SHARES = [0.62, 0.18, 0.1, 0.1]
PURPOSES = ["car", "home", "education", "business", "debt-consolidation"]
TERMS = [12, 24, 36, 60]
CHANNELS = ["online", "branch", "partner"]


@dataclass(frozen=True)
class StoryRecord:
    """One record of the story: an application (``kind == "application"``) or an outcome."""

    kind: str
    key: str
    value: dict[str, Any]
    at: datetime
    schema_version: int = 1


def default_probability(application: dict[str, Any]) -> float:
    """The chance that a loan defaults: what a model can learn.

    >>> base = {"amount": 12000.0, "income": 48000.0, "credit_score": 680,
    ...         "employment": "salaried", "term_months": 36, "purpose": "car", "age": 40}
    >>> round(default_probability(base), 3)
    0.198
    >>> default_probability(base | {"credit_score": 560}) > default_probability(base)
    True
    """
    ratio = application["amount"] / application["income"]
    z = (
        -1.4
        + 4.0 * (ratio - 0.25)
        - 0.015 * (application["credit_score"] - 680)
        + EMPLOYMENT[application["employment"]]
        + (0.4 if application["term_months"] == 60 else 0.0)
        + (0.5 if application["purpose"] == "business" else 0.0)
        - 0.01 * (application["age"] - 40)
    )
    return 1.0 / (1.0 + math.exp(-z))


def story(count: int, seed: int = 7, v2_from: float | None = None) -> list[StoryRecord]:
    """``count`` applications and their outcomes, in the order of their event times.

    >>> records = story(50, seed=1)
    >>> len(records), records[0].kind, records == story(50, seed=1)
    (100, 'application', True)
    >>> all(a.at <= b.at for a, b in zip(records, records[1:]))
    True
    """
    rng = random.Random(seed)
    customers = [_customer(rng) for _ in range(max(1, count * 2 // 3))]
    span_ms = int(STORY_SPAN.total_seconds() * 1000)
    offsets = sorted(rng.randrange(span_ms) for _ in range(count))
    records: list[StoryRecord] = []
    for number, offset_ms in enumerate(offsets):
        customer_number = rng.randrange(len(customers))
        applied_at = STORY_START + timedelta(milliseconds=offset_ms)
        application = {
            "loan_id": f"L{number:06d}",
            "customer_id": f"c{customer_number:05d}",
            "applied_at": applied_at,
            **customers[customer_number],
            "amount": round(rng.lognormvariate(math.log(11000), 0.6), 2),
            "term_months": rng.choice(TERMS),
            "purpose": rng.choice(PURPOSES),
        }
        version = 1
        if v2_from is not None and offset_ms >= v2_from * span_ms:
            application["channel"] = rng.choice(CHANNELS)
            version = 2
        defaulted = rng.random() < default_probability(application)
        resolved_at = applied_at + OUTCOME_AFTER
        outcome = {
            "loan_id": application["loan_id"],
            "resolved_at": resolved_at,
            "defaulted": defaulted,
        }
        records.append(
            StoryRecord("application", application["customer_id"], application, applied_at, version)
        )
        records.append(StoryRecord("outcome", application["loan_id"], outcome, resolved_at))
    records.sort(key=lambda r: (r.at, r.kind, r.key))
    return records


def _customer(rng: random.Random) -> dict[str, Any]:
    return {
        "income": round(rng.lognormvariate(math.log(48000), 0.45), 2),
        "age": rng.randint(21, 75),
        "credit_score": max(300, min(850, round(rng.gauss(680, 70)))),
        "employment": rng.choices(list(EMPLOYMENT), EMPLOYMENT_SHARES)[0],
    }


class WarpedClock:
    """The story's time on the wall clock: ``STORY_SPAN`` lasts ``duration_s`` seconds.

    >>> clock = WarpedClock(duration_s=36.6, wall_start=1000.0)
    >>> clock.wall(STORY_START + timedelta(days=183))
    1018.3
    """

    def __init__(self, duration_s: float, wall_start: float) -> None:
        self.duration_s = duration_s
        self.wall_start = wall_start

    def wall(self, at: datetime) -> float:
        return self.wall_start + (at - STORY_START) / STORY_SPAN * self.duration_s


def produce(
    records: Sequence[StoryRecord],
    *,
    bootstrap: str,
    registry: str,
    topics: tuple[str, str] = ("loans", "loan-outcomes"),
    partitions: int = 3,
    duration_s: float = 20.0,
) -> int:
    """Write ``records`` in Avro into the applications' and the outcomes' topics (created
    when missing), each when the warped clock reaches it; the number written."""
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    _create_topics(bootstrap, topics, partitions)
    registry_client = SchemaRegistryClient({"url": registry})
    serializers = {
        ("application", 1): AvroSerializer(registry_client, _schema("loan_application")),
        ("application", 2): AvroSerializer(registry_client, _schema("loan_application_v2")),
        ("outcome", 1): AvroSerializer(registry_client, _schema("loan_outcome")),
    }
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    clock = WarpedClock(duration_s, time.time())
    last_ms = 0
    for record in records:
        topic = topics[0] if record.kind == "application" else topics[1]
        wait = clock.wall(record.at) - time.time()
        if wait > 0:
            producer.poll(wait)  # serves delivery reports while the story's clock runs
        last_ms = max(int(time.time() * 1000), last_ms + 1)
        serialize = serializers[(record.kind, record.schema_version)]
        value = serialize(record.value, SerializationContext(topic, MessageField.VALUE))
        producer.produce(
            topic, key=record.key.encode(), value=value, timestamp=last_ms, on_delivery=delivered
        )
        producer.poll(0)
    left = producer.flush(60)
    if left or failures:
        raise SystemExit(f"{left} record(s) not delivered; failures: {failures[:3]}")
    return len(records)


def _schema(name: str) -> str:
    return (SCHEMAS / f"{name}.avsc").read_text()


def _create_topics(bootstrap: str, topics: Sequence[str], partitions: int) -> None:
    # confluent_kafka.admin re-exports NewTopic without __all__: mypy --strict asks for this
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap})
    missing = [t for t in topics if t not in admin.list_topics(timeout=30).topics]
    if not missing:
        return
    futures = admin.create_topics([NewTopic(t, partitions, 1) for t in missing])
    for future in futures.values():
        future.result(timeout=30)


def _endpoints(bootstrap: str | None, registry: str | None) -> tuple[str, str]:
    """Kafka's bootstrap servers and the registry's URL: given, else the environment's,
    else the local stack's."""
    bootstrap = bootstrap or os.environ.get("DRIFTLINE_KAFKA_BOOTSTRAP")
    registry = registry or os.environ.get("DRIFTLINE_SCHEMA_REGISTRY_URL")
    if bootstrap is None or registry is None:
        done = subprocess.run(
            ["driftline", "stack", "status", "--json"], capture_output=True, text=True, check=False
        )
        status = json.loads(done.stdout or "{}")
        bootstrap = bootstrap or status.get("bootstrap_servers")
        registry = registry or status.get("schema_registry_url")
    if not bootstrap or not registry:
        raise SystemExit(
            "no Kafka or no schema registry: run 'driftline stack up --registry' here, or "
            "give --bootstrap and --registry"
        )
    return bootstrap, registry


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=2000, help="applications (default 2000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--duration",
        type=float,
        default=20.0,
        help="wall-clock seconds the story's year lasts (0: at once)",
    )
    parser.add_argument(
        "--v2-from",
        type=float,
        default=None,
        metavar="F",
        help="write applications from this fraction of the year on with "
        "schema version 2 (a new field with a default)",
    )
    parser.add_argument("--partitions", type=int, default=3, help="of the topics it creates")
    parser.add_argument(
        "--topics", default="loans,loan-outcomes", help="the applications' and the outcomes' topics"
    )
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument("--registry", default=None)
    args = parser.parse_args(argv)
    bootstrap, registry = _endpoints(args.bootstrap, args.registry)
    applications_topic, outcomes_topic = args.topics.split(",")
    records = story(args.count, args.seed, args.v2_from)
    written = produce(
        records,
        bootstrap=bootstrap,
        registry=registry,
        topics=(applications_topic, outcomes_topic),
        partitions=args.partitions,
        duration_s=args.duration,
    )
    defaults = sum(1 for r in records if r.kind == "outcome" and r.value["defaulted"])
    print(
        f"{written} records: {args.count} applications into {applications_topic}, "
        f"{args.count} outcomes ({defaults} defaults) into {outcomes_topic}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
