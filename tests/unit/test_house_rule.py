"""The house rule: no module over 400 lines and no class over 300 lines in the product's
packages (``pipeline/``, ``consumers/``, ``producers/``).

Functions are ruff's part of the rule: PLR0915 (too many statements) with
``max-statements = 60`` in pyproject.toml's ``[tool.ruff.lint]``, run by ``make lint``
with this file. Here the real tree is measured, and the checker is shown to find an
oversize module and class put into a temporary tree, and ruff to refuse a long function
in the packages (and to leave the tests alone).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The product's folders; ``pipeline/consumers`` and ``pipeline/producers`` are links to two
#: of them, not followed (each file is measured once, at its real path).
PACKAGES = ("pipeline", "consumers", "producers")
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 300
MAX_STATEMENTS = 60
RUFF = Path(sys.executable).with_name("ruff")


class Oversize(NamedTuple):
    """A module or class over its limit: where, what, how long."""

    path: str
    line: int
    what: str
    lines: int
    limit: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} has {self.lines} lines (at most {self.limit})"


def product_modules(root: Path) -> list[Path]:
    """Every ``.py`` file under the product's folders of ``root``, links not followed."""
    found: list[Path] = []
    for package in PACKAGES:
        for folder, dirs, files in os.walk(root / package):  # followlinks=False
            dirs.sort()
            found += [Path(folder, name) for name in sorted(files) if name.endswith(".py")]
    return found


def oversize(root: Path) -> list[Oversize]:
    """The modules over :data:`MAX_MODULE_LINES` lines and classes over
    :data:`MAX_CLASS_LINES` lines (nested classes too) of the product under ``root``."""
    found: list[Oversize] = []
    for path in product_modules(root):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(root).as_posix()
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(Oversize(where, 1, "module", lines, MAX_MODULE_LINES))
        for node in ast.walk(ast.parse(source, filename=where)):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                if length > MAX_CLASS_LINES:
                    what = f"class {node.name}"
                    found.append(Oversize(where, node.lineno, what, length, MAX_CLASS_LINES))
    return found


def test_no_module_or_class_of_the_product_is_over_its_limit() -> None:
    assert len(product_modules(ROOT)) > 100  # the real tree was read
    found = oversize(ROOT)
    assert not found, "over the house rule:\n" + "\n".join(map(str, found))


def _module(lines: int, class_lines: int = 0) -> str:
    """Python source of exactly ``lines`` lines, holding a class of ``class_lines`` lines."""
    body = []
    if class_lines:
        body = ["class Big:", *(f"    a{i} = {i}" for i in range(class_lines - 1))]
    return "\n".join([*body, *(f"b{i} = {i}" for i in range(lines - len(body)))]) + "\n"


def test_the_checker_finds_an_oversize_module_and_class(tmp_path: Path) -> None:
    (tmp_path / "pipeline" / "core").mkdir(parents=True)
    (tmp_path / "producers").mkdir()
    (tmp_path / "consumers").mkdir()
    (tmp_path / "pipeline" / "core" / "big.py").write_text(_module(401, class_lines=301))
    (tmp_path / "consumers" / "wide.py").write_text(_module(320, class_lines=301))
    (tmp_path / "producers" / "fits.py").write_text(_module(400, class_lines=300))
    (tmp_path / "pipeline" / "producers").symlink_to("../producers")  # not measured twice
    (tmp_path / "notes.py").write_text(_module(900))  # outside the product's folders

    assert [str(o) for o in oversize(tmp_path)] == [
        "pipeline/core/big.py:1: module has 401 lines (at most 400)",
        "pipeline/core/big.py:1: class Big has 301 lines (at most 300)",
        "consumers/wide.py:1: class Big has 301 lines (at most 300)",
    ]


def _ruff_on(source: str, filename: str) -> subprocess.CompletedProcess[str]:
    """``ruff check`` of ``source`` as if it were ``filename`` of this repository."""
    if not RUFF.exists():
        pytest.skip(f"ruff is not installed next to {sys.executable} (a dev extra)")
    return subprocess.run(
        [
            str(RUFF),
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "--stdin-filename",
            filename,
            "-",
        ],
        input=source,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _function(statements: int) -> str:
    """A function of exactly ``statements`` statements, clean otherwise."""
    body = "".join("    x += 1\n" for _ in range(statements - 2))
    return f"def long() -> None:\n    x = 0\n{body}    print(x)\n"


@pytest.mark.parametrize("package", PACKAGES)
def test_ruff_refuses_a_function_over_60_statements_in_the_product(package: str) -> None:
    filename = f"{package}/long_function.py"
    assert _ruff_on(_function(MAX_STATEMENTS), filename).returncode == 0
    over = _ruff_on(_function(MAX_STATEMENTS + 1), filename)
    assert over.returncode == 1, over.stdout + over.stderr
    assert f"PLR0915 Too many statements ({MAX_STATEMENTS + 1} > {MAX_STATEMENTS})" in over.stdout


def test_the_tests_may_hold_long_functions() -> None:
    result = _ruff_on(_function(MAX_STATEMENTS + 20), "tests/integration/test_long.py")
    assert result.returncode == 0, result.stdout + result.stderr
