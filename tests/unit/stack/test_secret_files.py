"""The stack's secrets: made once, readable by their owner only from their creation,
never regenerated or shown; a loose folder is tightened; an empty secret is an error."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from driftline.core.errors import StackError
from driftline.stack.redis_node import write_redis_conf
from driftline.stack.secret_files import (
    CHECKPOINT_KEY,
    REDIS_PASSWORD,
    ensure_secrets,
    ensure_secured_secrets,
)


# -- secrets ---------------------------------------------------------------------------------------
def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_are_made_once_readable_by_their_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    made = ensure_secrets(folder)
    assert mode(folder) == 0o700
    assert sorted(os.listdir(folder)) == [CHECKPOINT_KEY, REDIS_PASSWORD]  # no leftovers
    for name in (CHECKPOINT_KEY, REDIS_PASSWORD):
        assert mode(folder / name) == 0o600, name
    assert re.fullmatch(r"[0-9a-f]{64}", made.checkpoint_key)  # 32 random bytes
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", made.redis_password)
    assert (folder / CHECKPOINT_KEY).read_text() == made.checkpoint_key
    assert made.checkpoint_key not in repr(made) and made.redis_password not in repr(made)


def test_secret_files_are_private_from_their_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[tuple[str, int, int]] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            created.append((os.fspath(path), flags, mode))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    before = os.umask(0)  # nothing narrows what the code asks for
    try:
        ensure_secrets(tmp_path / "secrets")
        write_redis_conf(tmp_path / "redis.conf", port=6390, home=tmp_path, password="pw")
    finally:
        os.umask(before)
    assert len(created) == 3
    for path, flags, requested in created:
        assert requested == 0o600, path
        assert flags & os.O_EXCL, path  # a new file, never one someone else made
    for path in [*(tmp_path / "secrets").iterdir(), tmp_path / "redis.conf"]:
        assert mode(path) == 0o600, path


def test_secrets_are_never_regenerated(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    first = ensure_secrets(folder)
    assert ensure_secrets(folder) == first
    (folder / CHECKPOINT_KEY).write_text("a key of my own\n")
    again = ensure_secrets(folder)
    assert again.checkpoint_key == "a key of my own"
    assert again.redis_password == first.redis_password


def test_a_loose_secrets_folder_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    (folder / REDIS_PASSWORD).write_text("typed-by-hand")
    (folder / REDIS_PASSWORD).chmod(0o644)
    assert ensure_secrets(folder).redis_password == "typed-by-hand"
    assert (mode(folder), mode(folder / REDIS_PASSWORD)) == (0o700, 0o600)


def test_an_empty_secret_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / CHECKPOINT_KEY).write_text("\n")
    with pytest.raises(StackError, match="empty"):
        ensure_secrets(folder)


def test_secured_secrets_are_made_once_and_never_shown(tmp_path: Path) -> None:
    made = ensure_secured_secrets(tmp_path / "secrets")
    again = ensure_secured_secrets(tmp_path / "secrets")
    assert made == again
    assert len({made.kafka_password, made.broker_password, made.keystore_password}) == 3
    assert made.kafka_password not in repr(made)
    for path in (tmp_path / "secrets").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
