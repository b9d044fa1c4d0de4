"""``driftline consume --processes N``: N worker processes in one consumer group, from one
command, stopped together.

Each process is the same command without ``--processes`` (and with ``--json``, so its
summary can be read back), its own interpreter: a worker is single-threaded Python, so one
process uses one core, and Kafka's group spreads the partitions over them. The parent only
supervises:

- a signal (SIGTERM, SIGINT) is passed on to every process, which finishes its batch and
  stops; a second one kills them at once;
- a process that ends with a failure stops the others (a supervisor above, such as
  systemd or Kubernetes, restarts the whole, as it would one worker);
- the summaries are merged: counts summed, partitions joined, the slowest elapsed time.

``--metrics-port P`` gives process ``i`` the port ``P + i`` (``0`` stays ``0``: any free
port).

>>> worker_argv(["consume", "--processes", "2", "--until-idle", "3"], 0, None)
['consume', '--until-idle', '3', '--json']
>>> argv = ["-n", "x", "consume", "--processes=2", "--metrics-port", "9100", "--json"]
>>> worker_argv(argv, 1, 9100)
['-n', 'x', 'consume', '--metrics-port', '9101', '--json']
>>> merged([{"records": 3, "elapsed_s": 1.0, "partitions": [1]},
...         {"records": 4, "elapsed_s": 2.0, "partitions": [0]}])["records"]
7
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["WorkerProcesses", "merged", "worker_argv"]

log = logging.getLogger("driftline")

#: Summary figures that are the slowest process's, not a sum.
_LONGEST = frozenset({"elapsed_s"})
#: Summary figures recomputed from the merged ones.
_DERIVED = frozenset({"records_per_s"})


def worker_argv(argv: Sequence[str], index: int, metrics_port: int | None) -> list[str]:
    """The command line of worker process ``index``: ``argv`` (the command's, without the
    program) with ``--processes`` dropped, ``--metrics-port`` moved up by ``index`` and
    ``--json`` added."""
    out: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--processes":
            next(words, None)
        elif word.startswith("--processes="):
            continue
        elif word == "--metrics-port":
            next(words, None)
        elif word.startswith("--metrics-port="):
            continue
        else:
            out.append(word)
    if metrics_port is not None:
        at = out.index("consume") + 1
        port = metrics_port + index if metrics_port else 0
        out[at:at] = ["--metrics-port", str(port)]
    if "--json" not in out:
        out.append("--json")
    return out


def merged(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One summary of the processes' ``summaries``: counts summed, partitions joined, the
    longest elapsed time, the rate over it."""
    total: dict[str, Any] = {"processes": len(summaries)}
    for summary in summaries:
        for name, value in summary.items():
            if name == "partitions":
                total[name] = sorted(set(total.get(name, [])) | set(value))
            elif name in _LONGEST:
                total[name] = max(total.get(name, 0.0), value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                total[name] = total.get(name, 0) + value
    for name in _DERIVED:
        total.pop(name, None)
    elapsed = total.get("elapsed_s") or 0.0
    if elapsed > 0 and "records" in total:
        total["records_per_s"] = round(total["records"] / elapsed, 1)
    return total


class WorkerProcesses:
    """N ``driftline`` processes with the given command lines, supervised together."""

    def __init__(
        self,
        commands: Sequence[list[str]],
        spawn: Callable[[list[str]], subprocess.Popen[str]] | None = None,
    ) -> None:
        self._spawn = spawn or _spawn
        self._commands = [list(c) for c in commands]
        self._processes: list[subprocess.Popen[str]] = []
        self._stopping = threading.Event()
        self._signals = 0

    def run(self) -> tuple[int, list[dict[str, Any]]]:
        """Start every process, wait for all; the first failure's exit status (0 if none)
        and the summaries the processes printed."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._processes = [self._spawn(command) for command in self._commands]
            outputs: list[str] = [""] * len(self._processes)
            readers = [
                threading.Thread(target=self._read, args=(i, p, outputs), daemon=True)
                for i, p in enumerate(self._processes)
            ]
            for reader in readers:
                reader.start()
            for reader in readers:
                reader.join()
            codes = [p.wait() for p in self._processes]
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
        failure = next((c if c > 0 else 128 - c for c in codes if c != 0), 0)
        return failure, [s for s in (_last_json(o) for o in outputs) if s is not None]

    def _read(self, index: int, process: subprocess.Popen[str], outputs: list[str]) -> None:
        assert process.stdout is not None
        outputs[index] = process.stdout.read()
        if process.wait() != 0 and not self._stopping.is_set():
            log.error(
                "worker process %s ended with status %s: stopping the others",
                index,
                process.returncode,
            )
            self.stop(signal.SIGTERM)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signals += 1
        self.stop(signal.SIGTERM if self._signals == 1 else signal.SIGKILL)

    def stop(self, sig: int) -> None:
        """Send ``sig`` to every process still running."""
        self._stopping.set()
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(sig)


def _spawn(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "driftline", *command],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a terminal's Ctrl-C reaches the parent only: it passes it on
    )


def _last_json(output: str) -> dict[str, Any] | None:
    """The JSON object on the last line of ``output`` that holds one."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                continue
            return found if isinstance(found, dict) else None
    return None
