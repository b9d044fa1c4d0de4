"""The config file and the log formats as a user types them: ``driftline config --format
toml > driftline.toml``, then ``driftline --config driftline.toml ...``; and what the logs
look like off a terminal. No service is reached."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DRIFTLINE = [sys.executable, "-m", "driftline"]
PLAIN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING [\w.]+: ")


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*DRIFTLINE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    return values | {"DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"), "COLUMNS": "60"}


def test_a_written_config_file_reads_back_identical(env: dict[str, str], tmp_path: Path):
    first = run(["config", "--format", "toml"], env | {"DRIFTLINE_PARTITIONS": "6"}, tmp_path)
    assert first.returncode == 0, first.stderr
    (tmp_path / "driftline.toml").write_text(first.stdout)
    again = run(["--config", "driftline.toml", "config", "--format", "toml"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout and "partitions = 6" in again.stdout
    shown = run(
        ["--config", "driftline.toml", "config"], env | {"DRIFTLINE_PARTITIONS": "9"}, tmp_path
    )
    assert json.loads(shown.stdout)["kafka"]["partitions"] == 9  # the environment wins


def test_an_unknown_key_is_one_line_and_exit_2(env: dict[str, str], tmp_path: Path):
    (tmp_path / "driftline.toml").write_text('[kafka]\nbootstrap_server = "k:9092"\n')
    done = run(["--config", "driftline.toml", "config"], env, tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: driftline.toml: [kafka].bootstrap_server: unknown key (did you mean bootstrap?)"
    ]


def test_an_unknown_variable_is_warned_on_stderr_in_plain_lines(
    env: dict[str, str], tmp_path: Path
):
    done = run(["config"], env | {"DRIFTLINE_CHECKPOINT_EVRY": "1"}, tmp_path)
    assert done.returncode == 0
    assert json.loads(done.stdout)["checkpoints"]["every"] == 5000
    (line,) = done.stderr.strip().splitlines()
    assert PLAIN.match(line), line
    assert line.endswith(
        "DRIFTLINE_CHECKPOINT_EVRY is not a driftline setting; "
        "did you mean DRIFTLINE_CHECKPOINT_EVERY?"
    )


def test_json_logs_are_one_object_a_line_with_secrets_masked(env: dict[str, str], tmp_path: Path):
    secret = "Ck3y-0123456789abcdef"
    done = run(
        ["-v", "config"],
        env
        | {
            "DRIFTLINE_LOG_FORMAT": "json",
            "DRIFTLINE_CHECKPOINT_KEY": secret,
            "DRIFTLINE_SEDE": "1",
        },
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.strip().splitlines()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any("DRIFTLINE_SEDE" in r["message"] for r in records)
    assert any(r["message"].startswith("effective config") for r in records)
    assert secret not in done.stderr + done.stdout


def test_an_invalid_log_format_is_one_line_and_exit_2(env: dict[str, str], tmp_path: Path):
    done = run(["config"], env | {"DRIFTLINE_LOG_FORMAT": "xml"}, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: invalid setting DRIFTLINE_LOG_FORMAT: 'xml' is not one of rich, plain, json"
    ]
