"""Drift detection: each detector on seeded streams with known drift points, and what a
drift action buys.

    python -m benchmarks.drift [--seeds 1,7,13] [--detectors ADWIN,DDM] [--json] [--smoke]

The stream is SEA (River's ``synth.SEA``, 5% label noise) switching between the
thresholds 7 and 9.5 (variants 2 and 3) every 2,500 values: four abrupt drifts in 12,500
values. A scaled logistic regression predicts then learns each value (prequential), and an
:class:`~driftline.core.drift.monitors.ErrorMonitor` watches its 0/1 errors. Per detector, over the
seeds: drifts detected / total, mean and max delay, false alarms (a detection more than
``--horizon`` values after the last drift point), warnings; then the prequential
accuracy with each :data:`~driftline.core.drift.monitors.DriftAction`: ``none``, ``reset`` (a fresh
model at the drift) and ``swap`` (a background model from the warning, swapped in at the
drift). ``oracle`` resets at the true drift points: what a perfect detector would give.
Last, the cost of one update, measured with ``timeit``. Pure: no Kafka, no Redis.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
import timeit
from collections.abc import Callable, Iterator
from typing import Any, get_args

from river import linear_model, preprocessing
from river.datasets import synth

from driftline.core.drift.monitors import (
    DETECTORS,
    DetectorName,
    DriftAction,
    ErrorMonitor,
    FeatureMonitor,
    detection_report,
)
from driftline.core.drift.response import DriftResponse

__all__ = ["costs", "main", "prequential", "sea"]

VARIANTS = [2, 3, 2, 3, 2]
ACTIONS: tuple[DriftAction, ...] = get_args(DriftAction)


def sea(segment: int, seed: int, noise: float = 0.05) -> Iterator[tuple[dict[str, float], bool]]:
    """SEA switching variant every ``segment`` values (drift points: multiples of it)."""
    for i, variant in enumerate(VARIANTS):
        yield from itertools.islice(synth.SEA(variant=variant, seed=seed + i, noise=noise), segment)


def prequential(
    detector: DetectorName | None, action: DriftAction, seed: int, segment: int
) -> dict[str, Any]:
    """Predict, score, watch, respond, learn: accuracy, drift and warning positions.

    ``detector=None`` is the oracle: a reset at each true drift point.
    """
    response = DriftResponse(
        preprocessing.StandardScaler() | linear_model.LogisticRegression(), action
    )
    monitor = ErrorMonitor(detector, seed=seed) if detector else None
    correct = 0
    drifts: list[int] = []
    warnings: list[int] = []
    for i, (x, y) in enumerate(sea(segment, seed)):
        error = int(response.model.predict_one(x) != y)
        correct += 1 - error
        if monitor is not None:
            alarm = monitor.update(error)
            if alarm is not None:
                (drifts if alarm.signal == "drift" else warnings).append(i)
            response.respond(alarm, monitor.in_warning)
        elif i and i % segment == 0:
            response.model = response.model.clone()
        response.learn_one(x, y)
    return {"accuracy": correct / (segment * len(VARIANTS)), "drifts": drifts, "warnings": warnings}


def evaluate(
    detector: DetectorName, seeds: list[int], segment: int, horizon: int
) -> dict[str, Any]:
    """Detection scores (on the ``none`` runs) and accuracy per action, over ``seeds``."""
    points = [segment * k for k in range(1, len(VARIANTS))]
    found = delays = false_alarms = warnings = 0
    all_delays: list[int] = []
    accuracy: dict[str, float] = {}
    for action in ACTIONS:
        total = 0.0
        for seed in seeds:
            run = prequential(detector, action, seed, segment)
            total += run["accuracy"]
            if action == "none":
                report = detection_report(points, run["drifts"], horizon)
                found += report["detected"]
                false_alarms += report["false_alarms"]
                warnings += len(run["warnings"])
                all_delays += [d["delay"] for d in report["per_drift"] if d["delay"] is not None]
        accuracy[action] = round(total / len(seeds), 4)
    delays = sum(all_delays)
    return {
        "detector": detector,
        "detected": found,
        "drifts": len(points) * len(seeds),
        "mean_delay": round(delays / len(all_delays), 1) if all_delays else None,
        "max_delay": max(all_delays) if all_delays else None,
        "false_alarms": false_alarms,
        "warnings": warnings,
        "accuracy": accuracy,
    }


def costs(detectors: list[DetectorName], number: int = 2000) -> dict[str, float]:
    """Microseconds per update: an ErrorMonitor per detector, a FeatureMonitor on 15
    numbers (and 15 numbers plus 3 strings) per detector it accepts (KSWIN: on one)."""
    rng = random.Random(0)
    errors = [int(rng.random() < 0.1) for _ in range(1000 + number)]
    rows = [
        {f"f{j}": rng.gauss(j, 1.0) for j in range(15)}
        | {f"c{j}": rng.choice("abcdefgh") for j in range(3)}
        for _ in range(number)
    ]
    numeric = [{k: v for k, v in x.items() if k.startswith("f")} for x in rows]
    out: dict[str, float] = {}
    for name in detectors:
        n = number // 10 if name == "KSWIN" else number
        monitor = ErrorMonitor(name)
        for e in errors[:1000]:  # KSWIN tests from its 1,000th value on
            monitor.update(e)
        feed = itertools.cycle(errors[1000:])
        out[f"ErrorMonitor({name})"] = _us(monitor.update, feed, n)
        if name in ("DDM", "EDDM"):
            continue
        if name == "KSWIN":  # one number, its window filled: 15 would be 15 times this
            features = FeatureMonitor(name)
            values = itertools.cycle([{"f0": x["f0"]} for x in rows])
            for _ in range(1000):
                features.update(next(values))
            out[f"FeatureMonitor({name}), per number"] = _us(features.update, values, n)
            continue
        for label, data in (("15 numbers", numeric), ("15 numbers + 3 strings", rows)):
            features = FeatureMonitor(name)
            for x in data[: n // 2]:
                features.update(x)
            it = itertools.cycle(data[n // 2 :])
            out[f"FeatureMonitor({name}), {label}"] = _us(features.update, it, n // 2)
    return out


def _us(update: Callable[[Any], Any], values: Iterator[Any], number: int) -> float:
    """The best of three timings of ``update(next(values))``, microseconds per call."""
    per_run = max(number // 4, 1)
    best = min(timeit.repeat(lambda: update(next(values)), number=per_run, repeat=3))
    return round(best / per_run * 1e6, 2)


def _table(report: dict[str, Any]) -> str:
    head = f"{'detector':<12} {'detected':>9} {'mean delay':>11} {'max delay':>10} "
    head += f"{'false alarms':>13} {'warnings':>9} " + " ".join(f"{a:>7}" for a in ACTIONS)
    lines = [head, "-" * len(head)]
    for r in report["detectors"]:
        acc = " ".join(f"{r['accuracy'][a]:>7.4f}" for a in ACTIONS)
        lines.append(
            f"{r['detector']:<12} {r['detected']:>4}/{r['drifts']:<4} {r['mean_delay']!s:>11} "
            f"{r['max_delay']!s:>10} {r['false_alarms']:>13} {r['warnings']:>9} {acc}"
        )
    lines.append(
        f"{'oracle':<12} {'(a reset at each true drift point)':<58} {report['oracle']:>15.4f}"
    )
    lines += ["", "cost of one update (us)"]
    lines += [f"  {k:<50} {v:>9.2f}" for k, v in report["costs_us"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", default="1,7,13")
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    parser.add_argument("--segment", type=int, default=2500, help="values between drifts")
    parser.add_argument("--horizon", type=int, default=1000, help="a detection's reach")
    parser.add_argument("--json", action="store_true", help="one JSON line only")
    parser.add_argument("--smoke", action="store_true", help="one seed, short segments")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    detectors: list[DetectorName] = [d for d in DETECTORS if d in args.detectors.split(",")]
    segment, horizon = args.segment, args.horizon
    if args.smoke:
        seeds, segment, horizon = seeds[:1], 1500, 800
    started = time.perf_counter()
    oracle = sum(prequential(None, "reset", s, segment)["accuracy"] for s in seeds) / len(seeds)
    report = {
        "stream": {"name": "SEA 2,3,2,3,2", "segment": segment, "noise": 0.05, "seeds": seeds},
        "horizon": horizon,
        "detectors": [evaluate(d, seeds, segment, horizon) for d in detectors],
        "oracle": round(oracle, 4),
        "costs_us": costs(detectors, 400 if args.smoke else 2000),
    }
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report) if args.json else _table(report), file=sys.stdout)
    return report


if __name__ == "__main__":
    main()
