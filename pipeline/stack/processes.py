"""Small process and port helpers for the local stack (POSIX)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "free_port",
    "is_ours",
    "port_frees",
    "port_is_free",
    "recorded_alive",
    "spawn",
    "start_ticks",
    "stop_processes",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """Whether a server can listen on ``port`` of 127.0.0.1 now.

    Bound as Kafka and Redis bind (``SO_REUSEADDR``), so the connections a killed server
    leaves in TIME_WAIT do not keep it from coming back on its port; a listener does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


#: How long a recorded port may stay taken once its process is gone to :func:`start_ticks`:
#: a killed JVM's main thread is a zombie at once, while its other threads, still exiting,
#: hold its sockets (its listener too) for a moment more; longer on a busy machine.
EXIT_GRACE_S = 10.0


def port_frees(port: int, within_s: float | None = None) -> bool:
    """Whether ``port`` is free now, or frees within ``within_s`` (default
    :data:`EXIT_GRACE_S`, polled every 50 ms).

    For a port a process that just died had: a port another process holds stays taken,
    and costs the caller ``within_s``.
    """
    deadline = time.monotonic() + (EXIT_GRACE_S if within_s is None else within_s)
    while not port_is_free(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def spawn(command: list[str], stdout_path: Path) -> int:
    """Start a process in its own session, so it outlives the command that started it."""
    with stdout_path.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    return process.pid


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or ``None`` if it is gone.

    A pid plus its start time names one process for good: a recycled pid has another
    start time. Zombies count as gone.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def is_ours(pid: int, started: int) -> bool:
    """Whether ``pid`` is alive and is the very process that started at ``started``."""
    return start_ticks(pid) == started


def recorded_alive(entry: Mapping[str, Any] | None) -> bool:
    """Whether the process a state entry records (``pid``, ``started``) is alive.

    >>> recorded_alive({"pid": os.getpid(), "started": start_ticks(os.getpid())})
    True
    >>> recorded_alive({"pid": os.getpid()}), recorded_alive(None)
    (False, False)
    """
    if not entry:
        return False
    started = entry.get("started")  # absent in a state file of another version
    return started is not None and is_ours(int(entry["pid"]), int(started))


def stop_processes(targets: list[tuple[int, int]], timeout_s: float = 30.0) -> list[int]:
    """Stop every target that is ours at once (SIGTERM, wait, SIGKILL); return their pids.

    Stopping the nodes of a cluster together is much faster than one by one: a lone
    surviving controller no longer waits for a quorum that is shutting down.
    """
    ours = [(pid, marker) for pid, marker in targets if is_ours(pid, marker)]
    for pid, _ in ours:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for sig_deadline, sig in ((deadline, None), (time.monotonic() + timeout_s + 5, signal.SIGKILL)):
        pending = [(pid, m) for pid, m in ours if is_ours(pid, m)]
        if sig is not None:
            for pid, _ in pending:
                os.kill(pid, sig)
        while pending and time.monotonic() < sig_deadline:
            for pid, _ in pending:
                _reap(pid)
            pending = [(pid, m) for pid, m in pending if is_ours(pid, m)]
            if pending:
                time.sleep(0.1)
    return [pid for pid, _ in ours]


def _reap(pid: int) -> None:
    """Collect a child's exit status when the stopping process is its parent."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
