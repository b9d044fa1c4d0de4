"""Compile the per-record path of the pure core with Cython 3, in place (issue 23, item 5).

    python scripts/compile_core.py           # build (make compile)
    python scripts/compile_core.py --clean   # remove what a build left (make clean-compiled)
    python scripts/compile_core.py --list    # the modules it compiles, one a line
    python scripts/compile_core.py --optional  # build if a C compiler is here (make setup)

Cython compiles the modules' own ``.py`` files as they are (no ``.pyx``, nothing written for
Cython's sake) into extensions built beside them: ``driftline/core/times.py`` gets
``times.cpython-311-x86_64-linux-gnu.so`` next to it, which the import system prefers to the
``.py``. Without the ``.so`` the ``.py`` is imported: that is the pure-Python fallback, and
``--clean`` returns a tree to it. The generated C goes to ``build/cython/`` (not the source
tree), and the build writes ``driftline/core/compiled.json``, the sha256 of each source it
compiled; :mod:`driftline.core.compiled` reads it at import time and imports the ``.py``
instead of any ``.so`` whose source has changed since (a stale extension would silently run
old code), and tests/unit/test_compiled_core.py fails on one.

The directives keep Python's semantics: ``annotation_typing=False`` (Cython 3 would otherwise
read ``float``/``int`` annotations as C types: overflow, truncation, refused ``None``),
``language_level=3``, ``binding=True`` (functions are introspectable, picklable by name, and
methods bind like Python's), ``embedsignature=True``; ``boundscheck``, ``wraparound``,
``cdivision``, ``cpow`` and ``infer_types`` stay at their defaults (Python's behaviour).

Left pure, and why:

- ``core/events/model.py``: pydantic models; pydantic builds its validators from the class
  bodies and annotations, the models' own module is where it looks them up.
- ``core/contract/*`` and ``core/sources/*``: off the synthetic stream's path and under 2% of
  the flights task's time; ``contract/spec.py`` and ``sources/spec.py`` are pydantic models.
- ``core/compiled.py``: the guard that decides whether the extensions are current; it must
  run as source.
- every other module off the per-record path of ``PartitionTask.process`` (checkpoint
  envelopes, configuration, building models, user code's loading): nothing to gain per
  record, and the less compiled, the less to keep current.

Checkpoints pickle the core's objects by class (module and qualified name), which a compiled
module keeps: a checkpoint written by the pure build loads in the compiled one and back
(tests/unit/test_compiled_core.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The package as the import system sees it: ``driftline`` links to ``pipeline/``, and
#: Cython names a module from its path, so the sources are given through the link.
PACKAGE = ROOT / "driftline"
CORE = PACKAGE / "core"
MANIFEST = CORE / "compiled.json"
BUILD = ROOT / "build" / "cython"

#: The modules compiled, relative to driftline/core, without ``.py``.
MODULES: tuple[str, ...] = (
    "times",
    "durations",
    "events/avro_direct",
    "events/codec",
    "events/records",
    "events/ticks",
    "quality/admission",
    "quality/dedupe",
    "quality/figures",
    "quality/late_watch",
    "quality/reasons",
    "quality/rules",
    "quality/validation",
    "learning/metrics",
    "learning/windows",
    "learning/pending",
    "learning/features",
    "learning/rolling_accuracy",
    "learning/totals",
    "learning/roc_auc",
    "learning/history",
    "learning/costs",
    "learning/guard",
    "learning/ensemble",
    "learning/contenders",
    "learning/user_features",
    "drift/monitors",
    "drift/psi",
    "drift/detectors",
    "drift/data",
    "drift/watch",
    "drift/alarms",
    "task/partition",
    "task/outbox",
    "task/state",
    "task/seal",
    "task/digest",
    "task/fingerprint",
)

DIRECTIVES = {
    "language_level": 3,
    "annotation_typing": False,
    "binding": True,
    "embedsignature": True,
}


def module_name(relative: str) -> str:
    """The import name of a module given relative to driftline/core.

    >>> module_name("task/partition")
    'driftline.core.task.partition'
    """
    return "driftline.core." + relative.replace("/", ".")


def source_digest(path: Path) -> str:
    """The sha256 of a source file, as the manifest records it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extensions_of(relative: str) -> list[Path]:
    """The built extensions of one module in the tree (none when it runs pure)."""
    source = CORE / f"{relative}.py"
    return sorted(source.parent.glob(f"{source.stem}.*.so")) + sorted(
        source.parent.glob(f"{source.stem}.*.pyd")
    )


def build(modules: tuple[str, ...], jobs: int) -> None:
    """Cythonize ``modules`` and build their extensions in place, then write the manifest."""
    from importlib.metadata import version

    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    os.chdir(ROOT)
    digests = {m: source_digest(CORE / f"{m}.py") for m in modules}
    extensions = [
        Extension(
            module_name(m),
            [str(Path("driftline/core") / f"{m}.py")],
            extra_compile_args=["-O2", "-g0"],
        )
        for m in modules
    ]
    started = time.monotonic()
    compiled = cythonize(
        extensions,
        build_dir=str(BUILD),
        compiler_directives=DIRECTIVES,
        nthreads=jobs,
        quiet=True,
    )
    cythonized = time.monotonic()
    distribution = Distribution({"name": "driftline-core-compiled", "ext_modules": compiled})
    distribution.script_args = [
        "-q",
        "build_ext",
        "--inplace",
        f"--parallel={jobs}",
        f"--build-temp={BUILD / 'temp'}",
        f"--build-lib={BUILD / 'lib'}",
    ]
    distribution.parse_command_line()
    distribution.run_commands()
    finished = time.monotonic()
    MANIFEST.write_text(
        json.dumps(
            {
                "cython": version("cython"),
                "modules": {module_name(m): d for m, d in digests.items()},
            },
            indent=1,
            sort_keys=True,
        )
        + "\n"
    )
    print(
        f"compiled {len(modules)} modules: cythonize {cythonized - started:.0f} s, "
        f"C {finished - cythonized:.0f} s ({jobs} jobs)"
    )


def missing_toolchain() -> str | None:
    """What a build needs and this machine lacks (a C compiler, Python's headers, Cython),
    or ``None``."""
    import shutil
    import sysconfig
    from importlib.util import find_spec

    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler})"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers (Python.h)"
    if find_spec("Cython") is None:
        return "no Cython (pip install -e '.[compile]')"
    return None


def clean() -> None:
    """Remove every extension, generated C file and the manifest from the core and build/."""
    removed = 0
    for pattern in ("*.so", "*.pyd", "*.c"):
        for path in CORE.rglob(pattern):
            path.unlink()
            removed += 1
    if MANIFEST.exists():
        MANIFEST.unlink()
        removed += 1
    if BUILD.exists():
        import shutil

        shutil.rmtree(BUILD)
    if BUILD.parent.exists() and not any(BUILD.parent.iterdir()):
        BUILD.parent.rmdir()
    print(f"removed {removed} files and {BUILD.relative_to(ROOT)}/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the built extensions")
    parser.add_argument("--list", action="store_true", help="print the modules compiled")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--optional",
        action="store_true",
        help="without a C compiler, Python's headers or Cython: say so, stay pure, exit 0",
    )
    args = parser.parse_args(argv)
    lacking = None if args.list or args.clean else missing_toolchain()
    if lacking is not None:
        print(f"the core stays pure Python: {lacking}")
        return 0 if args.optional else 1
    if args.list:
        print("\n".join(module_name(m) for m in MODULES))
    elif args.clean:
        clean()
    else:
        clean()
        build(MODULES, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
