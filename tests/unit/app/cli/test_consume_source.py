"""consume --source refuses a source file with a mistake first: before the services are
looked for, naming the file and the place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from driftline.app.cli import app
from driftline.core.errors import SourceFileError


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for name in [n for n in os.environ if n.startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    # no Kafka or Redis named and no local stack: looking for them would fail first
    monkeypatch.setenv("DRIFTLINE_STACK_HOME", str(tmp_path / "no-stack"))
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_a_mistake_in_the_source_file_is_refused_before_the_services(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "loans.toml").write_text(
        '[topics]\nobservations = ["loans"]\noutcomes = ["repaid"]\n'
        '[observation]\nkey = "customer"\nevent_id = "loan"\n'
    )
    done = runner.invoke(app, ["consume", "--source", "loans.toml"])
    assert isinstance(done.exception, SourceFileError), done.output
    assert str(done.exception).startswith("loans.toml: [observation].event_time: field required")


def test_a_missing_source_file_is_named(runner: CliRunner) -> None:
    done = runner.invoke(app, ["consume", "--source", "nowhere.toml"])
    assert isinstance(done.exception, SourceFileError), done.output
    assert "nowhere.toml: cannot read the source file" in str(done.exception)
