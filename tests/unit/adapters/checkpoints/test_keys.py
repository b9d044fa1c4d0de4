"""The checkpoint key: from a setting, an owner-only file or the local stack; never a
constant; without one the worker is refused with a line saying how to set one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from driftline.adapters.checkpoints.keys import checkpoint_key
from driftline.adapters.settings import CheckpointSettings
from driftline.core.errors import ConfigError


def test_the_setting_wins() -> None:
    key = checkpoint_key(CheckpointSettings(key="s" * 20), local=lambda: b"l" * 32)
    assert key == b"s" * 20


def test_a_key_file_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.key"
    path.write_text("f" * 64 + "\n")
    os.chmod(path, 0o600)
    assert checkpoint_key(CheckpointSettings(key_file=path)) == b"f" * 64
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        checkpoint_key(CheckpointSettings(key_file=path))


def test_a_missing_or_empty_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        checkpoint_key(CheckpointSettings(key_file=tmp_path / "absent"))
    empty = tmp_path / "empty"
    empty.write_text("")
    os.chmod(empty, 0o600)
    with pytest.raises(ConfigError, match="empty"):
        checkpoint_key(CheckpointSettings(key_file=empty))


def test_the_local_stack_key_when_nothing_is_set() -> None:
    assert checkpoint_key(CheckpointSettings(), local=lambda: b"l" * 64) == b"l" * 64


@pytest.mark.parametrize("local", [None, lambda: None])
def test_no_key_at_all_is_refused_with_how_to_set_one(local: object) -> None:
    with pytest.raises(ConfigError) as refused:
        checkpoint_key(CheckpointSettings(), local=local)  # type: ignore[arg-type]
    text = str(refused.value)
    assert "DRIFTLINE_CHECKPOINT_KEY" in text and "openssl rand" in text


def test_no_key_is_written_in_the_source() -> None:
    root = Path(__file__).resolve().parents[4]
    for folder in ("pipeline", "consumers", "producers"):
        for path in (root / folder).rglob("*.py"):
            assert "development-checkpoint-key" not in path.read_text(), path
