"""The cost of the flights data contract on the hot path, per observation.

    python -m benchmarks.contract_check [--events 10000] [--repeats 5] [--json]

The first ``--events`` observations of the flights replay (``driftline.producers.flights``), checked
by :class:`~driftline.core.contract.check.ContractCheck` with the built-in flights contract
(37 features, 2 rules), next to the floor: a bare ``dict`` copy of the same features
(the check starts with one). Also measured: the same observations with a correction each
(the carrier in lower case, the distance as text), the path a fault takes, and
:meth:`~driftline.core.contract.check.ContractCheck.learn`. Each figure is the best of
``--repeats`` passes, in microseconds per observation. Pure: no Kafka, no Redis.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from driftline.adapters.contract_files import builtin_contract
from driftline.core.contract.check import ContractCheck
from driftline.core.events.model import FeatureValue

__all__ = ["main", "per_event_us"]

Features = Mapping[str, FeatureValue]


def per_event_us(
    step: Callable[[Features], object], rows: Sequence[Features], repeats: int
) -> float:
    """Microseconds per row of ``step``, the best of ``repeats`` passes."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for row in rows:
            step(row)
        best = min(best, time.perf_counter() - started)
    return best / len(rows) * 1e6


def _with_corrections(rows: Sequence[Features]) -> list[dict[str, FeatureValue]]:
    faulty = []
    for row in rows:
        copy = dict(row)
        copy["carrier"] = str(copy["carrier"]).lower()
        copy["distance"] = str(copy["distance"])
        faulty.append(copy)
    return faulty


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON line only")
    args = parser.parse_args(argv)
    from driftline.producers.flights.events import flight_events  # pandas: the [demo] extra

    rows = [event.observation.features for event in flight_events(limit=args.events)]
    check = ContractCheck(builtin_contract("flights"))
    state = check.new_state()
    for row in rows:  # the statistics a running worker holds
        check.learn(check.check(row, state).features, state)
    faulty = _with_corrections(rows)
    assert all(not check.check(row, state).findings for row in rows)
    assert all(len(check.check(row, state).findings) == 2 for row in faulty)
    cleaned = [check.check(row, state).features for row in rows]

    report: dict[str, Any] = {
        "events": len(rows),
        "features": len(check.contract.features),
        "rules": len(check.contract.rules),
        "dict_copy_us": per_event_us(dict, rows, args.repeats),
        "check_us": per_event_us(lambda row: check.check(row, state), rows, args.repeats),
        "check_corrected_us": per_event_us(
            lambda row: check.check(row, state), faulty, args.repeats
        ),
        "learn_us": per_event_us(lambda row: check.learn(row, state), cleaned, args.repeats),
    }
    report["check_vs_copy"] = report["check_us"] / report["dict_copy_us"]
    report = {k: round(v, 3) if isinstance(v, float) else v for k, v in report.items()}
    print(json.dumps(report) if args.json else _table(report), file=sys.stdout)
    return report


def _table(report: Mapping[str, Any]) -> str:
    return "\n".join(
        [
            f"flights contract: {report['features']} features, {report['rules']} rules, "
            f"{report['events']:,} observations",
            f"  dict copy of the features      {report['dict_copy_us']:8.3f} µs",
            f"  check (clean)                  {report['check_us']:8.3f} µs"
            f"   ({report['check_vs_copy']:.1f}x the copy)",
            f"  check (two corrections each)   {report['check_corrected_us']:8.3f} µs",
            f"  learn                          {report['learn_us']:8.3f} µs",
        ]
    )


if __name__ == "__main__":
    main()
