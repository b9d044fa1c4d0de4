"""Where the key that seals checkpoints comes from. There is no key in the source.

In order: ``DRIFTLINE_CHECKPOINT_KEY``; ``DRIFTLINE_CHECKPOINT_KEY_FILE`` (a file only its
owner may read); the local stack's own key (made by ``driftline stack up`` in its home,
owner-only). Anything else is refused with a line saying how to set one: an unsealed or
guessable checkpoint would let whoever reaches the store run code in the worker.

>>> from driftline.adapters.settings import CheckpointSettings
>>> checkpoint_key(CheckpointSettings(key="k" * 32))
b'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk'
>>> checkpoint_key(CheckpointSettings())
Traceback (most recent call last):
...
driftline.core.errors.ConfigError: no checkpoint key: set DRIFTLINE_CHECKPOINT_KEY ...
"""

from __future__ import annotations

from collections.abc import Callable

from driftline.adapters.settings import CheckpointSettings, read_private_file
from driftline.core.errors import ConfigError

__all__ = ["HOW_TO", "checkpoint_key"]

HOW_TO = (
    "set DRIFTLINE_CHECKPOINT_KEY (16 bytes or more, secret) or DRIFTLINE_CHECKPOINT_KEY_FILE "
    "(e.g. 'openssl rand -hex 32 > ckpt.key && chmod 600 ckpt.key'), or run on the local "
    "stack ('driftline stack up' makes one)"
)


def checkpoint_key(
    checkpoints: CheckpointSettings, local: Callable[[], bytes | None] | None = None
) -> bytes:
    """The HMAC key of checkpoints; ``local`` gives the local stack's key, if in use."""
    if checkpoints.key is not None:
        return checkpoints.key.get_secret_value().encode()
    if checkpoints.key_file is not None:
        return read_private_file(checkpoints.key_file, "DRIFTLINE_CHECKPOINT_KEY_FILE").encode()
    found = local() if local is not None else None
    if found:
        return found
    raise ConfigError(f"no checkpoint key: {HOW_TO}")
