"""consume and replay take --model and --features from the working directory, and refuse
one that cannot be imported before anything connects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from driftline.app.cli import app
from driftline.core.errors import ConfigError


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for name in [n for n in os.environ if n.startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    # nothing listens there: a command that tried to connect would fail otherwise
    monkeypatch.setenv("DRIFTLINE_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("DRIFTLINE_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("DRIFTLINE_CHECKPOINT_KEY", "k" * 32)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.mark.parametrize("command", ["consume", "replay"])
@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--features", "--features u21_nowhere:f: No module named 'u21_nowhere' (looked in"),
        ("--model", "--model u21_nowhere:f: No module named 'u21_nowhere' (looked in"),
    ],
)
def test_an_unimportable_spec_is_refused_naming_it(
    runner: CliRunner, command: str, option: str, message: str
) -> None:
    done = runner.invoke(app, [command, option, "u21_nowhere:f"])
    assert isinstance(done.exception, ConfigError), done.output  # main() prints it, exit 2
    assert message in str(done.exception)


@pytest.mark.parametrize("command", ["consume", "replay"])
def test_the_help_says_object_or_factory(runner: CliRunner, command: str) -> None:
    done = runner.invoke(app, [command, "--help"], env={"COLUMNS": "400"})
    text = " ".join(done.output.replace("│", " ").split())
    assert "River estimator object (each partition and challenger learns its own clone)" in text
    assert "--features" in text and "kept pending and learned" in text
