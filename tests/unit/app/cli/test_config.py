"""``driftline config`` and the root's ``--config``: the settings written as JSON, TOML or
env lines on standard output, and read back from the file; every ``DRIFTLINE_*`` variable
the command reads is one the settings know (else it would be warned as unknown)."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from driftline.adapters.settings import known_variables
from driftline.app.cli import app
from driftline.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[4]
#: A DRIFTLINE_* name read straight from the environment, in code or tests.
_READ = re.compile(r"""(?:environ(?:\.get)?\(?\[?|getenv\()\s*["'](DRIFTLINE_[A-Z0-9_]+)["']""")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.upper().startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DRIFTLINE_STACK_HOME", str(tmp_path / "stack"))
    monkeypatch.chdir(tmp_path)


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def test_toml_written_reads_back_the_same(tmp_path: Path):
    written = invoke("config", "--format", "toml", env={"DRIFTLINE_PARTITIONS": "6"})
    assert written.exit_code == 0, written.output
    assert tomllib.loads(written.stdout)["kafka"]["partitions"] == 6
    (tmp_path / "driftline.toml").write_text(written.stdout)
    again = invoke("--config", "driftline.toml", "config", "--format", "toml")
    assert again.exit_code == 0 and again.stdout == written.stdout
    by_variable = invoke("config", "--format", "toml", env={"DRIFTLINE_CONFIG": "driftline.toml"})
    assert by_variable.stdout == written.stdout


def test_the_environment_overrides_the_file_and_namespace_both(tmp_path: Path):
    (tmp_path / "driftline.toml").write_text('namespace = "file"\n[kafka]\npartitions = 6\n')
    shown = invoke("--config", "driftline.toml", "config", env={"DRIFTLINE_PARTITIONS": "9"})
    assert json.loads(shown.stdout)["kafka"]["partitions"] == 9
    assert json.loads(shown.stdout)["namespace"] == "file"
    shown = invoke("--config", "driftline.toml", "-n", "opt", "config")
    assert json.loads(shown.stdout)["namespace"] == "opt"


def test_env_lines_and_secrets(tmp_path: Path):
    env = {"DRIFTLINE_CHECKPOINT_KEY": "Ck3y-0123456789abcdef", "DRIFTLINE_SEED": "7"}
    masked = invoke("config", "--format", "env", env=env)
    assert "DRIFTLINE_SEED=7" in masked.stdout.splitlines()
    assert "Ck3y" not in masked.stdout
    shown = invoke("config", "--format", "env", "--show-secrets", env=env)
    assert "DRIFTLINE_CHECKPOINT_KEY=Ck3y-0123456789abcdef" in shown.stdout.splitlines()


def test_an_unknown_format_and_an_unknown_key_are_refused(tmp_path: Path):
    assert invoke("config", "--format", "yaml").exit_code == 2
    (tmp_path / "bad.toml").write_text("[kafka]\nbootstrap_server = 'x'\n")
    refused = invoke("--config", "bad.toml", "config")
    assert isinstance(refused.exception, ConfigError)
    assert "bad.toml: [kafka].bootstrap_server: unknown key" in str(refused.exception)


def _options(command: click.Command) -> list[click.Parameter]:
    found = list(command.params)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            found += _options(sub)
    return found


def test_every_variable_an_option_reads_is_known():
    command = typer.main.get_command(app)
    read = {
        name
        for option in _options(command)
        for name in ([option.envvar] if isinstance(option.envvar, str) else option.envvar or [])
    }
    assert "DRIFTLINE_CONFIG" in read
    assert read <= known_variables(), read - known_variables()


def test_every_variable_read_from_the_environment_is_known():
    read: set[str] = set()
    for folder in ("pipeline", "consumers", "producers", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            read |= set(_READ.findall(path.read_text(errors="replace")))
    assert "DRIFTLINE_TEST_ALERTS" in read  # the pattern finds what it is for
    assert read <= known_variables(), read - known_variables()


def test_the_format_choices_are_the_settings_formats() -> None:
    from driftline.adapters.settings import ConfigFormat
    from driftline.app.cli.config import Form

    assert [f.value for f in Form] == [f.value for f in ConfigFormat]
