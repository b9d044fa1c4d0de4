"""Which of the core's modules run compiled, and the guard that refuses a stale extension.

``make compile`` (scripts/compile_core.py) builds some of the core's modules with Cython into
extensions beside their ``.py`` files, which the import system then prefers, and writes
``compiled.json`` here: the sha256 of each source it compiled. An extension built from a
source that has changed since would silently run the old code; :func:`guard`, run once when
``driftline.core`` is imported, hashes the listed sources (about a millisecond) and imports
the ``.py`` of any that differ, with a warning. Without a manifest (a pure tree) it reads
nothing further. ``DRIFTLINE_PURE_CORE=1`` imports every compiled module as source (the
pure-Python fallback without a rebuild: to compare, or to step through in a debugger).

>>> recorded = {"driftline.core.times": "0" * 64}
>>> sorted(stale_sources(recorded, CORE))
['driftline.core.times']
>>> stale_sources({}, CORE)
{}
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = [
    "CORE",
    "MANIFEST",
    "PURE_VARIABLE",
    "SourceFirst",
    "guard",
    "recorded_digests",
    "source_of",
    "stale_sources",
]

#: The core package's folder and the build's manifest in it.
CORE = Path(__file__).resolve().parent
MANIFEST = CORE / "compiled.json"
PREFIX = "driftline.core."
#: Set to 1: every compiled module is imported from its source.
PURE_VARIABLE = "DRIFTLINE_PURE_CORE"


def source_of(module: str, core: Path = CORE) -> Path:
    """The ``.py`` of a core module, by its import name.

    >>> source_of("driftline.core.task.partition", Path("/x/core")).as_posix()
    '/x/core/task/partition.py'
    """
    return core.joinpath(*module.removeprefix(PREFIX).split(".")).with_suffix(".py")


def digest(path: Path) -> str:
    """The sha256 of a file, as the manifest records a source's."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_digests(manifest: Path = MANIFEST) -> dict[str, str]:
    """Each compiled module's source digest as the last build recorded it ({} when pure)."""
    try:
        text = manifest.read_text()
    except FileNotFoundError:
        return {}
    modules: dict[str, str] = json.loads(text)["modules"]
    return modules


def stale_sources(recorded: Mapping[str, str], core: Path = CORE) -> dict[str, Path]:
    """The modules whose ``.py`` is no longer the source their extension was built from."""
    stale: dict[str, Path] = {}
    for module, built_from in recorded.items():
        source = source_of(module, core)
        if source.exists() and digest(source) != built_from:
            stale[module] = source
    return stale


class SourceFirst:
    """A meta path finder that imports the named modules from their ``.py``, whatever is
    beside it (importlib.abc's base class is left out: it costs ``driftline --version``
    a few milliseconds of imports)."""

    def __init__(self, sources: Mapping[str, Path]) -> None:
        self.sources = dict(sources)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        source = self.sources.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def guard(manifest: Path = MANIFEST, core: Path = CORE) -> list[str]:
    """Import the ``.py`` of every compiled module whose source changed since the build
    (of every compiled module with ``DRIFTLINE_PURE_CORE=1``)."""
    recorded = recorded_digests(manifest)
    if recorded and os.environ.get(PURE_VARIABLE) == "1":
        sys.meta_path.insert(0, SourceFirst({m: source_of(m, core) for m in recorded}))
        return []
    stale = stale_sources(recorded, core)
    if stale:
        import logging

        sys.meta_path.insert(0, SourceFirst(stale))
        logging.getLogger(__name__).warning(
            "importing %d core modules as source, their extensions are stale (make compile): %s",
            len(stale),
            ", ".join(sorted(stale)),
        )
    return sorted(stale)
