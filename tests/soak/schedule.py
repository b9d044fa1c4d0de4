"""The fault schedule of a soak, drawn from a seed: which fault, when, on what, how long.

>>> faults = draw_schedule(7, duration_s=1800, session_timeout_s=6)
>>> sorted({f.kind for f in faults}) == sorted(KINDS)   # every kind at least once
True
>>> faults == draw_schedule(7, duration_s=1800, session_timeout_s=6)  # the seed decides
True
>>> all(a.at_s < b.at_s for a, b in zip(faults, faults[1:]))
True
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["KINDS", "Fault", "draw_schedule"]

#: What a fault does, and to what (``target``):
#: - ``worker_kill``: SIGKILL a worker (``w1``/``w2``), restarted after ``hold_s``;
#: - ``worker_pause``: SIGSTOP a worker past its session timeout, SIGCONT after ``hold_s``;
#: - ``broker_kill``: SIGKILL a broker (node id), restarted after ``hold_s``;
#: - ``redis_stop``: SIGSTOP Redis, SIGCONT after ``hold_s``;
#: - ``redis_shutdown``: Redis's own SHUTDOWN (SIGTERM on a secured stack, whose user may
#:   not run it), restarted after ``hold_s``;
#: - ``rebalance``: a third worker joins, and leaves (SIGTERM) after ``hold_s``.
KINDS = (
    "worker_kill",
    "worker_pause",
    "broker_kill",
    "redis_stop",
    "redis_shutdown",
    "rebalance",
)


@dataclass(frozen=True)
class Fault:
    at_s: float  # seconds after the run's start when it is injected (at the earliest)
    kind: str
    target: str
    hold_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def draw_schedule(
    seed: int,
    duration_s: float,
    session_timeout_s: float,
    *,
    warmup_s: float = 20.0,
    gap_s: float = 60.0,
) -> list[Fault]:
    """Faults from ``warmup_s`` until ``duration_s``, one about every ``gap_s`` (at least
    one of each kind, in an order the seed draws), each with its target and duration."""
    rng = random.Random(seed)
    slots = max(len(KINDS), int((duration_s - warmup_s) // gap_s))
    step = (duration_s - warmup_s) / slots
    kinds = list(KINDS)
    rng.shuffle(kinds)
    kinds += [rng.choice(KINDS) for _ in range(slots - len(KINDS))]
    faults = []
    for slot, kind in enumerate(kinds):
        at = warmup_s + slot * step + rng.uniform(0, 0.3 * step)
        faults.append(Fault(round(at, 1), kind, *_shape(rng, kind, session_timeout_s)))
    return faults


def _shape(rng: random.Random, kind: str, session_timeout_s: float) -> tuple[str, float]:
    """The target and the hold of one fault of ``kind``."""
    if kind == "worker_kill":
        return rng.choice(("w1", "w2")), round(rng.uniform(1, 3), 1)
    if kind == "worker_pause":  # past the session timeout: the group moves on without it
        return rng.choice(("w1", "w2")), round(session_timeout_s + rng.uniform(2, 6), 1)
    if kind == "broker_kill":
        return str(rng.choice((1, 2, 3))), round(rng.uniform(3, 10), 1)
    if kind == "redis_stop":
        return "redis", round(rng.uniform(5, 15), 1)
    if kind == "redis_shutdown":
        return "redis", round(rng.uniform(2, 5), 1)
    if kind == "rebalance":
        return "w3", round(rng.uniform(10, 25), 1)
    raise ValueError(f"unknown fault kind {kind!r}")
