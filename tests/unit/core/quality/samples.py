"""Seeded samples of a stream's features, for the validation tests."""

from __future__ import annotations

import random

from driftline.core.quality.validation import Profile

N = 3000


def sample(seed: int, **changes: object) -> Profile:
    """``N`` observations: ``temp`` ~ N(10, 5), ``carrier`` over four, ``wind`` sometimes
    missing; ``changes`` shift them."""
    rng = random.Random(seed)
    shift = float(changes.get("shift", 0.0))  # type: ignore[arg-type]
    carriers = changes.get("carriers", "AAUUDDBB")
    missing = float(changes.get("missing", 0.02))  # type: ignore[arg-type]
    rows = []
    for _ in range(N):
        row: dict[str, object] = {
            "temp": rng.gauss(10 + shift, 5),
            "carrier": rng.choice(carriers),  # type: ignore[arg-type]
        }
        if rng.random() >= missing:
            row["wind"] = rng.uniform(0, 30)
        rows.append(row)
    return Profile.of(rows)
