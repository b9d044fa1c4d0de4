"""Unknown ``DRIFTLINE_*`` variables: warned with the closest known name when the settings
are read, never refused."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from driftline.adapters.settings import Settings, known_variables, unknown_variables, variable_names

LOGGER = "driftline.adapters.settings.unknown_variables"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.upper().startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_a_typo_is_warned_with_the_closest_name_and_the_settings_still_load(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setenv("DRIFTLINE_CHECKPOINT_EVRY", "1")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        settings = Settings()
    assert settings.checkpoints.every == 5000  # the typo set nothing
    assert warnings_of(caplog) == [
        "DRIFTLINE_CHECKPOINT_EVRY is not a driftline setting; "
        "did you mean DRIFTLINE_CHECKPOINT_EVERY?"
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == LOGGER)


def test_a_typo_in_a_dotenv_file_is_warned_too(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    (tmp_path / ".env").write_text("DRIFTLINE_PARTITONS=6\n")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        Settings()
    assert warnings_of(caplog) == [
        "DRIFTLINE_PARTITONS is not a driftline setting; did you mean DRIFTLINE_PARTITIONS?"
    ]


def test_known_names_in_any_case_and_names_read_elsewhere_are_not_warned(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    for name in ("driftline_partitions", "DRIFTLINE_LOG_FORMAT", "DRIFTLINE_SERVE_PORT"):
        monkeypatch.setenv(name, "3")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        Settings()
    assert warnings_of(caplog) == []


def test_overrides_read_no_variable_and_warn_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    settings = Settings()
    monkeypatch.setenv("DRIFTLINE_CHECKPOINT_EVRY", "1")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        settings.with_overrides(partitions=6)
    assert warnings_of(caplog) == []


def test_the_nested_delimiter_is_no_way_to_a_setting():
    """Groups are not reached by ``__`` (the variables are flat): said, with the flat name."""
    assert unknown_variables(["DRIFTLINE_CHECKPOINTS__EVERY"]) == [
        "DRIFTLINE_CHECKPOINTS__EVERY is not a driftline setting; "
        "did you mean DRIFTLINE_CHECKPOINT_EVERY?"
    ]


def test_every_setting_is_known_and_nothing_far_is_suggested():
    assert set(variable_names().values()) < known_variables()
    assert {"DRIFTLINE_NAMESPACE", "DRIFTLINE_SEED", "DRIFTLINE_CONFIG"} < known_variables()
    assert unknown_variables(["DRIFTLINE_ZZZZQQQ", "OTHER_SETTING"]) == [
        "DRIFTLINE_ZZZZQQQ is not a driftline setting (ignored)"
    ]
