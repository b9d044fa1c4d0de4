"""The local stack's secrets: made once, kept in files only their owner can read.

::

    secrets/               mode 0700
        checkpoint.key     the HMAC key of checkpoints: 64 hex digits (32 random bytes)
        redis.password     the password Redis requires (``requirepass``; on a secured
                           stack the password of its ACL user ``driftline``)

A secured stack (``stack up --secure``) adds (see :func:`ensure_secured_secrets`)::

        kafka.password             the SCRAM-SHA-512 password of the Kafka user ``driftline``
        kafka-broker.password      the SCRAM password the brokers use among themselves
        kafka-keystore.password    the password of the brokers' PKCS12 keystore
        tls/                       certificates and keys (driftline.stack.certificates)

A file is created with mode 0600 by ``os.open`` itself (never readable by others, not even
for a moment) and under a temporary name, then linked into place: a reader sees a whole
secret or none, and of two commands creating it at once, both end with the same one.
An existing secret is never regenerated.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     made = ensure_secrets(Path(tmp) / "secrets")
...     again = ensure_secrets(Path(tmp) / "secrets")
...     oct(stat.S_IMODE((Path(tmp) / "secrets" / REDIS_PASSWORD).stat().st_mode))
'0o600'
>>> made == again, len(made.checkpoint_key), made
(True, 64, StackSecrets(checkpoint_key='***', redis_password='***'))
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from driftline.core.errors import StackError

__all__ = [
    "CHECKPOINT_KEY",
    "KAFKA_BROKER_PASSWORD",
    "KAFKA_KEYSTORE_PASSWORD",
    "KAFKA_PASSWORD",
    "REDIS_PASSWORD",
    "SecuredSecrets",
    "StackSecrets",
    "ensure_secrets",
    "ensure_secured_secrets",
    "read_secret",
    "write_private",
]

CHECKPOINT_KEY = "checkpoint.key"
REDIS_PASSWORD = "redis.password"
KAFKA_PASSWORD = "kafka.password"
KAFKA_BROKER_PASSWORD = "kafka-broker.password"
KAFKA_KEYSTORE_PASSWORD = "kafka-keystore.password"
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600


@dataclass(frozen=True)
class StackSecrets:
    """The stack's secrets; their ``repr`` shows none of them."""

    checkpoint_key: str
    redis_password: str

    def __repr__(self) -> str:
        return "StackSecrets(checkpoint_key='***', redis_password='***')"


def ensure_secrets(directory: Path) -> StackSecrets:
    """The secrets in ``directory``, each made on first use and kept from then on."""
    _private_directory(directory)
    return StackSecrets(
        checkpoint_key=_create_once(directory / CHECKPOINT_KEY, lambda: secrets.token_hex(32)),
        redis_password=_create_once(directory / REDIS_PASSWORD, lambda: secrets.token_urlsafe(32)),
    )


@dataclass(frozen=True)
class SecuredSecrets:
    """The secured stack's Kafka secrets; their ``repr`` shows none of them."""

    kafka_password: str
    broker_password: str
    keystore_password: str

    def __repr__(self) -> str:
        return "SecuredSecrets(passwords='***')"


def ensure_secured_secrets(directory: Path) -> SecuredSecrets:
    """The secured stack's Kafka passwords in ``directory``, each made once.

    They are URL-safe tokens: fit for a JAAS line, a StorageTool ``--add-scram`` argument
    and a properties file without quoting.
    """
    _private_directory(directory)

    def token() -> str:
        return secrets.token_urlsafe(32)

    return SecuredSecrets(
        kafka_password=_create_once(directory / KAFKA_PASSWORD, token),
        broker_password=_create_once(directory / KAFKA_BROKER_PASSWORD, token),
        keystore_password=_create_once(directory / KAFKA_KEYSTORE_PASSWORD, token),
    )


def read_secret(path: Path) -> str | None:
    """The secret in ``path`` (surrounding whitespace dropped), ``None`` if there is none."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StackError(f"cannot read the secret {path}: {exc}") from exc
    if not text:
        raise StackError(f"the secret {path} is empty; delete it to have a new one made")
    return text


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, replacing it in one step."""
    tmp = _write_temporary(path, text)
    try:
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _create_once(path: Path, make: Callable[[], str]) -> str:
    existing = read_secret(path)
    if existing is not None:
        _tighten(path, _PRIVATE_FILE)
        return existing
    tmp = _write_temporary(path, make())
    try:
        os.link(tmp, path)  # fails if another command made it first: theirs is kept
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    made = read_secret(path)
    if made is None:  # pragma: no cover - deleted between the link and the read
        raise StackError(f"the secret {path} vanished while it was made")
    return made


def _write_temporary(path: Path, text: str) -> Path:
    """``text`` in a new file next to ``path``, created with mode 0600, flushed to disk."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, _PRIVATE_FILE)
    except OSError as exc:
        raise StackError(f"cannot write {path}: {exc}") from exc
    try:
        os.fchmod(fd, _PRIVATE_FILE)  # exactly 0600 whatever the umask
        data = text.encode()
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StackError(f"cannot write {path}: {exc}") from exc
    finally:
        os.close(fd)
    return tmp


def _private_directory(directory: Path) -> None:
    try:
        directory.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    except OSError as exc:
        raise StackError(f"cannot make the secrets folder {directory}: {exc}") from exc
    _tighten(directory, _PRIVATE_DIR)


def _tighten(path: Path, mode: int) -> None:
    """Take away what others could do with ``path`` (a folder or file made by hand)."""
    if stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)
