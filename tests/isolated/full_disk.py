"""A broker whose log directory fills: inside a mount namespace of its own (``unshare
-m``), the broker's data folder is a tmpfs of a few megabytes.

    unshare -m python -m tests.isolated.full_disk --home DIR --out report.json

A worker consumes while ``driftline produce flights`` publishes until the folder is full.
The report says how ``produce`` ended (its exit status and the last line it printed: one
clear ``error:`` line, no traceback), what the worker did meanwhile (still running,
waiting), and, once the folder is made larger and the broker started again
(``LocalStack.up``), whether every event in the topic was predicted exactly once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from driftline.adapters.settings import StackSettings
from driftline.adapters.topics import prepare_topics
from driftline.stack import LocalStack
from driftline.stack.processes import start_ticks
from tests.integration.three_brokers import (
    driftline,
    endpoints,
    own_env,
    own_settings,
    wait_for,
)
from tests.isolated.common import Worker, dump, finish, pacing, reap


def tmpfs(path: Path, megabytes: int, *, remount: bool = False) -> None:
    options = f"{'remount,' if remount else ''}size={megabytes}m"
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)


def run(
    stack: LocalStack, home: Path, data: Path, args: argparse.Namespace, report: dict[str, Any]
) -> None:
    settings = own_settings(stack, "full", partitions=2)
    prepare_topics(settings.kafka, settings.namespace)
    redis_url = endpoints(stack).redis_url
    worker = Worker(stack, settings, home / "worker.log")
    report["worker_pid"] = worker.process.pid
    checks = report.setdefault("checks", {})

    broker_pid = int(stack.status().brokers[0]["pid"])

    # A replay that fills the folder, the worker consuming meanwhile.
    began = time.monotonic()
    produce = subprocess.run(
        driftline("produce", "flights", "--limit", str(args.flights)),
        env=own_env(stack, settings, DRIFTLINE_REQUEST_TIMEOUT_MS="10000"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = produce.stderr.strip().splitlines()
    report["produce"] = {
        "exit_status": produce.returncode,
        "seconds": round(time.monotonic() - began, 1),
        "last_line": lines[-1] if lines else "",
        "data_folder_mb": args.mb,
    }
    checks["produce failed"] = produce.returncode != 0
    checks["with one clear error line, no traceback"] = (
        bool(lines) and lines[-1].startswith("error:") and "Traceback" not in produce.stderr
    )
    kafka_log = (stack.home / "kafka-1" / "kafka.log").read_text(errors="replace")
    report["broker"] = {
        "alive_after": start_ticks(broker_pid) is not None,
        "says": [
            line.strip()[:300]
            for line in kafka_log.splitlines()
            if "No space left" in line or "have failed" in line or "offline" in line.lower()
        ][:5],
    }

    # The worker waits: still running a while later, nothing of its own failed.
    pacing().wait(args.wait_s)
    checks["the worker waited (still running)"] = worker.process.poll() is None
    worker_log = worker.log.read_text(errors="replace")
    report["worker_said"] = [
        line[:300] for line in worker_log.splitlines() if "unavailable" in line or "waiting" in line
    ][:5]

    # Room again, and the broker restarted (an offline log folder comes back only with a
    # restart): everything in the topic is predicted once.
    tmpfs(data, args.mb * 40, remount=True)
    if start_ticks(broker_pid) is not None:
        os.kill(broker_pid, signal.SIGTERM)
        wait_for(lambda: start_ticks(broker_pid) is None, 120, "the broker to stop")
    stack.up(brokers=1)
    accounting = finish(worker, redis_url, settings, "every event, once the broker is back")
    report["events_in_topic"] = len(accounting.pop("times"))
    checks.update(accounting.pop("checks"))
    report |= accounting
    report["passed"] = all(checks.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mb", type=int, default=24, help="the broker's data folder (MB)")
    parser.add_argument("--flights", type=int, default=300_000)
    parser.add_argument("--wait-s", type=float, default=10.0, help="how long the worker waits")
    parser.add_argument("--secure", action="store_true", help="on a secured stack (TLS, SASL)")
    args = parser.parse_args(argv)
    stack_home = args.home / "stack"
    data = stack_home / "kafka-1" / "data"
    data.mkdir(parents=True, exist_ok=True)
    tmpfs(data, args.mb)
    stack = LocalStack(
        StackSettings(home=stack_home, brokers=1, kafka_heap="384m", secure=args.secure)
    )
    report: dict[str, Any] = {"passed": False}
    try:
        stack.up(brokers=1)
        run(stack, args.home, data, args, report)
    except AssertionError as failed:  # in the report, with what was seen before it
        report["error"] = str(failed)
    finally:
        reap(report)
        stack.down()
        subprocess.run(["umount", str(data)], check=False)
        shutil.rmtree(stack_home, ignore_errors=True)
    dump(report, args.out)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
