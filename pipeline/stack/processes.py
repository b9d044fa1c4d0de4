"""Small process and port helpers for the local stack (POSIX)."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

__all__ = ["free_port", "is_ours", "port_is_free", "stop_process", "stop_processes"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def is_ours(pid: int, marker: str | list[str]) -> bool:
    """Whether process ``pid`` is alive and its command line contains every ``marker``.

    The markers (a config path under the stack's home, a port) make sure a recycled pid
    is never mistaken for a process the stack started.
    """
    markers = [marker] if isinstance(marker, str) else marker
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    if "\nState:\tZ" in status:
        return False
    return all(m in cmdline for m in markers)


def stop_process(pid: int, marker: str | list[str], timeout_s: float = 30.0) -> bool:
    """Stop ``pid`` if it is ours: SIGTERM, wait, then SIGKILL. True if it was running."""
    return bool(stop_processes([(pid, marker)], timeout_s))


def stop_processes(
    targets: list[tuple[int, str | list[str]]], timeout_s: float = 30.0
) -> list[int]:
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
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
