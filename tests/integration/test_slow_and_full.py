"""A slow link to the broker, and a broker whose log folder fills (issue 24, item 4): each
run of :mod:`tests.isolated` under ``unshare``, in namespaces of its own, with a stack of
its own, on a plain stack and on a secured one (``stack up --secure``). Where the machine
does not allow the namespace (no privilege, no ``tc``), the test says so and skips."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.endpoints import Endpoints

pytestmark = pytest.mark.integration

#: Whether a network namespace with an HTB qdisc on loopback can be made here.
NETWORK_PROBE = "ip link set lo up && tc qdisc add dev lo root handle 1: htb default 10"
#: Whether a mount namespace with a tmpfs can be made here.
MOUNT_PROBE = 'd=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs "$d" && umount "$d"'


def allowed(flag: str, probe: str) -> str | None:
    """``None`` when ``unshare flag sh -c probe`` works; otherwise why not."""
    if shutil.which("unshare") is None:
        return "no unshare command"
    done = subprocess.run(
        ["unshare", flag, "sh", "-c", probe], capture_output=True, text=True, timeout=30
    )
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def isolated(flag: str, probe: str, module: str, home: Path, *args: str) -> dict[str, Any]:
    why = allowed(flag, probe)
    if why is not None:
        pytest.skip(f"unshare {flag} is not allowed here: {why}")
    out = home / "report.json"
    done = subprocess.run(
        ["unshare", flag, sys.executable, "-m", module, "--home", str(home), "--out", str(out),
         *args],
        capture_output=True,
        text=True,
        timeout=1200,
    )  # fmt: skip
    assert out.exists(), done.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def failed(report: dict[str, Any]) -> list[str]:
    return [name for name, held in report["checks"].items() if not held]


@pytest.fixture
def local_only(services: Endpoints) -> None:
    if services.source != "local-stack":
        pytest.skip("these runs start stacks of their own: only where the local stack runs")


SECURED = pytest.mark.parametrize("secure", [False, True], ids=["plain", "secured"])


@SECURED
@pytest.mark.usefixtures("local_only")
def test_a_slow_link_to_the_broker_raises_latency_and_loses_nothing(
    tmp_path: Path, secure: bool
) -> None:
    flags = ["--secure"] if secure else []
    report = isolated("-n", NETWORK_PROBE, "tests.isolated.slow_broker", tmp_path, *flags)
    assert report["passed"], (report.get("error"), failed(report), report)
    latency = report["latency_s"]
    assert latency["slow"]["n"] > 0 and latency["before"]["n"] > 0, latency


@SECURED
@pytest.mark.usefixtures("local_only")
def test_a_full_log_folder_fails_produce_clearly_and_the_worker_waits(
    tmp_path: Path, secure: bool
) -> None:
    flags = ["--secure"] if secure else []
    report = isolated("-m", MOUNT_PROBE, "tests.isolated.full_disk", tmp_path, *flags)
    assert report["passed"], (report.get("error"), failed(report), report)
    assert report["produce"]["last_line"].startswith("error: publishing to")
    assert "No space left on device" in " ".join(report["broker"]["says"])
