"""The command starts quickly: importing it, ``--help`` and ``predictions get`` load no
model library, web framework or Kafka client (each command imports those when it runs).
Issue 22's target, 0.5 s for ``--help`` and ``predictions get``, is measured by
``python -m benchmarks.startup`` (``command_start``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Modules that take from 0.1 s to a second each to import: none before a command needs it
#: (River's ``base``, a few milliseconds, is imported with the settings' model names).
HEAVY = (
    "river.metrics",
    "river.drift",
    "river.stats",
    "scipy",
    "numpy",
    "pandas",
    "fastapi",
    "starlette",
    "uvicorn",
    "kafka",
    "confluent_kafka",
    "prometheus_client",
)

PROBE = """
import json, sys
argv = sys.argv[1:]
if argv:
    sys.argv = ["driftline", *argv]
    from driftline.app.cli import main
    try:
        main()
    except SystemExit:
        pass
else:
    import driftline.app.cli
heavy = {heavy!r}
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def loaded(tmp_path: Path, *argv: str, heavy: tuple[str, ...] = HEAVY, **env: str) -> list[str]:
    """The ``heavy`` modules in ``sys.modules`` after importing the command, or running
    ``driftline ARGV`` in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    clean |= {"DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack")} | env
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=heavy), *argv],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_importing_the_command_loads_no_heavy_module(tmp_path: Path) -> None:
    assert loaded(tmp_path) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["metrics", "--help"],
        ["config"],
        ["predictions", "get", "K"],  # Redis unreachable: the same imports as a found key
        ["alerts", "--kind", "concept"],
    ],
)
def test_a_quick_command_loads_no_heavy_module(tmp_path: Path, argv: list[str]) -> None:
    unreachable = {
        "DRIFTLINE_REDIS_URL": "redis://127.0.0.1:1/0",
        "DRIFTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }
    assert loaded(tmp_path, *argv, **unreachable) == []


def test_help_reads_no_settings(tmp_path: Path) -> None:
    """The settings (pydantic-settings, the model and contract types: 0.15 s) load when a
    command runs, not for ``--help``."""
    settings = ("pydantic_settings", "driftline.adapters.settings")
    assert loaded(tmp_path, "--help", heavy=settings) == []
    assert loaded(tmp_path, "config", heavy=settings) == sorted(settings)  # it can fail


def test_the_probe_sees_a_heavy_module_when_one_is_loaded(tmp_path: Path) -> None:
    """The check can fail: a command that runs a worker loads its clients and libraries."""
    heavy = loaded(
        tmp_path, "replay", "--model", "nonsense.module:attr", DRIFTLINE_CHECKPOINT_KEY="k" * 32
    )
    assert {"kafka", "scipy"} <= set(heavy)
