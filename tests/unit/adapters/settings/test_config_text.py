"""The settings written out (``driftline config --format json|toml|env``): every variable
survives a round trip through a TOML file and through a ``.env`` file; a masked secret is
a comment, never a ``***`` that would load as the secret."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from pydantic import SecretStr

from driftline.adapters.settings import (
    ConfigFormat,
    Settings,
    config_env,
    config_json,
    config_text,
    config_toml,
)
from driftline.adapters.settings.config_text import toml_value
from tests.unit.adapters.settings.variables import CASES, CHECKPOINT_KEY, REDIS_PASSWORD

#: The variables whose value is a secret (masked unless asked for).
SECRETS = {
    "DRIFTLINE_REDIS_URL",
    "DRIFTLINE_KAFKA_SASL_PASSWORD",
    "DRIFTLINE_KAFKA_SSL_PASSWORD",
    "DRIFTLINE_CHECKPOINT_KEY",
    "DRIFTLINE_SCHEMA_REGISTRY_PASSWORD",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.upper().startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def field_of(s: Settings, path: str) -> object:
    value: object = s
    for part in path.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize("variable", sorted(CASES))
def test_every_variable_survives_a_toml_file(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    text, path, expected = CASES[variable]
    monkeypatch.setenv(variable, text)
    written = config_toml(Settings(), show_secrets=True)
    monkeypatch.delenv(variable)
    (tmp_path / "driftline.toml").write_text(written)
    loaded = Settings.from_file(tmp_path / "driftline.toml")
    assert field_of(loaded, path) == expected
    assert config_toml(loaded, show_secrets=True) == written


@pytest.mark.parametrize("variable", sorted(CASES))
def test_every_variable_survives_a_dotenv_file(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    text, path, expected = CASES[variable]
    monkeypatch.setenv(variable, text)
    written = config_env(Settings(), show_secrets=True)
    monkeypatch.delenv(variable)
    (tmp_path / ".env").write_text(written)
    loaded = Settings()
    assert field_of(loaded, path) == expected
    assert config_env(loaded, show_secrets=True) == written


@pytest.mark.parametrize("variable", sorted(SECRETS))
@pytest.mark.parametrize("form", [ConfigFormat.TOML, ConfigFormat.ENV, ConfigFormat.JSON])
def test_a_secret_is_masked_unless_asked_for(
    variable: str, form: ConfigFormat, monkeypatch: pytest.MonkeyPatch
):
    text, path, expected = CASES[variable]
    secret = expected.get_secret_value() if isinstance(expected, SecretStr) else text
    hidden = REDIS_PASSWORD if variable == "DRIFTLINE_REDIS_URL" else secret
    monkeypatch.setenv(variable, text)
    settings = Settings()
    assert hidden not in config_text(settings, form)
    assert hidden in config_text(settings, form, show_secrets=True)


@pytest.mark.parametrize("variable", sorted(SECRETS))
def test_a_masked_secret_loads_as_unset_not_as_stars(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    _, path, _ = CASES[variable]
    monkeypatch.setenv(variable, CASES[variable][0])
    settings = Settings()
    monkeypatch.delenv(variable)
    (tmp_path / "driftline.toml").write_text(config_toml(settings))
    assert field_of(Settings.from_file(tmp_path / "driftline.toml"), path) is None
    (tmp_path / ".env").write_text(config_env(settings))
    assert field_of(Settings(), path) is None


def test_the_json_is_what_masked_says_and_the_groups_are_the_files(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTLINE_CHECKPOINT_KEY", CHECKPOINT_KEY)
    settings = Settings()
    shown = config_json(settings)
    assert shown == settings.masked() and shown["checkpoints"]["key"] == "***"
    parsed = tomllib.loads(config_toml(settings))
    assert set(parsed) == set(shown)  # the same groups, namespace and seed
    assert all(set(parsed[g]) <= set(shown[g]) for g in parsed if isinstance(parsed[g], dict))
    assert json.loads(config_text(settings, ConfigFormat.JSON)) == shown


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        'quote " and back\\slash',
        "new\nline\ttab \x7f del \x01",
        "ünïcode ✓",
        0,
        -1,
        1.5,
        1e-05,
        1e16,
        float("inf"),
        float("-inf"),
        True,
        [1, 2.5, "x"],
        {"a b": [0.0, 6000.0], "plain_key": "v", "": 1},
        {},
    ],
)
def test_toml_values_parse_back_as_themselves(value: object):
    assert tomllib.loads(f"x = {toml_value(value)}\n")["x"] == value


def test_a_value_toml_cannot_say_is_refused():
    with pytest.raises(TypeError):
        toml_value(object())
