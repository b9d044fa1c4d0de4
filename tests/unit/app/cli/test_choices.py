"""Options are checked before anything is reached: a value outside an option's choices,
and an option that has no effect without another, are usage errors (exit 2) that say
what is allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from typer.testing import CliRunner

from driftline.app.cli import app
from driftline.app.cli.alert_kind import AlertKind
from driftline.core.drift.alarms import AlarmKind


def driftline(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``driftline ARGS`` with no service configured (none must be reached)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    env |= {"DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "driftline", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def no_services(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No service configured, no local stack, and whatever would start one (the demo, the
    worker, a replay's topics) fails the test: a refused option is refused before."""
    for name in [n for n in os.environ if n.startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DRIFTLINE_STACK_HOME", str(tmp_path / "no-stack"))

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command went on: the option was not refused")

    for target in (
        "driftline.app.demo.run_demo",
        "driftline.consumers.runner.run_worker",
        "driftline.app.namespace.prepare_namespace",
        "driftline.stack.LocalStack.up",
    ):
        monkeypatch.setattr(target, started)


def test_alert_kinds_are_the_alarms_kinds_and_the_models_changes() -> None:
    assert [k.value for k in AlertKind] == [*get_args(AlarmKind), "promotion", "rollback"]


def test_an_unknown_alert_kind_is_refused_with_the_allowed_ones(tmp_path: Path) -> None:
    done = driftline(tmp_path, "alerts", "--kind", "nonsense")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "nonsense" in done.stderr
    for kind in AlertKind:
        assert kind.value in done.stderr
    assert "driftline stack up" not in done.stderr  # refused before any service is asked


@pytest.mark.parametrize(
    ("args", "given", "needed"),
    [
        (["metrics", "--window", "5"], "--window", "--history"),
        (["metrics", "--model", "main"], "--model", "--history"),
        (["demo", "--port", "8001"], "--port", "--serve"),
        (["consume", "--metrics-host", "0.0.0.0"], "--metrics-host", "--metrics-port"),
        (
            ["produce", "flights", "--rebase-align", "3600", "--speed", "60"],
            "--rebase-align",
            "--rebase",
        ),
    ],
)
def test_an_option_without_the_one_it_needs_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], given: str, needed: str
) -> None:
    no_services(monkeypatch, tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 2, done.output
    message = " ".join(done.output.replace("│", " ").split())
    assert f"{given} has no effect without {needed}" in message, done.output


def test_an_option_made_moot_by_another_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_services(monkeypatch, tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    done = CliRunner().invoke(app, ["events", "tail", "--last", "3", "--from-beginning"])
    assert done.exit_code == 2, done.output
    message = " ".join(done.output.replace("│", " ").split())
    assert "--last has no effect with --from-beginning" in message, done.output


def test_an_option_with_the_one_it_needs_is_not_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_services(monkeypatch, tmp_path)
    done = CliRunner().invoke(app, ["metrics", "--history", "--window", "5"])
    assert "has no effect" not in done.output
    assert "driftline stack up" in str(done.exception)  # it went on, to the services
