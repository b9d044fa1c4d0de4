"""The ``driftline`` command's entry point: every bad setting, namespace, URL or argument
is one line on standard error and exit status 2; a service that does not answer, one line
and exit status 4."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BAD_CONTRACT = Path(__file__).parents[2] / "data" / "bad_contract.toml"

CASES = [
    (["-n", "r1*", "stack", "status"], {}, "DRIFTLINE_NAMESPACE"),
    (["config"], {"DRIFTLINE_PARTITIONS": "abc"}, "DRIFTLINE_PARTITIONS"),
    (["config"], {"DRIFTLINE_FEATURE_BOUNDS": "{bad"}, "DRIFTLINE_FEATURE_BOUNDS"),
    (["config"], {"DRIFTLINE_CHECKPOINT_STORE": "s3"}, "DRIFTLINE_CHECKPOINT_STORE"),
    (["config"], {"DRIFTLINE_MAX_FEATURE_ABS": "-1"}, "DRIFTLINE_MAX_FEATURE_ABS"),
    (
        ["metrics"],
        {"DRIFTLINE_REDIS_URL": "notaurl", "DRIFTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
        "Redis URL",
    ),
    (
        ["consume", "--max-events", "1"],
        {"DRIFTLINE_REDIS_URL": "notaurl", "DRIFTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
        "checkpoint key",
    ),
    (["metrics"], {}, "driftline stack up"),  # exit 4 (UNAVAILABLE)
    (
        ["consume", "--contract", "missing.toml", "--max-events", "1"],
        {
            "DRIFTLINE_REDIS_URL": "redis://127.0.0.1:1/0",
            "DRIFTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:1",
            "DRIFTLINE_CHECKPOINT_KEY": "k" * 32,
        },
        "missing.toml",
    ),
    (["demo", "--inject", "typo=0.1"], {}, "typo"),
    (  # a contract with mistakes: the file and the place, on one line
        ["consume", "--max-events", "1"],
        {
            "DRIFTLINE_REDIS_URL": "redis://127.0.0.1:1/0",
            "DRIFTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:1",
            "DRIFTLINE_CHECKPOINT_KEY": "k" * 32,
            "DRIFTLINE_CONTRACT": str(BAD_CONTRACT),
        },
        "bad_contract.toml: features.distance",
    ),
]


#: The cases whose error is a service that did not answer, not a usage error.
UNAVAILABLE = {"driftline stack up"}


@pytest.mark.parametrize(("args", "env", "names"), CASES)
def test_one_line_and_its_exit_status(
    tmp_path: Path, args: list[str], env: dict[str, str], names: str
):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    clean |= {"DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"), "COLUMNS": "60"} | env
    done = subprocess.run(
        [sys.executable, "-m", "driftline", *args],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == (4 if names in UNAVAILABLE else 2), done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert names in lines[0] and "Traceback" not in done.stderr


def test_produce_that_cannot_prepare_its_topics_says_nothing_was_published(tmp_path: Path):
    """No broker answers while the topics are prepared: exit 4, and the counts (all zero)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    clean |= {
        "DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"),
        "DRIFTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "DRIFTLINE_REDIS_URL": "redis://127.0.0.1:1/0",
        "COLUMNS": "400",
    }
    done = subprocess.run(
        [sys.executable, "-m", "driftline", "produce", "flights", "--limit", "1"],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert done.returncode == 4, done.stderr
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert errors[0].endswith("nothing was published: 0 record(s) acknowledged, 0 failed")
