"""The suite on a compiled core (`make compile`): what pytest cannot collect from an extension.

pytest collects the core's doctests (``--doctest-modules``) by importing each ``.py`` and
checking the module it gets came from that file; for a module built with Cython it gets the
extension beside it and refuses ("import file mismatch"). Those modules' doctests are left to
the pure run (the same source; CI runs the suite on both builds), and the header says how
many modules run compiled.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _compiled(path: Path) -> bool:
    return path.suffix == ".py" and any(path.parent.glob(f"{path.stem}.*.so"))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if "core" in collection_path.parts and _compiled(collection_path):
        return True
    return None


def pytest_report_header(config: pytest.Config) -> str:
    from driftline.core.compiled import recorded_digests, stale_sources

    recorded = recorded_digests()
    if not recorded:
        return "driftline core: pure Python"
    stale = stale_sources(recorded)
    return f"driftline core: {len(recorded) - len(stale)} modules compiled, {len(stale)} stale"
