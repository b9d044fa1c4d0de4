"""A slow link to the broker: inside a network namespace of its own (``unshare -n``), the
broker's replies are shaped to a few kilobits a second for a spell, while events flow.

Kernels without ``sch_netem`` (this machine's: ``tc`` answers "Specified qdisc kind is
unknown") cannot delay packets, so the link is made slow instead: an HTB class on
loopback holds what the broker's port sends to a rate below the stream's (the fetches'
replies queue, as on a congested link); everything else on loopback (Redis) runs free.

    unshare -n python -m tests.isolated.slow_broker --home DIR --out report.json

The report gives event-to-Redis latency (the broker's time of each observation's record
to the time Redis added its prediction to the stream) before, during and after the slow
spell, and the accounting: every observation predicted once, every outcome learned.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from driftline.adapters.topics import prepare_topics
from driftline.producers.flights import flight_events
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from driftline.stack import LocalStack
from tests.integration.three_brokers import Publishing, endpoints, own_settings, wait_for
from tests.isolated.common import (
    Worker,
    dump,
    finish,
    one_broker,
    pacing,
    processed,
    reap,
    stream_times,
)


def tc(*args: str) -> None:
    subprocess.run(["tc", *args], check=True, capture_output=True, text=True)


def slow_link(port: int, kbit: int) -> None:
    """Shape what ``port`` sends on loopback to ``kbit`` kilobits a second."""
    tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10", "r2q", "1000")
    tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit")
    tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb",
       "rate", f"{kbit}kbit", "ceil", f"{kbit}kbit")  # fmt: skip
    tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
       "match", "ip", "sport", str(port), "0xffff", "flowid", "1:20")  # fmt: skip


def free_link() -> None:
    tc("qdisc", "del", "dev", "lo", "root")


def run(stack: LocalStack, home: Path, args: argparse.Namespace) -> dict[str, Any]:
    settings = own_settings(stack, "slow", partitions=2)
    prepare_topics(settings.kafka, settings.namespace)
    redis_url = endpoints(stack).redis_url
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=60, max_s=300), seed=3)
    flights = int(args.rate * (2 * args.normal_s + args.slow_s) / 2) + 500
    events = [t.event for t in plan.schedule(flight_events(limit=flights, key_by="route"))]
    publishing = Publishing(settings, events, chunk=max(1, args.rate // 5), pace_s=0.2)
    worker = Worker(stack, settings, home / "worker.log")
    port = int(stack.status().brokers[0]["port"])
    feeder = threading.Thread(target=publishing.run, name="publisher")
    feeder.start()
    phase = pacing()
    marks: dict[str, datetime] = {}
    try:
        wait_for(lambda: worker.alive() and processed(redis_url, settings) > 0, 120, "a start")
        marks["steady"] = datetime.now().astimezone()  # before it: the worker's start-up
        phase.wait(args.normal_s)
        marks["slow"] = datetime.now().astimezone()
        slow_link(port, args.kbit)
        phase.wait(args.slow_s)
        free_link()
        marks["free"] = datetime.now().astimezone()
        phase.wait(args.normal_s)
    finally:
        publishing.finish.set()
        feeder.join(timeout=300)
    report = finish(worker, redis_url, settings, "every event to be processed")
    times = report.pop("times")
    stream = stream_times(redis_url, settings.namespace)
    spells: dict[str, list[float]] = {"start-up": [], "before": [], "slow": [], "after": []}
    for (kind, event_id), at in times.items():
        if kind != "observation" or event_id not in stream:
            continue
        latency = stream[event_id][0] / 1000 - at.timestamp()
        spell = (
            next(
                name
                for name, mark in (("start-up", "steady"), ("before", "slow"), ("slow", "free"))
                if at < marks[mark]
            )
            if at < marks["free"]
            else "after"
        )
        spells[spell].append(latency)
    report["latency_s"] = {name: quantiles(values) for name, values in spells.items()}
    report["published"] = {
        "acknowledged": len(publishing.acknowledged),
        "failed": len(publishing.failed),
    }
    before, slow = report["latency_s"]["before"], report["latency_s"]["slow"]
    report["checks"]["latency rose while the link was slow"] = (
        slow["p50"] > 2 * before["p50"] and slow["p95"] > before["p95"] + 0.2
    )
    report["checks"]["nothing published was refused"] = not publishing.failed
    report["passed"] = all(report["checks"].values())
    return report


def quantiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and max of ``values`` (seconds), with their count.

    >>> quantiles([0.1, 0.2, 0.3, 0.4])
    {'n': 4, 'p50': 0.25, 'p95': 0.385, 'max': 0.4}
    """
    if len(values) < 2:
        return {"n": len(values), "p50": 0.0, "p95": 0.0, "max": max(values, default=0.0)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "n": len(values),
        "p50": round(cuts[49], 3),
        "p95": round(cuts[94], 3),
        "max": round(max(values), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rate", type=int, default=60, help="events a second")
    parser.add_argument("--kbit", type=int, default=48, help="the slow link's rate")
    parser.add_argument("--normal-s", type=float, default=15.0)
    parser.add_argument("--slow-s", type=float, default=20.0)
    parser.add_argument("--secure", action="store_true", help="on a secured stack (TLS, SASL)")
    args = parser.parse_args(argv)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    report: dict[str, Any] = {"passed": False}
    try:
        with one_broker(args.home / "stack", args.secure) as stack:
            report = run(stack, args.home, args)
    except AssertionError as failed:  # in the report, with what the worker was doing
        report["error"] = str(failed)
    finally:
        reap(report)
    dump(report, args.out)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
