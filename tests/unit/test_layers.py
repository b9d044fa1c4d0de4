"""The layers hold: import-linter keeps the contracts in pyproject.toml on the real tree,
and a wrong import, put into a copy of the tree on purpose, fails the run and is named.

The contracts (``[tool.importlinter]``): app > producers | consumers | read | stack > adapters >
core, and a core that imports no service client, process, socket or terminal library.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# the lint-imports script of the interpreter running the tests (import-linter is a test extra)
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
#: What import-linter analyses (and so what the copy must hold), as pyproject.toml says.
PACKAGES = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)

LAYERS = "Layers: app > producers | consumers | read | stack > adapters > core"
PURE_CORE = "The core reaches no service, process, socket or terminal"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on ``tree`` with its own pyproject.toml and no cache."""
    assert LINT_IMPORTS.exists(), f"import-linter is not installed next to {sys.executable}"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_real_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"{LAYERS} KEPT" in output
    assert f"{PURE_CORE} KEPT" in output


@pytest.mark.parametrize(
    ("module", "bad_import", "contract", "chain"),
    [
        pytest.param(
            "driftline/core/quality/dedupe.py",
            "import redis",
            PURE_CORE,
            "driftline.core.quality.dedupe -> redis",
            id="core-imports-a-service-client",
        ),
        pytest.param(
            "driftline/core/events/model.py",
            "from driftline.app import cli",
            LAYERS,
            "driftline.core.events.model -> driftline.app",
            id="core-imports-the-app",
        ),
        pytest.param(
            "driftline/consumers/__init__.py",
            "import driftline.producers.publisher",
            LAYERS,
            "driftline.consumers -> driftline.producers.publisher",
            id="consumers-import-producers",
        ),
        pytest.param(
            "driftline/producers/run.py",
            "import driftline.consumers",
            LAYERS,
            "driftline.producers.run -> driftline.consumers",
            id="producers-import-consumers",
        ),
        pytest.param(
            "driftline/read/tail.py",
            "import driftline.consumers",
            LAYERS,
            "driftline.read.tail -> driftline.consumers",
            id="the-read-side-imports-consumers",
        ),
        pytest.param(
            "driftline/core/times.py",
            "def _later():\n    import subprocess",
            PURE_CORE,
            "driftline.core.times -> subprocess",
            id="core-imports-subprocess-in-a-function",
        ),
        pytest.param(
            "driftline/core/learning/metrics.py",
            "from socket import socket",
            PURE_CORE,
            "driftline.core.learning.metrics -> socket",
            id="core-imports-socket",
        ),
        pytest.param(
            "driftline/adapters/redis_keys.py",
            "from driftline.stack import LocalStack",
            LAYERS,
            "driftline.adapters.redis_keys -> driftline.stack",
            id="adapters-import-the-stack",
        ),
    ],
)
def test_a_broken_contract_fails_the_run(
    tmp_path: Path, module: str, bad_import: str, contract: str, chain: str
) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(f"{target.read_text()}\n{bad_import}\n")

    result = lint_imports(tmp_path)
    output = result.stdout + result.stderr

    assert result.returncode != 0, output
    assert f"{contract} BROKEN" in output, output
    # the copy was analysed, not the installed tree: the injected import is reported
    assert chain in output, output
