"""The exit statuses of ``driftline`` (docs/reference/cli.md): each kind of error ends the
command with its own, a refused checkpoint apart from a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.app import cli
from driftline.core.errors import (
    CheckpointRefused,
    ConfigError,
    DriftlineError,
    ExitCode,
    PublishError,
    ServiceUnavailable,
    StackError,
)
from driftline.core.task.seal import CheckpointCodec, CheckpointError, CheckpointKeyError

KEY = b"k" * 32


def forged_blob() -> bytes:
    """A checkpoint sealed with another key: its HMAC does not verify with ``KEY``."""
    return CheckpointCodec(b"x" * 32).seal({"partition": 0}, b"state")


def exit_status(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> int:
    """The status :func:`driftline.app.cli.main` exits with when the command raises ``error``."""

    def command() -> None:
        raise error

    monkeypatch.setattr(cli, "app", command)
    with pytest.raises(SystemExit) as ended:
        cli.main()
    return int(ended.value.code or 0)


def test_a_forged_checkpoint_is_refused_with_its_own_exit_status() -> None:
    with pytest.raises(CheckpointError) as refused:
        CheckpointCodec(KEY).open(forged_blob())
    assert isinstance(refused.value, CheckpointRefused)
    assert refused.value.exit_code == ExitCode.CHECKPOINT_REFUSED == 3


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ConfigError("--to '1': give P@OFFSET"), 2),
        (CheckpointError("checkpoint refused: its HMAC does not match"), 3),
        (CheckpointKeyError("the checkpoint key must be at least 16 bytes"), 2),
        (ServiceUnavailable("no Kafka/Redis: run 'driftline stack up'"), 4),
        (PublishError("publishing failed", failed=1, first_error=None), 4),
        (StackError("Kafka did not start"), 1),
        (DriftlineError("something failed"), 1),
    ],
)
def test_main_ends_with_the_status_of_the_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    status: int,
) -> None:
    assert exit_status(monkeypatch, error) == status
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(error) in err


def test_a_short_key_is_a_setting_not_a_refused_checkpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(CheckpointKeyError) as short:
        CheckpointCodec(b"short")
    assert exit_status(monkeypatch, short.value) == ExitCode.USAGE


def test_a_refused_checkpoint_and_a_usage_error_exit_differently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    try:
        CheckpointCodec(KEY).open(forged_blob())
    except CheckpointError as exc:
        forged = exit_status(monkeypatch, exc)
    usage = exit_status(monkeypatch, ConfigError("bad option"))
    assert (forged, usage) == (ExitCode.CHECKPOINT_REFUSED, ExitCode.USAGE)


def test_every_exit_status_is_in_the_docs() -> None:
    table = (Path(__file__).parents[4] / "docs" / "reference" / "cli.md").read_text()
    for code in ExitCode:
        assert f"| {int(code)} |" in table, code
