"""The command's logging: the format DRIFTLINE_LOG_FORMAT names (plain off a terminal),
the secrets filter on the handler whatever the format."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from rich.logging import RichHandler

from driftline.app.log_secrets import SECRETS, hide_in_logs
from driftline.app.logs import configure_logging
from driftline.core.errors import ConfigError


@pytest.fixture(autouse=True)
def _root_logger_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("DRIFTLINE_LOG_FORMAT", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_plain_by_default_off_a_terminal(capsys: pytest.CaptureFixture[str]):
    configure_logging()
    logging.getLogger("driftline.test").info("hello %s", "world")
    line = capsys.readouterr().err.strip()
    assert line.endswith(" INFO driftline.test: hello world") and line[23] == "Z"


def test_json_when_asked_with_secrets_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("DRIFTLINE_LOG_FORMAT", "json")
    configure_logging(verbose=1)
    hide_in_logs(["s3cr3t-value-1"])
    logging.getLogger("driftline.test").debug(
        "token s3cr3t-value-1", extra={"url": "redis://:pw@h:1/0"}
    )
    shown = json.loads(capsys.readouterr().err.strip())
    assert shown["message"] == "token ***" and shown["url"] == "redis://:***@h:1/0"
    assert shown["level"] == "DEBUG"


def test_rich_when_asked_carries_the_filter_too(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTLINE_LOG_FORMAT", "rich")
    configure_logging()
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, RichHandler) and SECRETS in handler.filters


def test_an_invalid_format_is_a_config_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTLINE_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="DRIFTLINE_LOG_FORMAT"):
        configure_logging()
