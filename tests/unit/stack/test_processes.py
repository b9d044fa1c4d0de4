"""The local stack's processes: free ports (one in TIME_WAIT included), and whether a
recorded pid is still ours (recycled, dead, zombie or impossible pids are not)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from driftline.stack import processes


# -- ports and processes ---------------------------------------------------------------------------
def test_free_port_can_be_bound() -> None:
    port = processes.free_port()
    assert 1024 <= port <= 65_535
    assert processes.port_is_free(port)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not processes.port_is_free(port)


def test_is_ours_for_a_live_process_with_its_start_time() -> None:
    started = processes.start_ticks(os.getpid())
    assert started is not None
    assert processes.is_ours(os.getpid(), started)


def test_is_ours_is_false_for_a_recycled_pid() -> None:
    # the same pid with another start time is another process: never ours to stop
    started = processes.start_ticks(os.getpid())
    assert started is not None
    assert not processes.is_ours(os.getpid(), started + 1)
    assert not processes.is_ours(os.getpid(), started - 1)


def test_is_ours_is_false_for_a_dead_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = processes.start_ticks(child.pid)
    child.wait()
    assert started is not None
    assert processes.start_ticks(child.pid) is None
    assert not processes.is_ours(child.pid, started)


def test_is_ours_is_false_for_a_zombie() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = processes.start_ticks(child.pid)
    try:
        assert started is not None
        # wait for the exit but leave the child unreaped: a zombie whose pid and start stay
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert Path(f"/proc/{child.pid}/stat").exists()
        assert not processes.is_ours(child.pid, started)
    finally:
        child.wait()


def test_is_ours_is_false_for_a_pid_that_cannot_exist() -> None:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    assert processes.start_ticks(pid_max + 1) is None
    assert not processes.is_ours(pid_max + 1, 0)


def test_a_port_left_in_time_wait_is_free_for_a_server() -> None:
    # a killed server's connections linger in TIME_WAIT on its port; it must get it back
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Kafka and Redis do
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end goes to TIME_WAIT
        client.recv(1)
        client.close()
    assert f":{port:04X} " in time_wait_sockets()
    assert processes.port_is_free(port)


def time_wait_sockets() -> str:
    """The local addresses of /proc/net/tcp's sockets in TIME_WAIT (state 06)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return " ".join(f"{line.split()[1]} " for line in lines if line.split()[3] == "06")


def test_a_port_held_by_an_exiting_process_frees_within_the_grace() -> None:
    # a killed JVM's threads hold its listener a moment after its pid reads as gone
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    closer = threading.Timer(0.3, listener.close)
    closer.start()
    try:
        assert not processes.port_is_free(port)
        assert processes.port_frees(port, within_s=30.0)
    finally:
        closer.join()


def test_a_port_another_process_keeps_stays_taken_after_the_grace() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        started = time.monotonic()
        assert not processes.port_frees(stranger.getsockname()[1], within_s=0.2)
        assert time.monotonic() - started >= 0.2
