"""Prometheus's promtool for the tests: where ``scripts/ensure-promtool.sh`` builds it
(``make test`` runs it first; ``DRIFTLINE_PROMTOOL`` names another), and a run of it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "ensure-promtool.sh"


def promtool() -> Path:
    """The promtool the script built. Without Go (it cannot be built) the test skips,
    saying so; with Go and no promtool the test fails: ``make promtool`` builds it."""
    where = subprocess.run(
        [str(SCRIPT), "--where"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    path = Path(where)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    if shutil.which("go") is None:
        pytest.skip(f"no Go toolchain to build promtool ({SCRIPT.relative_to(ROOT)})")
    pytest.fail(f"no promtool at {path}: `make promtool` (scripts/ensure-promtool.sh) builds it")


def run_promtool(*args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    """Run ``promtool args``; fail the test with its output unless it exits 0."""
    done = subprocess.run(
        [str(promtool()), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool {' '.join(args)} exited {done.returncode}:\n{output}"
    return output
