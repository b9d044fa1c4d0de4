"""Every shell and Python block of the README and docs/ is run by a test, or says why not.

A user copies these blocks first (house style 19). Each fenced block in ``bash``, ``sh``,
``console``, ``shell`` or ``python`` of ``README.md`` and ``docs/**/*.md`` has, on the line
just before its fence, one of:

- ``<!-- tested-by: tests/unit/test_docs_blocks.py -->``: this test runs it, in a
  subprocess from a temporary folder with no service (``driftline --help``, ``driftline
  config``, Python that builds objects);
- ``<!-- tested-by: tests/<path>.py -->``: that test file exists and holds every command
  line of the block (comments dropped, whitespace collapsed), so it runs what the docs
  say, as they say it;
- ``<!-- not runnable: <reason> -->``: why no test runs it (it needs Docker, it runs for
  ever, it installs system packages...);
- ``<!-- pending: issue 21 -->``: a command that work in progress on issue 21 adds; counted
  as not runnable until it exists.

A block with none of them fails, named by its file and line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SELF = "tests/unit/test_docs_blocks.py"
#: The languages whose blocks a user runs as they are.
RUNNABLE = frozenset({"bash", "sh", "console", "shell", "python"})
PENDING_REASON = "issue 21"

_FENCE = re.compile(r"^\s*```\s*([\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*(tested-by|not runnable|pending)\s*:\s*(.*?)\s*-->\s*$")
_COMMENT = re.compile(r"(^|\s)#(\s.*)?$")


class Marker(StrEnum):
    """What the line before a block says of it."""

    TESTED_BY = "tested-by"
    NOT_RUNNABLE = "not runnable"
    PENDING = "pending"


@dataclass(frozen=True)
class Block:
    """One fenced block: where it opens (1-based line of the fence), its language, its
    text, and the marker on the line before (``None``: none)."""

    path: str
    line: int
    language: str
    text: str
    marker: Marker | None = None
    argument: str = ""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def blocks_of(text: str, path: str = "doc.md") -> list[Block]:
    """The runnable blocks of a Markdown text, each with the marker just above its fence.

    >>> doc = "<!-- not runnable: needs Docker -->\\n```bash\\ndocker compose up\\n```\\n"
    >>> [(b.line, b.marker, b.argument, b.text) for b in blocks_of(doc)]
    [(2, <Marker.NOT_RUNNABLE: 'not runnable'>, 'needs Docker', 'docker compose up\\n')]
    >>> blocks_of("```yaml\\na: 1\\n```\\n```python\\nx = 1\\n```\\n")[0].marker is None
    True
    """
    lines = text.splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if not opened:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        language = opened.group(1).lower()
        if language in RUNNABLE:
            above = _MARKER.match(lines[index - 1]) if index else None
            found.append(
                Block(
                    path,
                    index + 1,
                    language,
                    "".join(f"{line}\n" for line in lines[index + 1 : end]),
                    Marker(above.group(1)) if above else None,
                    above.group(2) if above else "",
                )
            )
        index = end + 1
    return found


def command_lines(block: Block) -> list[str]:
    """The block's command lines: comments dropped, continued lines joined, a console's
    output left out (its commands start with ``$``), whitespace collapsed.

    >>> shell = "# start\\nmake demo   # a year\\ndriftline produce csv a.csv \\\\\\n    --key k\\n"
    >>> command_lines(Block("d.md", 1, "bash", shell))
    ['make demo', 'driftline produce csv a.csv --key k']
    >>> command_lines(Block("d.md", 1, "console", "$ driftline config\\n{}\\n"))
    ['driftline config']
    """
    lines = block.text.splitlines()
    if block.language == "console":
        lines = [line.strip()[1:] for line in lines if line.strip().startswith("$")]
    joined: list[str] = []
    pending = ""
    for raw in lines:
        line = _COMMENT.sub("", raw).rstrip() if block.language != "python" else raw.rstrip()
        if block.language == "python" and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\") and block.language != "python":
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.strip():
            joined.append(" ".join(line.split()))
    return joined


def all_blocks() -> list[Block]:
    """Every runnable block of README.md and docs/**/*.md."""
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [
        block
        for path in paths
        for block in blocks_of(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]


BLOCKS = all_blocks()


def test_the_docs_have_blocks_to_check():
    assert len(BLOCKS) >= 10, [block.where for block in BLOCKS]
    assert any(block.path == "README.md" for block in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_every_block_is_tested_or_says_why_not(block: Block):
    assert block.marker is not None, (
        f"{block.where}: a {block.language} block with no marker on the line before it: "
        "<!-- tested-by: tests/... -->, <!-- not runnable: reason --> or "
        f"<!-- pending: {PENDING_REASON} -->"
    )
    if block.marker is Marker.NOT_RUNNABLE:
        assert block.argument, f"{block.where}: 'not runnable' needs a reason"
    elif block.marker is Marker.PENDING:
        assert block.argument == PENDING_REASON, f"{block.where}: pending on what?"
    elif block.argument != SELF:
        _check_tested_by(block)


def _check_tested_by(block: Block) -> None:
    test = ROOT / block.argument
    assert block.argument.startswith("tests/") and test.is_file(), (
        f"{block.where}: tested-by {block.argument!r}: no such test file"
    )
    # a line continued in the test's source (``\\`` in a string) reads as one line
    held = " ".join(re.sub(r"\\+\n", " ", test.read_text(encoding="utf-8")).split())
    missing = [line for line in command_lines(block) if line not in held]
    assert not missing, f"{block.where}: {block.argument} does not run {missing}"


SELF_RUN = [
    block for block in BLOCKS if block.marker is Marker.TESTED_BY and block.argument == SELF
]


@pytest.mark.parametrize("block", SELF_RUN, ids=[block.where for block in SELF_RUN])
def test_blocks_without_services_run(block: Block, tmp_path: Path):
    """Run as a user would: from an empty folder, ``driftline`` on the PATH (this
    interpreter's), no DRIFTLINE_* variable and no local stack."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "driftline"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m driftline "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"),
        "COLUMNS": "120",
    }
    work = tmp_path / "work"
    work.mkdir()
    script = work / ("block.py" if block.language == "python" else "block.sh")
    script.write_text(block.text)
    command = (
        [sys.executable, str(script)]
        if block.language == "python"
        else ["bash", "-euo", "pipefail", str(script)]
    )
    done = subprocess.run(
        command, cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{block.where} failed:\n{done.stdout}\n{done.stderr}"


def test_a_block_without_a_marker_is_found_with_its_line():
    doc = "# Title\n\n```bash\ndriftline stack up\n```\n<!-- a comment -->\n```python\nx\n```\n"
    found = blocks_of(doc, "x.md")
    assert [(b.where, b.marker) for b in found] == [("x.md:3", None), ("x.md:7", None)]


def test_a_tested_by_file_must_hold_every_command_line():
    here = Block("x.md", 1, "bash", "driftline produce csv missing.csv --key k\n")
    _check_tested_by(Block(here.path, 1, "bash", here.text, Marker.TESTED_BY, SELF))
    absent = "driftline " + "-".join(["never", "typed"])  # written nowhere in this file
    with pytest.raises(AssertionError, match="does not run"):
        _check_tested_by(Block("x.md", 1, "bash", f"{absent}\n", Marker.TESTED_BY, SELF))
