"""The compiled core (`make compile`, scripts/compile_core.py): what runs is what the source says.

In a pure tree every listed module is its ``.py``; after `make compile` some are extensions
beside their ``.py``. Either way each must be its ``.py`` or an extension built from the SAME
source (the build's manifest records the sources' digests): a stale extension would silently
run old code. A checkpoint written by one build loads in the other. Runs on both builds.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from driftline.core import compiled
from driftline.core.compiled import SourceFirst, recorded_digests, source_of, stale_sources

ROOT = Path(__file__).resolve().parents[2]


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compile_core", ROOT / "scripts" / "compile_core.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build_script()
LISTED = [BUILD.module_name(m) for m in BUILD.MODULES]


def _extensions() -> dict[str, Path]:
    """Every extension module found under the core's folder, by import name."""
    found: dict[str, Path] = {}
    for path in compiled.CORE.rglob("*.so"):
        relative = path.relative_to(compiled.CORE).with_name(path.name.split(".")[0])
        found["driftline.core." + ".".join(relative.parts)] = path
    return found


@pytest.mark.parametrize("name", LISTED)
def test_each_listed_module_is_its_source_or_built_from_it(name: str) -> None:
    module = importlib.import_module(name)
    origin = Path(module.__file__ or "")
    source = source_of(name)
    if origin.suffix == ".py":
        assert origin.resolve() == source
        return
    recorded = recorded_digests()
    assert name in recorded, f"{origin.name} has no manifest entry: rebuild (make compile)"
    assert compiled.digest(source) == recorded[name], f"{origin.name} is stale: make compile"


def test_no_extension_outside_the_list_or_the_manifest() -> None:
    extensions = _extensions()
    assert set(extensions) <= set(LISTED)
    assert set(extensions) == set(recorded_digests())


def test_the_tree_has_no_stale_extension() -> None:
    assert stale_sources(recorded_digests()) == {}


def test_guard_imports_the_source_of_a_module_whose_digest_changed(tmp_path: Path) -> None:
    core = tmp_path / "core"
    (core / "task").mkdir(parents=True)
    (core / "task" / "edited.py").write_text("ANSWER = 2\n")
    (core / "task" / "same.py").write_text("ANSWER = 1\n")
    manifest = tmp_path / "compiled.json"
    same = compiled.digest(core / "task" / "same.py")
    manifest.write_text(
        json.dumps(
            {
                "modules": {
                    "driftline.core.task.edited": "0" * 64,  # built from older text
                    "driftline.core.task.same": same,
                }
            }
        )
    )
    before = list(sys.meta_path)
    try:
        assert compiled.guard(manifest, core) == ["driftline.core.task.edited"]
        finder = sys.meta_path[0]
        assert isinstance(finder, SourceFirst)
        spec = finder.find_spec("driftline.core.task.edited", None)
        assert spec is not None and spec.origin == str(core / "task" / "edited.py")
        assert finder.find_spec("driftline.core.task.same", None) is None
    finally:
        sys.meta_path[:] = before


def test_guard_reads_nothing_without_a_manifest(tmp_path: Path) -> None:
    before = list(sys.meta_path)
    assert compiled.guard(tmp_path / "absent.json", tmp_path) == []
    assert sys.meta_path == before


# -- checkpoints across builds ------------------------------------------------------------------
# One process per side: ``pure`` imports every listed module from its .py (SourceFirst
# ahead of the extensions), ``tree`` imports what the tree holds (compiled after make compile).
_SIDE = r"""
import sys
from pathlib import Path
from driftline.core import compiled
if sys.argv[1] == "pure":
    names = sys.argv[4].split(",")
    sys.meta_path.insert(0, compiled.SourceFirst({n: compiled.source_of(n) for n in names}))
from driftline.core.task import partition
from driftline.core.task.checkpoint import model_digest, restore_task, seal_task
from driftline.core.task.digest import state_digest
from driftline.core.task.seal import CheckpointCodec
from tests.unit.core.task.checkpoint_stream import CONFIG, PARTITION, run, stream, trained_task
codec = CheckpointCodec(b"k" * 32)
blob = Path(sys.argv[3])
if sys.argv[2] == "write":
    blob.write_bytes(seal_task(trained_task(120), codec, "ckpt"))
    print(Path(partition.__file__).suffix)
else:
    task = restore_task(blob.read_bytes(), codec, CONFIG, PARTITION)
    output = run(task, stream()[120:])
    print(Path(partition.__file__).suffix, state_digest(task.state), model_digest(task),
          state_digest(repr(output)))
"""


def _side(build: str, action: str, blob: Path) -> tuple[str, str]:
    answer = subprocess.run(
        [sys.executable, "-c", _SIDE, build, action, str(blob), ",".join(LISTED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    suffix, _, state = answer.stdout.strip().partition(" ")
    return suffix, state


def test_a_checkpoint_loads_across_builds(tmp_path: Path) -> None:
    pure_blob, tree_blob = tmp_path / "pure.bin", tmp_path / "tree.bin"
    assert _side("pure", "write", pure_blob)[0] == ".py"
    _side("tree", "write", tree_blob)
    suffix, pure_then_tree = _side("tree", "read", pure_blob)
    assert _side("pure", "read", tree_blob) == (".py", pure_then_tree)
    assert _side("pure", "read", pure_blob) == (".py", pure_then_tree)
    assert suffix == (".so" if "driftline.core.task.partition" in recorded_digests() else ".py")


def test_the_pure_core_variable_imports_every_compiled_module_as_source() -> None:
    """DRIFTLINE_PURE_CORE=1: the fallback without a rebuild (defaults_cost's pure row)."""
    probe = "from driftline.core.task import partition; print(partition.__file__)"

    def loaded(pure: bool) -> str:
        env = {k: v for k, v in os.environ.items() if k != "DRIFTLINE_PURE_CORE"}
        if pure:
            env["DRIFTLINE_PURE_CORE"] = "1"
        done = subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
            check=True, timeout=120,
        )  # fmt: skip
        return done.stdout.strip()

    assert loaded(pure=True).endswith("partition.py")
    compiled = bool(recorded_digests())
    assert loaded(pure=False).endswith(".so" if compiled else "partition.py")
