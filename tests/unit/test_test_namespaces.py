"""Every integration test's namespace is its own.

Topics, consumer groups and Redis keys are named by the namespace; two tests (or two modules
sharing a fixture) in one namespace read each other's records. A namespace made of the
process id was shared by two modules of one pytest run. This test reads the integration
tests' source: a namespace given to ``Settings`` or ``with_overrides`` must come from the
``namespace`` fixture, another namespace (``settings.namespace``), or a fresh uuid, never a
constant or the process id alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

INTEGRATION = Path(__file__).parents[1] / "integration"


def _namespace_values(tree: ast.AST) -> list[ast.expr]:
    values = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if name in {"Settings", "with_overrides"}:
                values += [k.value for k in node.keywords if k.arg == "namespace"]
    return values


def _unique(value: ast.expr) -> bool:
    names = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
    attributes = {n.attr for n in ast.walk(value) if isinstance(n, ast.Attribute)}
    if "getpid" in attributes:
        return False
    return bool(names & {"namespace", "ns", "uuid"} or attributes & {"namespace", "uuid4"})


@pytest.mark.parametrize("path", sorted(INTEGRATION.rglob("test_*.py")), ids=lambda p: p.name)
def test_integration_namespaces_are_unique_to_their_test(path: Path) -> None:
    tree = ast.parse(path.read_text())
    shared = [
        f"{path.name}:{value.lineno}: {ast.unparse(value)}"
        for value in _namespace_values(tree)
        if not _unique(value)
    ]
    assert shared == []


def test_the_check_sees_a_process_id_namespace() -> None:
    tree = ast.parse('Settings(namespace=f"ref{os.getpid()}")\nSettings(namespace="fixed")')
    assert [_unique(v) for v in _namespace_values(tree)] == [False, False]
    tree = ast.parse(
        'Settings(namespace=f"ref{uuid.uuid4().hex}")\ns.with_overrides(namespace=namespace)'
    )
    assert [_unique(v) for v in _namespace_values(tree)] == [True, True]
