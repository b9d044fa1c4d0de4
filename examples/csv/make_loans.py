"""Write loans.csv: 300 loan applications of 60 customers, the same file every run.

Each row is an application (the observation) and whether the loan defaulted (its label,
known 30 days later: ``--outcome-delay 2592000`` in run.sh). The last few rows have no label
yet: they are predicted, and wait for an outcome that has not come.

    python make_loans.py            # rewrites loans.csv next to this file
"""

from __future__ import annotations

import csv
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROWS = 300
UNLABELLED = 6  # the newest applications: their outcome is not known yet
PURPOSES = ("car", "home", "education", "debt")
START = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)


def rows(seed: int = 21) -> list[dict[str, str]]:
    """The applications, oldest first; a seeded draw, so the same rows every run."""
    draw = random.Random(seed)
    incomes = {f"C{n:03d}": draw.randrange(24_000, 120_000, 1_000) for n in range(1, 61)}
    applied = START
    out = []
    for n in range(1, ROWS + 1):
        customer = draw.choice(sorted(incomes))
        income = incomes[customer]
        amount = draw.randrange(1_000, 40_000, 500)
        purpose = draw.choice(PURPOSES)
        risk = 5.0 * amount / income - 3.0 + (0.8 if purpose == "debt" else 0.0)
        defaulted = draw.random() < 1.0 / (1.0 + math.exp(-risk))
        applied += timedelta(minutes=draw.randrange(20, 900))
        out.append(
            {
                "loan_id": f"L{n:04d}",
                "customer": customer,
                "applied_at": applied.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "amount": str(amount),
                "income": str(income),
                "purpose": purpose,
                "defaulted": "" if n > ROWS - UNLABELLED else str(defaulted).lower(),
            }
        )
    return out


def write(path: Path) -> None:
    """Write the rows to ``path`` as CSV with a header."""
    table = rows()
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)


if __name__ == "__main__":
    write(Path(__file__).with_name("loans.csv"))
