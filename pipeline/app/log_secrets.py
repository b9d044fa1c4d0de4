"""No secret in a log record, whatever its format: a filter on the command's handler
masks the secrets it was told of (the settings' passwords and keys) and every URL's
password, in the message, the extras and the traceback.

>>> hide = SecretsFilter()
>>> hide.remember(["Ck3y-0123"])
>>> record = logging.makeLogRecord({"msg": "key %s, %s", "args": ("Ck3y-0123",
...     "redis://:pw@cache:6379/0"), "peer": {"url": "redis://app:pw@cache"}})
>>> hide.filter(record)
True
>>> record.getMessage(), record.peer
('key ***, redis://:***@cache:6379/0', {'url': 'redis://app:***@cache'})
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from driftline.app.log_formats import record_extras

__all__ = ["SECRETS", "SecretsFilter", "hide_in_logs"]


class SecretsFilter(logging.Filter):
    """Masks secrets in every record it passes (it passes them all)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def remember(self, secrets: Iterable[str]) -> None:
        """Mask these texts too from now on."""
        self._secrets.update(s for s in secrets if s)

    def mask(self, value: Any) -> Any:
        """``value`` with its text masked, at any depth of lists, tuples and dicts."""
        if isinstance(value, str):
            # the settings' package on the first record, not at import: --help is fast
            from driftline.adapters.settings import mask_text

            return mask_text(value, self._secrets)
        if isinstance(value, dict):
            return {k: self.mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.mask(v) for v in value)
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = None  # logging reports a bad format itself
        if message is not None:
            masked = self.mask(message)
            if masked != message:
                record.msg, record.args = masked, None
        for name, value in record_extras(record).items():
            setattr(record, name, self.mask(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


#: The filter the command's log handler carries.
SECRETS = SecretsFilter()


def hide_in_logs(secrets: Iterable[str]) -> None:
    """Mask ``secrets`` in every later log record of this process."""
    SECRETS.remember(secrets)
