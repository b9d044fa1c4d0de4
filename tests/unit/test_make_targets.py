"""What ``make demo`` and ``make test`` install, read from ``make -n`` (nothing is run):
the demo installs the command with its data ([demo]) and the stack's system packages,
never the dashboard test's browser; the suite installs everything, Chromium included."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make here")


def _planned(target: str, tmp_path: Path) -> str:
    """The commands ``make target`` would run for a fresh virtual environment."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_make_demo_installs_the_demo_extra_and_no_browser(tmp_path: Path):
    plan = _planned("demo", tmp_path)
    assert '-c constraints.txt -e ".[demo]"' in plan
    assert ".[dev]" not in plan  # no test tools, no linters
    assert "scripts/install-system-deps.sh" in plan
    assert "browser" not in plan and "chromium" not in plan
    assert "promtool" not in plan
    assert plan.rstrip().endswith("driftline demo")


def test_make_test_installs_the_suite_and_the_browser(tmp_path: Path):
    plan = _planned("test", tmp_path)
    assert '-c constraints.txt -e ".[dev]"' in plan  # [dev] holds [test], which holds [demo]
    assert "scripts/install-browser-deps.sh" in plan
    assert "scripts/ensure-promtool.sh" in plan  # tests/integration/ops checks with it
    assert plan.rstrip().endswith("-m pytest")
    assert "scripts/compile_core.py --optional" in plan  # the compiled core, where it can be


def test_make_test_pure_runs_the_fallback_then_compiles_again(tmp_path: Path):
    plan = _planned("test-pure", tmp_path)
    assert "scripts/compile_core.py --clean" in plan
    assert plan.index("--clean") < plan.index("-m pytest") < plan.rindex("compile_core.py")
    assert "test_river_equivalence.py" in plan and "test_recovery.py" in plan


def test_the_stack_script_installs_no_browser():
    script = (ROOT / "scripts" / "install-system-deps.sh").read_text()
    assert "chromium" not in script.replace("install-browser-deps", "")
    assert "apt-get install" in (ROOT / "scripts" / "install-browser-deps.sh").read_text()
