"""What both isolated runs share: a one-broker stack of their own, a worker, a paced
publisher, and the accounting of what was predicted."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from driftline.adapters.kafka_clients import make_consumer
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings, StackSettings
from driftline.read.tail import read_events
from driftline.stack import LocalStack
from tests.integration.three_brokers import driftline, metric_totals, own_env, wait_for

__all__ = ["Worker", "account", "finish", "one_broker", "reap", "topic_times"]


@contextmanager
def one_broker(home: Path, secure: bool = False) -> Iterator[LocalStack]:
    """A stack of one broker and Redis in ``home`` (``secure``: ``stack up --secure``),
    stopped and removed afterwards."""
    stack = LocalStack(StackSettings(home=home, brokers=1, kafka_heap="384m", secure=secure))
    try:
        stack.up(brokers=1)
        yield stack
    finally:
        stack.down(purge=True)


class Worker:
    """``driftline consume --json`` on ``stack``, its standard error in ``log``."""

    #: Every worker started in this process, for :func:`reap`.
    started: ClassVar[list[Worker]] = []

    def __init__(self, stack: LocalStack, settings: Settings, log: Path, **env: str) -> None:
        self.log = log
        Worker.started.append(self)
        with log.open("ab") as stream:
            self.process = subprocess.Popen(
                driftline("consume", "--json"),
                env=own_env(stack, settings, **env),
                stdout=subprocess.PIPE,
                stderr=stream,
                text=True,
            )

    def alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited:\n{self.log.read_text()[-3000:]}")
        return True

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=120)
        return self.process.returncode

    def stacks(self) -> str:
        """What the worker's threads are doing (``py-spy dump``), if py-spy is installed."""
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            return "py-spy is not installed"
        done = subprocess.run(
            [spy, "dump", "--pid", str(self.process.pid)], capture_output=True, text=True
        )
        return done.stdout + done.stderr

    def own_tracebacks(self) -> list[str]:
        """Frames of tracebacks in the log outside kafka-python (which logs lost
        connections with theirs)."""
        frames = re.findall(r'File "([^"]+)"', self.log.read_text(errors="replace"))
        return [f for f in frames if "site-packages/kafka/" not in f]


def reap(report: dict[str, Any]) -> None:
    """Kill the workers still running; on a failed run, what they were doing goes to
    ``report`` first (``worker_stacks``)."""
    for worker in Worker.started:
        if worker.process.poll() is None:
            if not report.get("passed"):
                report.setdefault("worker_stacks", []).append(worker.stacks())
            worker.process.kill()
            worker.process.wait(timeout=30)


def topic_times(settings: Settings) -> dict[tuple[str, str], datetime]:
    """Every event of the events topic, by kind and id: the broker's time of its record."""
    consumer = make_consumer(settings.kafka, enable_auto_commit=False)
    try:
        records = list(read_events(consumer, settings.topics.events, last=None, idle_timeout_s=1.0))
    finally:
        consumer.close()
    times: dict[tuple[str, str], datetime] = {}
    copies: Counter[tuple[str, str]] = Counter()
    for record in records:
        event = record.event
        if event is not None and hasattr(event, "event_id") and hasattr(event, "kind"):
            copies[(event.kind, event.event_id)] += 1
            times[(event.kind, event.event_id)] = record.ingest_time
    doubled = [k for k, n in copies.items() if n > 1]
    if doubled:
        raise AssertionError(f"{len(doubled)} event(s) twice in the topic: {doubled[:3]}")
    return times


def stream_times(redis_url: str, namespace: str) -> dict[str, list[int]]:
    """Each observation's prediction-stream entries: the milliseconds Redis added them."""
    client: Any = make_redis(redis_url)
    found: dict[str, list[int]] = {}
    try:
        for entry_id, fields in client.xrange(f"{namespace}:predictions"):
            at = int(entry_id.split(b"-")[0])
            found.setdefault(fields[b"event_id"].decode(), []).append(at)
    finally:
        client.close()
    return found


def account(
    redis_url: str, settings: Settings, times: dict[tuple[str, str], Any]
) -> dict[str, Any]:
    """Whether every observation in the topic was predicted exactly once and every outcome
    learned, by the tasks' counts and the prediction stream."""
    observations = {i for kind, i in times if kind == "observation"}
    outcomes = len(times) - len(observations)
    totals = metric_totals(redis_url, settings.namespace)
    stream = stream_times(redis_url, settings.namespace)
    return {
        "events": len(times),
        "observations": len(observations),
        "task_counts": dict(totals),
        "stream_entries_repeated_by_replays": sum(len(v) - 1 for v in stream.values()),
        "checks": {
            # the stream is at-least-once: a batch replayed after a rebalance adds again
            "every observation predicted exactly once": totals["observations"]
            == totals["predictions"]
            == len(observations)
            and stream.keys() == observations,
            "every outcome learned": totals["outcomes"] == outcomes,
            "no duplicate, no dead letter": totals["duplicates"] == totals["dead_letters"] == 0,
        },
    }


def finish(worker: Worker, redis_url: str, settings: Settings, what: str) -> dict[str, Any]:
    """Wait until ``worker`` processed every event of the topic (``what``: the wait's name),
    stop it, and account for them (:func:`account`), its clean stop and its log too."""
    times = topic_times(settings)
    wait_for(lambda: worker.alive() and processed(redis_url, settings) >= len(times), 300, what)
    status = worker.stop()
    report = account(redis_url, settings, times)
    report["checks"]["the worker stopped cleanly"] = status == 0
    report["checks"]["no traceback of driftline's in its log"] = not worker.own_tracebacks()
    report["times"] = times
    return report


def processed(redis_url: str, settings: Settings) -> int:
    totals = metric_totals(redis_url, settings.namespace)
    return totals["observations"] + totals["outcomes"]


def dump(report: dict[str, Any], out: Path) -> None:
    out.write_text(json.dumps(report, indent=2, default=str))


def pacing() -> threading.Event:
    """An event never set: its ``wait`` paces a phase of the run (not a synchronisation)."""
    return threading.Event()
