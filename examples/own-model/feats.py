"""Your feature function: an order as it arrives in, the model's input out.

Its output is what the model predicts on, what the worker keeps while the order waits
for its outcome, and what the model then learns: computed once, at the order's own
time, so it cannot use anything from later (point-in-time by construction). It replaces
driftline's built-in feature steps. A function that raises, or returns anything but a dict
of finite values, makes that order a dead letter.
"""

from __future__ import annotations

from driftline import FeatureValue, Observation

__all__ = ["features"]


def number(obs: Observation, name: str) -> float:
    """The order's field ``name`` as a number (0 when absent or not a number)."""
    value = obs.features.get(name)
    return float(value) if isinstance(value, int | float) else 0.0


def features(obs: Observation) -> dict[str, FeatureValue]:
    """What the model sees of an order: its value per item, the share of it discounted,
    whether the customer is new, and when it was placed (hour of the day, weekend)."""
    value, items = number(obs, "basket_value"), number(obs, "items")
    return {
        "value_per_item": value / items if items else value,
        "discount_share": number(obs, "discount") / value if value else 0.0,
        "new_customer": obs.features.get("orders_before") == 0,
        "hour": obs.event_time.hour,
        "weekend": obs.event_time.weekday() >= 5,
    }
