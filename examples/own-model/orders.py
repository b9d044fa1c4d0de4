"""The stream of this example: 300 orders of 50 customers, and whether each was returned
(known 1 to 5 days later). A seeded draw: the same events every run."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from driftline import Observation, Outcome

__all__ = ["ORDERS", "events"]

ORDERS = 300
START = datetime(2024, 3, 1, 7, 0, tzinfo=UTC)


def events(seed: int = 3) -> list[Observation | Outcome]:
    """Each order (an observation keyed by customer), then its outcome, in event-time
    order: ``returned`` is the label."""
    draw = random.Random(seed)
    placed_before = {f"u{n:03d}": draw.choice((0, 0, 1, 4, 9)) for n in range(1, 51)}
    timed: list[Observation | Outcome] = []
    placed = START
    for n in range(1, ORDERS + 1):
        customer = draw.choice(sorted(placed_before))
        items = draw.randint(1, 6)
        value = round(items * draw.uniform(8, 90), 2)
        discount = round(value * draw.choice((0.0, 0.0, 0.1, 0.3, 0.5)), 2)
        placed += timedelta(minutes=draw.randrange(10, 240))
        order = Observation(
            event_id=f"o{n:04d}",
            key=customer,
            event_time=placed,
            features={
                "basket_value": value,
                "items": items,
                "discount": discount,
                "orders_before": placed_before[customer],
            },
        )
        placed_before[customer] += 1
        risk = 0.05 + 0.3 * (value / items > 60) + 0.25 * (discount / value > 0.25)
        resolved = placed + timedelta(days=draw.randint(1, 5))
        outcome = Outcome(
            event_id=order.event_id, key=customer, event_time=resolved,
            label=draw.random() < risk,
        )  # fmt: skip
        timed += [order, outcome]
    return sorted(timed, key=lambda event: event.event_time)
