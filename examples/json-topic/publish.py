"""Your application: card payments as JSON into the topic ``payments``, and later each
payment's outcome (settled, or charged back) into ``payment-outcomes``.

This is a plain kafka-python producer writing your own JSON to your own topics, as an
application would: none of driftline's code writes them. driftline is asked only where
Kafka is (``DRIFTLINE_KAFKA_BOOTSTRAP``, else the running local stack), and the topic names
are read from source.toml so the two never disagree.

    python publish.py        # 400 payments, the same ones every run
"""

from __future__ import annotations

import json
import random
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from driftline import Settings
from driftline.adapters.endpoints import resolve_endpoints
from driftline.stack import LocalStack

PAYMENTS = 400
CARDS = [f"card-{n:03d}" for n in range(1, 81)]
CATEGORIES = ("grocery", "travel", "electronics", "gift-cards", "fuel")
COUNTRIES = ("FR", "DE", "US", "GB", "ES")
START = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def kafka_bootstrap() -> str:
    """Kafka as driftline finds it: the settings (``DRIFTLINE_KAFKA_BOOTSTRAP``, ``.env``),
    else the running local stack (``driftline stack up``)."""
    settings = Settings()
    stack = LocalStack(settings.stack)
    return resolve_endpoints(settings.kafka, settings.redis, stack.endpoints).bootstrap


def records(seed: int = 7) -> list[tuple[str, str, dict[str, Any]]]:
    """(topic kind, key, JSON body) of every payment and outcome, in the order they
    happen: a payment at ``created_ms``, its outcome 1 to 6 hours later."""
    draw = random.Random(seed)
    home = {card: draw.choice(COUNTRIES) for card in CARDS}
    timed: list[tuple[datetime, str, str, dict[str, Any]]] = []
    created = START
    for n in range(1, PAYMENTS + 1):
        card = draw.choice(CARDS)
        category = draw.choice(CATEGORIES)
        country = home[card] if draw.random() < 0.8 else draw.choice(COUNTRIES)
        amount = round(draw.lognormvariate(3.5, 1.0), 2)
        created += timedelta(seconds=draw.randrange(30, 600))
        payment = {
            "payment_id": f"p{n:05d}",
            "created_ms": int(created.timestamp() * 1000),
            "amount": amount,
            "channel": draw.choice(("web", "app", "pos")),
            "card": {"id": card, "country": home[card]},
            "merchant": {"category": category, "country": country},
        }
        risk = 0.02 + 0.25 * (country != home[card]) + 0.2 * (category == "gift-cards")
        fraud = draw.random() < risk + min(amount / 2000, 0.3)
        settled = created + timedelta(minutes=draw.randrange(60, 360))
        outcome = {
            "payment_id": payment["payment_id"],
            "settled_at": settled.isoformat(),
            "status": "chargeback" if fraud else "settled",
        }
        timed.append((created, "observations", card, payment))
        timed.append((settled, "outcomes", payment["payment_id"], outcome))
    timed.sort(key=lambda row: row[0])
    return [(kind, key, body) for _, kind, key, body in timed]


def main() -> None:
    topics = tomllib.loads(Path(__file__).with_name("source.toml").read_text())["topics"]
    names = {"observations": topics["observations"][0], "outcomes": topics["outcomes"][0]}
    bootstrap = kafka_bootstrap()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            [NewTopic(names["observations"], 3, 1), NewTopic(names["outcomes"], 2, 1)]
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        sent = [
            producer.send(names[kind], key=key.encode(), value=json.dumps(body).encode())
            for kind, key, body in records()
        ]
        producer.flush()
        for future in sent:
            future.get(timeout=30)  # raises if Kafka did not take the record
    finally:
        producer.close()
    print(f"published {len(sent)} records to {names['observations']} and {names['outcomes']}")


if __name__ == "__main__":
    main()
