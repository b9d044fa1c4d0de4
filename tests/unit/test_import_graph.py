"""No import circle anywhere in driftline: the module graph (grimp, which import-linter
uses, counting imports inside functions and ``TYPE_CHECKING`` blocks) has no cycle.

A cycle makes a module unreadable without the other and its import order fragile; the
core's two former circles (``contract`` <-> ``contract_steps``, ``metrics`` <->
``quality_metrics``) were broken by giving the shared part a module of its own.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]


def cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if not other.startswith(package):
                continue
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(graph.modules):
            if module.startswith(package) and module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found)


def build(root: Path) -> grimp.ImportGraph:
    sys.path.insert(0, str(root))
    saved = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] == "driftline"}
    for name in saved:
        del sys.modules[name]
    try:
        return grimp.build_graph("driftline", cache_dir=None)
    finally:
        sys.path.remove(str(root))
        sys.modules.update(saved)


def test_the_product_has_no_import_circle() -> None:
    graph = build(ROOT)
    assert "driftline.consumers.worker" in graph.modules  # the linked folders are read
    assert "driftline.producers.replay" in graph.modules
    assert cycles(graph, "driftline") == []


@pytest.mark.parametrize(
    ("module", "back_import", "cycle"),
    [
        pytest.param(
            "core/events/control.py",
            "from driftline.core.events import codec",
            ["driftline.core.events.codec", "driftline.core.events.control"],
            id="at-import",
        ),
        pytest.param(
            "core/contract/values.py",
            "def _later():\n    from driftline.core.contract.spec import Contract",
            ["driftline.core.contract.spec", "driftline.core.contract.values"],
            id="inside-a-function",
        ),
    ],
)
def test_a_circle_put_into_a_copy_is_found(
    tmp_path: Path, module: str, back_import: str, cycle: list[str]
) -> None:
    shutil.copytree(
        ROOT / "driftline", tmp_path / "driftline", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = tmp_path / "driftline" / module
    target.write_text(f"{target.read_text()}\n{back_import}\n")

    assert cycle in cycles(build(tmp_path), "driftline")
