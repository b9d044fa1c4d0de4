"""The supervisor of ``consume --processes N`` on stand-in processes (short Python scripts
in place of workers): summaries merged, a signal passed on to every process, a failure
stopping the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from driftline.app.worker_processes import WorkerProcesses

#: A stand-in worker: says it started (a file), waits for SIGTERM or its time, prints a
#: summary and exits with its status. A fifth argument names another stand-in's file: it
#: does not end before that one has started (and so can take a signal).
WORKER = """
import json, pathlib, signal, sys, threading, time
started, wait_s = sys.argv[1], float(sys.argv[2])
status, records = int(sys.argv[3]), int(sys.argv[4])
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
pathlib.Path(started).touch()
stopped = stop.wait(wait_s)
deadline = time.monotonic() + 60
while sys.argv[5:] and not pathlib.Path(sys.argv[5]).exists() and time.monotonic() < deadline:
    time.sleep(0.01)
print(json.dumps({"records": records, "elapsed_s": 1.0, "partitions": [records],
                  "stopped": int(stopped)}))
sys.exit(status)
"""


def spawn(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WORKER, *command], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip


def started(tmp_path: Path, count: int) -> list[str]:
    return [str(tmp_path / f"started-{i}") for i in range(count)]


def test_summaries_of_every_process_are_read(tmp_path: Path) -> None:
    files = started(tmp_path, 2)
    commands = [[files[0], "0", "0", "3"], [files[1], "0", "0", "4"]]
    status, summaries = WorkerProcesses(commands, spawn).run()
    assert status == 0
    assert sorted(s["records"] for s in summaries) == [3, 4]


def test_a_signal_reaches_every_process(tmp_path: Path) -> None:
    files = started(tmp_path, 2)
    commands = [[f, "60", "0", str(i)] for i, f in enumerate(files)]

    def signal_once_both_run() -> None:
        deadline = time.monotonic() + 60
        while not all(Path(f).exists() for f in files) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=signal_once_both_run)
    sender.start()
    began = time.monotonic()
    status, summaries = WorkerProcesses(commands, spawn).run()
    sender.join()
    assert status == 0 and time.monotonic() - began < 30
    assert [s["stopped"] for s in summaries] == [1, 1]  # each finished on the signal


def test_a_failed_process_stops_the_others_and_gives_the_status(tmp_path: Path) -> None:
    files = started(tmp_path, 2)
    # The first fails only once the second runs: a signal before its handler is set
    # would end it without a summary (the default action), which is not what is tested.
    commands = [[files[0], "0", "3", "1", files[1]], [files[1], "60", "0", "2"]]
    began = time.monotonic()
    status, summaries = WorkerProcesses(commands, spawn).run()
    assert status == 3 and time.monotonic() - began < 30
    assert {s["records"]: s["stopped"] for s in summaries} == {1: 0, 2: 1}
